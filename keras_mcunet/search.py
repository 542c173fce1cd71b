"""keras_mcunet.search: the whole TinyNAS pipeline in one call, resumable and distributable.

    1. search-space optimization: pick the width multiplier W and resolution R whose random subnets that fit
       the memory limits have the most MACs (tuner.space_optimizer);
    2. train a weight-sharing supernet at that W and R with the sandwich rule (Supernet.fit_supernet);
    3. evolutionary search on the supernet under the exact memory profiler (tuner.EvolutionOracle run by
       tuner.TinyNASTuner, a KerasTuner BaseTuner);
    4. fine-tune the winner (extracted from the supernet) and return it.

Everything lands in directory/project_name, laid out as KerasTuner does (oracle.json, trial_*/) plus
search_config.json, space_optimization.{json,txt}, space_macs_cdf.png, supernet/ (checkpoints),
search_progress.png, best_arch.json, best_model.weights.h5 and best_model.json. Calling search again with the
same directory resumes: stage 1 is read back, supernet training continues after its last saved epoch, the
oracle reloads (finished trials are not run again), fine-tuning continues after its last finished epoch and a
finished search just loads the model. Under KerasTuner's distributed tuning (KERASTUNER_TUNER_ID,
KERASTUNER_ORACLE_IP, KERASTUNER_ORACLE_PORT) every process makes the same call: see tuner.distributed.
"""
from __future__ import annotations

import os
import shutil
import sys
import types
from dataclasses import replace

from ._tf import keras, tf
from .data import check_count
from .search_space import SearchSpace


