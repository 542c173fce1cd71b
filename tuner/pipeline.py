"""The whole TinyNAS pipeline in one call (what `keras_mcunet.search` runs), resumable and distributable.

    1. search-space optimization: pick the width multiplier W and resolution R whose random subnets that fit
       the memory limits have the most MACs (tuner.space_optimizer);
    2. train a weight-sharing supernet at that W and R with the sandwich rule (Supernet.fit_supernet);
    3. evolutionary search on the supernet under the exact memory profiler (tuner.EvolutionOracle run by
       tuner.TinyNASTuner, a KerasTuner BaseTuner);
    4. fine-tune the winner (extracted from the supernet) and return it.

Everything lands in directory/project_name, laid out as KerasTuner does (oracle.json, trial_*/) plus
search_config.json, space_optimization.{json,txt}, space_macs_cdf.png, supernet/ (checkpoints; or an entry of
the shared folder SupernetConfig.shared_dir, see tuner.supernet_store),
search_progress.png, best_arch.json, best_model.weights.h5 and best_model.json. Calling search again with the
same directory resumes: stage 1 is read back, supernet training continues after its last saved epoch, the
oracle reloads (finished trials are not run again), fine-tuning continues after its last finished epoch and a
finished search just loads the model. Under KerasTuner's distributed tuning (KERASTUNER_TUNER_ID,
KERASTUNER_ORACLE_IP, KERASTUNER_ORACLE_PORT) every process makes the same call: see tuner.distributed.
"""
from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass, replace
from typing import Callable

from keras_mcunet._tf import keras
from keras_mcunet.resizing import ATTRIBUTE, InputResizing, resize_data
from keras_mcunet.search_space import Resolution, SearchSpace, resolution_hw
from keras_mcunet.supernet import Supernet

from . import distributed, project_files as pf
from .arch_hyperparameters import resolution_from_value
from .evolution_oracle import EvolutionOracle
from .finetune import finetune_subnet, load_subnet, train_from_scratch
from .limits import profile_dict
from .progress_plot import plot_search_progress
from .search_config import SearchConfig
from .search_data import calibration_inputs, input_shape_of
from .space_optimizer import SpaceOptimizationResult, optimize_space, plot_macs_cdf
from .supernet_store import supernet_key, training_lock
from .supernet_training import train_supernet
from .tinynas_tuner import TinyNASTuner, supernet_scores

_DEFAULT_RESOLUTIONS = SearchSpace.__dataclass_fields__["resolutions"].default
_OLD_FINETUNE_RATE = 3e-3   # what a best_model.json written before it recorded its learning rate was trained at


def search(train_data, validation_data, config: SearchConfig | None = None, **settings) -> keras.Model | None:
    """Search an MCUNet model for `num_classes` classes that fits `sram_limit` / `flash_limit` bytes (and at
    most `max_macs` MACs when given), train it, and return it as a compiled tf_keras model (logits out).

    train_data / validation_data: (x, y) numpy arrays ((N, H, W, C) inputs, integer labels) or tf.data
    datasets of (x, y). Inputs are resized (bilinear) to the chosen resolution; by default stage 1 never picks
    a resolution above the data's own (see SpaceConfig). The returned model records that resizing as its
    `input_resizing` attribute (an InputResizing; also in best_model.json), which keras_mcunet.quantize,
    export_tflite and evaluate_tflite apply to data of another size. validation_data is the search's fitness
    (the supernet's accuracy, or its cross-entropy with objective="val_loss") and the fine-tuning's validation set.

    config: a SearchConfig (settings grouped by stage: limits, space, supernet, evolution, finetune); every
    setting can also be given as a keyword argument (sram_limit=..., supernet_epochs=..., see
    tuner.search_config.KEYWORDS), applied on top of `config`.
    Budgets: space_samples random subnets per (W, R); supernet_epochs (of supernet_steps_per_epoch batches,
    by default one pass); population_size x (generations + 1) trials; finetune_epochs.
    supernet_distill: in-place distillation in supernet training (BigNAS, OFA): the smaller subnets of each
    sandwich step learn from the largest one's predictions rather than the labels.
    shared_supernets: a folder of trained supernets shared by searches (tuner.supernet_store): a search whose
    stage 1 picks a space trained there before, on the same data with the same settings and seed, restores it.
    finetune_from: "supernet" (the paper's and OFA's way: start from the shared weights) or "scratch" (train
    the winner from fresh weights). BENCHMARKS.md's TinyNAS evidence compares both ways of training. Either
    way the returned weights are those of the epoch with the best validation accuracy; with "supernet" the
    extracted weights are not a candidate, since the search chose them for that accuracy (tuner.finetune).
    strategy: a tf.distribute strategy for supernet training and fine-tuning.
    Returns None on a distributed worker (the chief returns the model)."""
    run = _prepare(train_data, validation_data, SearchConfig.from_keywords(config, **settings))
    if distributed.role() == distributed.WORKER:
        _run_worker(run)
        return None
    result = _optimize_space(run)
    sub_space = result.best_space(run.full_space)   # NoFeasibleSpaceError (a ValueError) names the smallest found
    data = _resized(run, sub_space)
    supernet = _train_supernet(run, sub_space, data, result.best.label)
    best, arch, prof = _evolve(run, sub_space, supernet, data, result.best.label)
    model = _finetune(run, supernet, best, arch, prof, data)
    setattr(model, ATTRIBUTE, run.resizing_to(arch.resolution))
    return model


