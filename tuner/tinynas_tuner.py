"""The TinyNAS tuner: runs an EvolutionOracle's trials on a trained weight-sharing supernet.

A trial's fitness is the supernet score of its subnet on the validation data after batch-norm
recalibration on a few batches of calibration (training) data. Each trial records val_accuracy and val_loss
(the oracle's objective names which one ranks), peak_sram_kb, flash_kb, mmacs and params_k as KerasTuner metrics, and writes arch.json (the
ArchConfig with its exact profile in bytes and MACs) to its trial folder.

Built on KerasTuner's BaseTuner (its Keras `Tuner` expects Keras 3 models), so it inherits the project layout
(directory/project_name/oracle.json, trial_*/trial.json), resuming and the distributed chief / worker mode
(KERASTUNER_TUNER_ID, KERASTUNER_ORACLE_IP, KERASTUNER_ORACLE_PORT): the chief serves the oracle, each worker
owns a copy of the supernet and runs trials. `get_best_models` returns standalone subnets extracted from the
supernet with their own BN statistics.
"""
from __future__ import annotations

import os
import time

from tqdm.auto import tqdm

from keras_mcunet.model_builder import build_model
from keras_mcunet.search_space import ArchConfig
from keras_mcunet.supernet import Supernet

from .kt_compat import BaseTuner, TrialStatus, distribute_utils, keras_tuner, oracle_chief
from .arch_hyperparameters import arch_from_values
from .evolution_oracle import EvolutionOracle
from .limits import profile_dict
from .project_files import write_json

_ENDED = (TrialStatus.COMPLETED, TrialStatus.FAILED, TrialStatus.INVALID)
_METRICS = ("val_accuracy", "val_loss", "peak_sram_kb", "flash_kb", "mmacs", "params_k")


def supernet_scores(trial) -> dict:
    """A finished trial's supernet scores: {"supernet_val_accuracy": ..., "supernet_val_loss": ...} (a trial of
    a project saved before val_loss was recorded has accuracy only)."""
    return {f"supernet_{name}": trial.metrics.get_last_value(name) for name in ("val_accuracy", "val_loss")
            if trial.metrics.exists(name)}