def _number(value, what: str, minimum: float = 0.0, open_low: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < minimum or (
            open_low and value == minimum):
        raise ValueError(f"{what} must be a number {'>' if open_low else '>='} {minimum}, got {value!r}")
    return float(value)


def search(train_data, validation_data, *, num_classes: int, sram_limit: int = 320 * 1024,
           flash_limit: int = 1024 * 1024, max_macs: int | None = None, directory: str = ".",
           project_name: str = "tinynas", overwrite: bool = False, space: SearchSpace | None = None,
           width_mults=None, resolutions=None, space_samples: int = 1000, min_fit_fraction: float = 0.1,
           supernet_epochs: int = 30, supernet_steps_per_epoch: int | None = None,
           supernet_learning_rate: float = 1e-2, num_random: int = 2, supernet_distill: bool = True,
           population_size: int = 100, generations: int = 20, parent_ratio: float = 0.25,
           mutation_ratio: float = 0.5, mutation_prob: float = 0.1, calibration_batches: int = 10, batch_size: int = 32,
           finetune_epochs: int = 10, finetune_learning_rate: float = 3e-3, finetune_from: str = "supernet",
           strategy: tf.distribute.Strategy | None = None, seed: int = 0, verbose: int = 1,
           worker_timeout: float = 3600.0) -> keras.Model | None:
    """Search an MCUNet model for `num_classes` classes that fits `sram_limit` / `flash_limit` bytes (and at
    most `max_macs` MACs when given), train it, and return it as a compiled tf_keras model (logits out).

    train_data / validation_data: (x, y) numpy arrays ((N, H, W, C) inputs, integer labels) or tf.data
    datasets of (x, y). Inputs are resized to the chosen resolution. validation_data is the search's fitness
    (supernet accuracy) and the fine-tuning's validation set.
    space: the SearchSpace (default: the paper's); width_mults / resolutions override its stage-1 grid;
    num_classes and the data's channels are set on it.
    Budgets: space_samples random subnets per (W, R); supernet_epochs (of supernet_steps_per_epoch batches,
    by default one pass); population_size x (generations + 1) trials; finetune_epochs.
    supernet_distill: in-place distillation in supernet training (BigNAS, OFA): the smaller subnets of each
    sandwich step learn from the largest one's predictions rather than the labels.
    finetune_from: "supernet" (the paper's and OFA's way: start from the shared weights) or "scratch" (train
    the winner from fresh weights). BENCHMARKS.md's TinyNAS evidence compares both ways of training. Either
    way the returned weights are those of the epoch with the best validation accuracy (with "supernet", the
    extracted weights count as epoch 0), so fine-tuning never returns a model worse than it started from.
    strategy: a tf.distribute strategy for supernet training and fine-tuning.
    Returns None on a distributed worker (the chief returns the model)."""
    from tuner import (EvolutionOracle, Limits, TinyNASTuner, optimize_space, plot_macs_cdf,
                       plot_search_progress)
    from tuner import distributed, project_files as pf
    from tuner.arch_hyperparameters import resolution_from_value
    from tuner.evolution_oracle import _check_int, _check_ratio
    from tuner.finetune import finetune_subnet, load_subnet, train_from_scratch
    from tuner.limits import profile_dict
    from tuner.search_data import calibration_inputs, input_shape_of, resize_data
    from tuner.space_optimizer import SpaceOptimizationResult
    from tuner.supernet_training import train_supernet

    # --- arguments ------------------------------------------------------------------------------------------
    limits = Limits(sram_limit, flash_limit, max_macs)
    num_classes = check_count(num_classes, "num_classes")
    space_samples = check_count(space_samples, "space_samples")
    supernet_epochs = check_count(supernet_epochs, "supernet_epochs", minimum=0)
    if supernet_steps_per_epoch is not None:
        supernet_steps_per_epoch = check_count(supernet_steps_per_epoch, "supernet_steps_per_epoch")
    num_random = check_count(num_random, "num_random", minimum=0)
    calibration_batches = check_count(calibration_batches, "calibration_batches")
    batch_size = check_count(batch_size, "batch_size")
    finetune_epochs = check_count(finetune_epochs, "finetune_epochs", minimum=0)
    supernet_learning_rate = _number(supernet_learning_rate, "supernet_learning_rate")
    finetune_learning_rate = _number(finetune_learning_rate, "finetune_learning_rate")
    if finetune_from not in ("supernet", "scratch"):
        raise ValueError(f"finetune_from must be 'supernet' or 'scratch', got {finetune_from!r}")
    worker_timeout = _number(worker_timeout, "worker_timeout")
    if not isinstance(project_name, str) or not project_name:
        raise ValueError(f"project_name must be a non-empty string, got {project_name!r}")
    shape = input_shape_of(train_data, "train_data")
    val_shape = input_shape_of(validation_data, "validation_data")
    if shape[-1] != val_shape[-1]:
        raise ValueError(f"train_data has {shape[-1]} channels but validation_data has {val_shape[-1]}")
    base = SearchSpace() if space is None else space
    if not isinstance(base, SearchSpace):
        raise ValueError(f"space must be a SearchSpace, got {type(base).__name__}")
    changes = {"num_classes": num_classes, "in_channels": shape[-1]}
    if width_mults is not None:
        changes["width_mults"] = tuple(width_mults)
    if resolutions is not None:
        changes["resolutions"] = tuple(resolutions)
    full_space = replace(base, **changes)
    evolution = dict(population_size=_check_int(population_size, "population_size", 2),
                     generations=_check_int(generations, "generations", 0),
                     parent_ratio=_check_ratio(parent_ratio, "parent_ratio", low_open=True),
                     mutation_ratio=_check_ratio(mutation_ratio, "mutation_ratio"),
                     mutation_prob=_check_ratio(mutation_prob, "mutation_prob"))
    if isinstance(min_fit_fraction, bool) or not isinstance(min_fit_fraction, (int, float)) or not (
            0 <= min_fit_fraction <= 1):
        raise ValueError(f"min_fit_fraction must be a number in [0, 1], got {min_fit_fraction!r}")
    project_dir = os.path.join(str(directory), project_name)
    supernet_dir = os.path.join(project_dir, pf.SUPERNET_DIR)
    role = distributed.role()
    say = print if verbose else (lambda *a, **k: None)

    def prepared(sub_space):
        resolution = sub_space.resolutions[0]
        train = resize_data(train_data, resolution)
        return train, resize_data(validation_data, resolution), calibration_inputs(
            train, calibration_batches * batch_size, seed)

    def tuner_for(sub_space, supernet, calib):
        oracle = EvolutionOracle(sub_space, limits.sram_limit, limits.flash_limit, max_macs=limits.max_macs,
                                 seed=seed, **evolution)
        return TinyNASTuner(oracle, supernet, calibration_data=calib, calibration_batches=calibration_batches,
                            batch_size=batch_size, directory=str(directory), project_name=project_name)

    # --- a distributed worker: wait for the chief, restore its supernet, run trials -------------------------
    if role == distributed.WORKER:
        say(f"TinyNAS worker {os.environ['KERASTUNER_TUNER_ID']}: waiting for the chief oracle at "
            f"{distributed.chief_address()} (it runs stage 1 and trains the supernet first)", flush=True)
        hp = distributed.wait_for_chief_space(worker_timeout)
        sub_space = full_space.subspace(width_mult=float(hp.get("width_mult")),
                                        resolution=resolution_from_value(hp.get("resolution")))
        _, val, calib = prepared(sub_space)
        from .supernet import Supernet
        supernet = Supernet(sub_space, strategy=strategy, seed=seed)
        epochs = distributed.restore_supernet(supernet, supernet_dir)
        say(f"restored the chief's supernet ({epochs} epochs) from {supernet_dir}", flush=True)
        tuner_for(sub_space, supernet, calib).search(val, calib, verbose=verbose)
        return None

    # --- local or chief: stage 1 ----------------------------------------------------------------------------
    if overwrite and os.path.exists(project_dir):
        shutil.rmtree(project_dir)
    os.makedirs(project_dir, exist_ok=True)
    pf.check_search_config(project_dir, {
        "limits": limits.to_dict(), "space": repr(full_space), "space_samples": space_samples,
        "min_fit_fraction": min_fit_fraction, "seed": seed,
        **{k: v for k, v in evolution.items() if k != "generations"}})
    result_path = os.path.join(project_dir, pf.SPACE_RESULT)
    if os.path.exists(result_path):
        result = SpaceOptimizationResult.load(result_path)
        say(f"stage 1: reusing the search-space optimization saved in {result_path}")
    else:
        result = optimize_space(full_space, limits, space_samples, min_fit_fraction, seed, verbose=bool(verbose))
        plot_macs_cdf(result, os.path.join(project_dir, pf.SPACE_PLOT))
        with open(os.path.join(project_dir, pf.SPACE_TABLE), "w") as f:
            f.write(result.table() + "\n")
        result.save(result_path)
    say(result.table())
    sub_space = result.best_space(full_space)   # NoFeasibleSpaceError (a ValueError) names the smallest found
    train, val, calib = prepared(sub_space)

    # --- stage 2a: supernet ---------------------------------------------------------------------------------
    from .supernet import Supernet
    supernet = Supernet(sub_space, strategy=strategy, seed=seed)
    say(f"training the supernet at {result.best.label} for {supernet_epochs} epochs "
        f"(checkpoints in {supernet_dir})")
    train_supernet(supernet, train, supernet_dir, epochs=supernet_epochs, steps_per_epoch=supernet_steps_per_epoch,
                   learning_rate=supernet_learning_rate, batch_size=batch_size, num_random=num_random, seed=seed,
                   distill=bool(supernet_distill), verbose=bool(verbose))

    # --- stage 2b: evolutionary search (the chief serves it to the workers) ---------------------------------
    tuner = tuner_for(sub_space, supernet, calib)
    tuner.search(val, calib, verbose=verbose)
    plot_search_progress(tuner.oracle, os.path.join(project_dir, pf.PROGRESS_PLOT))
    best_trials = [t for t in tuner.oracle.get_best_trials(1) if t.score is not None]
    if not best_trials:
        raise RuntimeError(f"no trial of the evolutionary search completed; see the messages in "
                           f"{project_dir}/trial_*/trial.json")
    if verbose:
        tuner.results_summary(5)
    best = best_trials[0]
    arch = tuner.arch_of(best)
    _, prof = limits.check(arch)
    pf.write_json(os.path.join(project_dir, pf.BEST_ARCH),
                  {"trial_id": best.trial_id, "supernet_val_accuracy": best.score, "space": result.best.label,
                   "profile": profile_dict(prof), "arch": arch.to_dict()})

    # --- stage 3: fine-tune the winner ----------------------------------------------------------------------
    info_path = os.path.join(project_dir, pf.BEST_MODEL_INFO)
    weights_path = os.path.join(project_dir, pf.BEST_WEIGHTS)
    if os.path.exists(info_path):
        info = pf.read_json(info_path)
        if info.get("arch") == arch.to_dict() and info.get("finetune_epochs") == finetune_epochs and info.get(
                "finetune_from", "supernet") == finetune_from:
            say(f"loading the fine-tuned model from {weights_path} (val accuracy {info['val_accuracy']:.4f})")
            return load_subnet(arch, weights_path, finetune_learning_rate, strategy)
    backup_dir = os.path.join(project_dir, f"{pf.FINETUNE_BACKUP}_{finetune_from}")
    training = dict(epochs=finetune_epochs, learning_rate=finetune_learning_rate, batch_size=batch_size,
                    backup_dir=backup_dir, seed=seed, verbose=1 if verbose else 0)
    if finetune_from == "supernet":
        say(f"fine-tuning trial {best.trial_id}'s subnet for {finetune_epochs} epochs")
        model, accuracy = finetune_subnet(supernet, arch, train, val, calib, calibration_batches=calibration_batches,
                                          **training)
    else:
        say(f"training trial {best.trial_id}'s subnet from scratch for {finetune_epochs} epochs")
        model, accuracy = train_from_scratch(arch, train, val, strategy=strategy, **training)
    model.save_weights(weights_path)
    pf.write_json(info_path, {"arch": arch.to_dict(), "finetune_epochs": finetune_epochs,
                              "finetune_from": finetune_from, "val_accuracy": accuracy,
                              "trial_id": best.trial_id, "profile": profile_dict(prof)})
    say(f"TinyNAS model: val accuracy {accuracy:.4f}, peak SRAM {prof.peak_sram_bytes / 1024:.1f} KB, flash "
        f"{prof.flash_bytes / 1024:.1f} KB, {prof.macs / 1e6:.2f} MMACs ({project_dir})")
    return model


class _CallableModule(types.ModuleType):
    """This module shares its name with the function the package exports; once `import keras_mcunet.search`
    has put the module on the package, `keras_mcunet.search(...)` still has to run the search."""

    def __call__(self, *args, **kwargs):
        return search(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