def optimize_search_space(train_data, validation_data, config: SearchConfig | None = None,
                          **settings) -> SpaceOptimizationResult:
    """Stage 1 alone: the search-space optimization that search() with the same data and settings runs first,
    saved in the same project (search_config.json, space_optimization.{json,txt}, space_macs_cdf.png), so a
    later search() there reuses it. It trains nothing; use it to see which (W, R) a budget picks."""
    return _optimize_space(_prepare(train_data, validation_data, SearchConfig.from_keywords(config, **settings)))


@dataclass(frozen=True)
class _Run:
    """One search call: its settings, the data as passed, the stage-1 space and where its files go."""
    config: SearchConfig
    train_data: object
    validation_data: object
    data_hw: tuple[int, int]
    full_space: SearchSpace
    project_dir: str
    say: Callable

    def supernet_dir(self, sub_space: SearchSpace, train) -> tuple[str, bool]:
        """Where the supernet of sub_space trained on `train` is, and whether it is shared: the shared folder's
        entry for it when the config names one (and the data can be fingerprinted), else the project's own."""
        shared = self.config.supernet.shared_dir
        if shared is not None:
            key = supernet_key(sub_space, self.config.supernet, self.config.batch_size, self.config.seed, train)
            if key is not None:
                return os.path.join(shared, key), True
        return os.path.join(self.project_dir, pf.SUPERNET_DIR), False

    def path(self, name: str) -> str:
        return os.path.join(self.project_dir, name)

    def resizing_to(self, resolution: Resolution) -> InputResizing:
        return InputResizing(self.data_hw, resolution_hw(resolution))


@dataclass(frozen=True)
class _SearchData:
    """The data at the chosen resolution, and the training inputs for batch-norm recalibration."""
    train: object
    validation: object
    calibration: object


def _prepare(train_data, validation_data, config: SearchConfig) -> _Run:
    shape = input_shape_of(train_data, "train_data")
    val_shape = input_shape_of(validation_data, "validation_data")
    if shape[-1] != val_shape[-1]:
        raise ValueError(f"train_data has {shape[-1]} channels but validation_data has {val_shape[-1]}")
    say = print if config.verbose else (lambda *a, **k: None)
    full_space = stage1_space(config, shape, say)
    return _Run(config, train_data, validation_data, shape[:2], full_space,
                os.path.join(config.directory, config.project_name), say)


def resolutions_up_to(resolutions, data_hw: tuple[int, int]) -> tuple[Resolution, ...]:
    """The resolutions no higher or wider than the data's; the data's own when none is."""
    kept = tuple(r for r in resolutions if all(a <= b for a, b in zip(resolution_hw(r), data_hw)))
    return kept or ((data_hw[0] if data_hw[0] == data_hw[1] else tuple(data_hw)),)