class TinyNASTuner(BaseTuner):
    """Evaluate an EvolutionOracle's subnets on `supernet` (trained, with the oracle space's W and R).

    calibration_data: training inputs for BN recalibration (also accepted by search); calibration_batches
    batches of batch_size are used per trial. idle_wait: seconds a worker waits when the oracle is waiting for
    a generation to end."""

    def __init__(self, oracle: EvolutionOracle, supernet: Supernet, *, calibration_data=None,
                 calibration_batches: int = 10, batch_size: int = 64, directory=None, project_name=None,
                 overwrite: bool = False, idle_wait: float = 1.0):
        if not isinstance(oracle, EvolutionOracle):
            raise ValueError(f"TinyNASTuner needs an EvolutionOracle, got {type(oracle).__name__}")
        if not isinstance(supernet, Supernet):
            raise ValueError(f"TinyNASTuner needs a Supernet, got {type(supernet).__name__}")
        for probe in (oracle.space.max_arch(), oracle.space.min_arch()):
            try:
                supernet.space.validate(probe)
            except ValueError as e:
                raise ValueError(f"the oracle's space is not the supernet's (train the supernet at the oracle "
                                 f"space's width multiplier and resolution): {e}") from None
        self.supernet = supernet
        self.space = oracle.space
        self.limits = oracle.limits
        self.calibration_batches = calibration_batches
        self.batch_size = batch_size
        self.idle_wait = float(idle_wait)
        self._calibration_data = calibration_data
        self._evolution = oracle          # the local oracle; self.oracle is a gRPC client on workers
        self.trials_run: list[str] = []   # ids of the trials this tuner ran to the end, in order
        self._last_metrics: dict = {}
        super().__init__(oracle, hypermodel=None, directory=directory, project_name=project_name,
                         overwrite=overwrite)

    def save(self):
        """BaseTuner.save, with tuner0.json written atomically (see EvolutionOracle.save)."""
        if not self._is_worker():
            self.oracle.save()
        write_json(self._get_tuner_fname(), self.get_state(), indent=None)

    # --- search ---------------------------------------------------------------------------------------------
    def search(self, validation_data, calibration_data=None, verbose: int = 1):
        """Run trials until the oracle stops (KerasTuner's loop, with a tqdm bar and a pause while the oracle
        waits for a generation). In distributed mode the chief serves the oracle and returns when the workers
        are done."""
        if calibration_data is not None:
            self._calibration_data = calibration_data
        if self._calibration_data is None:
            raise ValueError("calibration_data (training inputs for batch-norm recalibration) is needed")
        dist = distribute_utils
        if not dist.has_chief_oracle() or dist.is_chief_oracle():
            self.oracle.verbose = verbose
        if dist.is_chief_oracle():
            self.save()
            if verbose:
                print(f"TinyNAS chief: serving the oracle on {os.environ['KERASTUNER_ORACLE_IP']}:"
                      f"{os.environ['KERASTUNER_ORACLE_PORT']} until the workers finish", flush=True)
            oracle_chief.start_server(self.oracle)
            return
        worker = self._is_worker()
        ended = 0 if worker else sum(t.status in _ENDED for t in self.oracle.trials.values())
        self.on_search_begin()
        with tqdm(total=None if worker else self.oracle.max_trials, initial=ended, unit="trial",
                  desc=f"stage 2: evolutionary search ({self.tuner_id})", disable=not verbose) as bar:
            while True:
                self.pre_create_trial()
                trial = self.oracle.create_trial(self.tuner_id)
                if trial.status == TrialStatus.STOPPED:
                    break
                if trial.status == TrialStatus.IDLE:
                    time.sleep(self.idle_wait)
                    continue
                self.on_trial_begin(trial)
                self._try_run_and_update_trial(trial, validation_data, self._calibration_data)
                self.on_trial_end(trial)
                bar.update(1)
        self.on_search_end()

    def arch_of(self, trial) -> ArchConfig:
        return arch_from_values(self.space, trial.hyperparameters)

    def run_trial(self, trial, validation_data, calibration_data):
        arch = self.arch_of(trial)
        fits, prof = self.limits.check(arch)
        if not fits:   # the oracle never proposes such a subnet; a changed profiler could
            raise keras_tuner.errors.FailedTrialError(
                f"trial {trial.trial_id} breaks the limits: {', '.join(self.limits.violations(prof))}")
        score = self.supernet.score_arch(arch, validation_data, calibration_data,
                                         batches=self.calibration_batches, batch_size=self.batch_size)
        write_json(os.path.join(self.get_trial_dir(trial.trial_id), "arch.json"),
                   {"arch": arch.to_dict(), "profile": profile_dict(prof), "val_accuracy": score.accuracy,
                    "val_loss": score.loss})
        self._last_metrics = {"val_accuracy": score.accuracy, "val_loss": score.loss,
                              "peak_sram_kb": prof.peak_sram_bytes / 1024, "flash_kb": prof.flash_bytes / 1024,
                              "mmacs": prof.macs / 1e6, "params_k": prof.params / 1e3}
        return dict(self._last_metrics)

    def on_trial_end(self, trial):
        self.trials_run.append(trial.trial_id)
        super().on_trial_end(trial)   # reports to the oracle, then saves (with trials_run)

    # --- results --------------------------------------------------------------------------------------------
    def _calibration(self, calibration_data):
        data = calibration_data if calibration_data is not None else self._calibration_data
        if data is None:
            raise ValueError("loading a subnet needs calibration_data (training inputs) to recompute its "
                             "batch-norm statistics: pass it to search() or to get_best_models()")
        return data

    def save_model(self, trial_id, model, step=0):
        """Save a trained subnet's weights in its trial folder (load_model prefers them to the supernet's)."""
        model.save_weights(os.path.join(self.get_trial_dir(trial_id), "model.weights.h5"))

    def load_model(self, trial, calibration_data=None):
        """The trial's subnet as a standalone tf_keras model: saved weights if save_model stored some, else
        the supernet's weights with BN statistics recalibrated on the calibration data."""
        arch = self.arch_of(trial)
        saved = os.path.join(self.get_trial_dir(trial.trial_id), "model.weights.h5")
        if os.path.exists(saved):
            model = build_model(arch)
            model.load_weights(saved)
            return model
        return self.supernet.extract(arch, self._calibration(calibration_data), batches=self.calibration_batches,
                                     batch_size=self.batch_size)

    def get_best_models(self, num_models=1, calibration_data=None):
        """The best subnets, best first, as standalone tf_keras models (extracted from the supernet)."""
        return [self.load_model(t, calibration_data) for t in self.oracle.get_best_trials(num_models)]

    def get_best_archs(self, num_archs=1) -> list[ArchConfig]:
        return [self.arch_of(t) for t in self.oracle.get_best_trials(num_archs)]

    def results_summary(self, num_trials=10):
        """Print the best trials as a table: accuracy, loss, peak SRAM, flash, MACs and the subnet's genes."""
        print("Results summary")
        print(f"Results in {self.project_dir}")
        print(f"Showing {num_trials} best trials")
        print(f"{self.oracle.objective}")
        print(f"{'trial':>6} {'val_accuracy':>13} {'val_loss':>9} {'SRAM KB':>8} {'flash KB':>9} {'MMACs':>7}  subnet (depths | kernels | "
              f"expand ratios)")
        for t in self.oracle.get_best_trials(num_trials):
            m = {k: (t.metrics.get_last_value(k) if t.metrics.exists(k) else float("nan")) for k in _METRICS}
            arch = self.arch_of(t)
            genes = (f"{list(arch.depths)} | {'/'.join(''.join(map(str, k)) for k in arch.ks)} | "
                     f"{'/'.join(''.join(map(str, e)) for e in arch.expand)}")
            print(f"{t.trial_id:>6} {m['val_accuracy']:>13.4f} {m['val_loss']:>9.4f} {m['peak_sram_kb']:>8.1f} {m['flash_kb']:>9.1f} "
                  f"{m['mmacs']:>7.2f}  {genes}  [{t.status}]")

    # --- state ----------------------------------------------------------------------------------------------
    def get_state(self):
        return {"trials_run": list(self.trials_run)}

    def set_state(self, state):
        self.trials_run = list(state.get("trials_run", []))