def stage1_space(config: SearchConfig, shape: tuple[int, int, int], say=print) -> SearchSpace:
    """The space stage 1 searches: the configured one with the data's classes and channels (receptive field
    redistributed for patch-based searches, see SpaceConfig); the paper's default resolutions (when nothing else
    was asked for) capped at the data's, since upsampling adds MACs but no information."""
    settings = config.space
    base = settings.base or SearchSpace()
    redistribute = settings.redistribute_receptive_field
    if redistribute is None:
        redistribute = config.limits.patches is not None and settings.base is None
    if redistribute:
        base = base.redistribute_receptive_field()
    changes = {"num_classes": config.num_classes, "in_channels": shape[-1]}
    if settings.width_mults is not None:
        changes["width_mults"] = settings.width_mults
    if settings.resolutions is not None:
        changes["resolutions"] = settings.resolutions
    elif base.resolutions == _DEFAULT_RESOLUTIONS:    # (redistribution keeps the resolutions)
        changes["resolutions"] = resolutions_up_to(base.resolutions, shape[:2])
        if changes["resolutions"] != base.resolutions:
            say(f"stage 1: resolutions {list(changes['resolutions'])} (none above the data's {shape[0]}x{shape[1]}; "
                f"pass resolutions= to search others)")
    return replace(base, **changes)


def _resized(run: _Run, sub_space: SearchSpace) -> _SearchData:
    resolution = sub_space.resolutions[0]
    config = run.config
    train = resize_data(run.train_data, resolution)
    return _SearchData(train, resize_data(run.validation_data, resolution),
                       calibration_inputs(train, config.calibration_batches * config.batch_size, config.seed))


def _tuner(run: _Run, sub_space: SearchSpace, supernet: Supernet, calibration) -> TinyNASTuner:
    config = run.config
    oracle = EvolutionOracle(sub_space, config.limits.sram_limit, config.limits.flash_limit,
                             max_macs=config.limits.max_macs, memory_model=config.limits.memory_model,
                             patches=config.limits.patches, max_mac_overhead=config.limits.max_mac_overhead,
                             seed=config.seed,
                             **config.evolution.oracle_kwargs())
    return TinyNASTuner(oracle, supernet, calibration_data=calibration, calibration_batches=config.calibration_batches,
                        batch_size=config.batch_size, directory=config.directory, project_name=config.project_name)


def _run_worker(run: _Run) -> None:
    """A distributed worker: wait for the chief, restore its supernet, run trials until the oracle stops."""
    config = run.config
    run.say(f"TinyNAS worker {os.environ['KERASTUNER_TUNER_ID']}: waiting for the chief oracle at "
            f"{distributed.chief_address()} (it runs stage 1 and trains the supernet first)", flush=True)
    hp = distributed.wait_for_chief_space(config.worker_timeout)
    sub_space = run.full_space.subspace(width_mult=float(hp.get("width_mult")),
                                        resolution=resolution_from_value(hp.get("resolution")))
    data = _resized(run, sub_space)
    supernet = Supernet(sub_space, strategy=config.strategy, seed=config.seed)
    supernet_dir, _ = run.supernet_dir(sub_space, data.train)
    epochs = distributed.restore_supernet(supernet, supernet_dir)
    run.say(f"restored the chief's supernet ({epochs} epochs) from {supernet_dir}", flush=True)
    _tuner(run, sub_space, supernet, data.calibration).search(data.validation, data.calibration,
                                                               verbose=config.verbose)


def _optimize_space(run: _Run) -> SpaceOptimizationResult:
    """Stage 1 (read back when the project has it), after checking a resumed project's settings."""
    config = run.config
    if config.overwrite and os.path.exists(run.project_dir):
        shutil.rmtree(run.project_dir)
    os.makedirs(run.project_dir, exist_ok=True)
    pf.check_search_config(run.project_dir, config.resume_key(run.full_space))
    result_path = run.path(pf.SPACE_RESULT)
    if os.path.exists(result_path):
        result = SpaceOptimizationResult.load(result_path)
        run.say(f"stage 1: reusing the search-space optimization saved in {result_path}")
    else:
        result = optimize_space(run.full_space, config.limits, config.space.samples, config.space.min_fit_fraction,
                                config.seed, verbose=bool(config.verbose))
        plot_macs_cdf(result, run.path(pf.SPACE_PLOT))
        with open(run.path(pf.SPACE_TABLE), "w") as f:
            f.write(result.table() + "\n")
        result.save(result_path)
    run.say(result.table())
    return result


def _train_supernet(run: _Run, sub_space: SearchSpace, data: _SearchData, label: str) -> Supernet:
    """Stage 2a (continues after its last checkpoint)."""
    config, settings = run.config, run.config.supernet
    supernet = Supernet(sub_space, strategy=config.strategy, seed=config.seed)
    directory, shared = run.supernet_dir(sub_space, data.train)
    run.say(f"training the supernet at {label} for {settings.epochs} epochs (checkpoints in {directory}"
            f"{', shared with other searches' if shared else ''})")
    with training_lock(directory, run.say) if shared else contextlib.nullcontext():
        train_supernet(supernet, data.train, directory, epochs=settings.epochs,
                       steps_per_epoch=settings.steps_per_epoch, learning_rate=settings.learning_rate,
                       batch_size=config.batch_size, num_random=settings.num_random, seed=config.seed,
                       distill=settings.distill, verbose=bool(config.verbose))
    return supernet


def _evolve(run: _Run, sub_space: SearchSpace, supernet: Supernet, data: _SearchData, label: str):
    """Stage 2b (the chief serves it to the workers): (best trial, its arch, its profile), saved in best_arch.json."""
    tuner = _tuner(run, sub_space, supernet, data.calibration)
    tuner.search(data.validation, data.calibration, verbose=run.config.verbose)
    plot_search_progress(tuner.oracle, run.path(pf.PROGRESS_PLOT))
    best_trials = [t for t in tuner.oracle.get_best_trials(1) if t.score is not None]
    if not best_trials:
        raise RuntimeError(f"no trial of the evolutionary search completed; see the messages in "
                           f"{run.project_dir}/trial_*/trial.json")
    if run.config.verbose:
        tuner.results_summary(5)
    best = best_trials[0]
    arch = tuner.arch_of(best)
    _, prof = run.config.limits.check(arch)
    pf.write_json(run.path(pf.BEST_ARCH),
                  {"trial_id": best.trial_id, **supernet_scores(best), "space": label,
                   "profile": profile_dict(prof), "arch": arch.to_dict()})
    return best, arch, prof


def _finetune(run: _Run, supernet: Supernet, best, arch, prof, data: _SearchData) -> keras.Model:
    """Stage 3: fine-tune (or train from scratch) the winner, or load it when a finished search has."""
    config, settings = run.config, run.config.finetune
    info_path, weights_path = run.path(pf.BEST_MODEL_INFO), run.path(pf.BEST_WEIGHTS)
    if os.path.exists(info_path):
        info = pf.read_json(info_path)
        if info.get("arch") == arch.to_dict() and info.get("finetune_epochs") == settings.epochs and info.get(
                "finetune_from", "supernet") == settings.start_from and info.get(
                "finetune_learning_rate", _OLD_FINETUNE_RATE) == settings.learning_rate:
            run.say(f"loading the fine-tuned model from {weights_path} (val accuracy {info['val_accuracy']:.4f})")
            return load_subnet(arch, weights_path, settings.learning_rate, config.strategy)
    # one backup folder per recipe: a run resumes only a fine-tuning with its own settings
    backup_dir = run.path(f"{pf.FINETUNE_BACKUP}_{settings.start_from}_e{settings.epochs}_lr{settings.learning_rate:g}")
    training = dict(epochs=settings.epochs, learning_rate=settings.learning_rate, batch_size=config.batch_size,
                    backup_dir=backup_dir, seed=config.seed, verbose=1 if config.verbose else 0)
    if settings.start_from == "supernet":
        run.say(f"fine-tuning trial {best.trial_id}'s subnet for {settings.epochs} epochs")
        model, accuracy = finetune_subnet(supernet, arch, data.train, data.validation, data.calibration,
                                          calibration_batches=config.calibration_batches, **training)
    else:
        run.say(f"training trial {best.trial_id}'s subnet from scratch for {settings.epochs} epochs")
        model, accuracy = train_from_scratch(arch, data.train, data.validation, strategy=config.strategy, **training)
    model.save_weights(weights_path)
    pf.write_json(info_path, {"arch": arch.to_dict(), "finetune_epochs": settings.epochs,
                              "finetune_from": settings.start_from, "finetune_learning_rate": settings.learning_rate,
                              "val_accuracy": accuracy,
                              "trial_id": best.trial_id, "profile": profile_dict(prof),
                              "input_resizing": run.resizing_to(arch.resolution).to_dict()})
    run.say(f"TinyNAS model: val accuracy {accuracy:.4f}, peak SRAM {prof.peak_sram_bytes / 1024:.1f} KB, flash "
            f"{prof.flash_bytes / 1024:.1f} KB, {prof.macs / 1e6:.2f} MMACs ({run.project_dir})")
    return model
