"""Evidence that TinyNAS works: under the same SRAM / flash limits and training budget, compare on a small real
data set (scikit-learn's 8x8 digits, 10 classes, bundled with the package) the architectures found by

    TinyNAS            keras_mcunet.search: stage 1 picks (W, R), supernet, evolutionary search
    random search      the same space and the same supernet, the same number of candidates drawn at random
                       (EvolutionOracle with generations=0), best by supernet accuracy
    MobileNetV2        MobileNetV2's block layout (expand 6, 3x3 kernels, depths 2-3-4-3-3-1, channels
                       24-32-64-96-160-320) scaled by the (W, R) of the same grid that fits the limits with the
                       most MACs

Each architecture is trained from scratch with one recipe (supernet_epochs + finetune_epochs epochs, the
learning rate picked on the validation split), which compares architectures; the two weight-sharing ones are
also reported as the pipeline delivers them (supernet weights + finetune_epochs of fine-tuning, what
`keras_mcunet.search` returns).

Every model is checked with the exact profiler. Accuracies are top-1 on a held-out test split that neither the
search nor the fine-tuning saw (the search's fitness uses the validation split). Several seeds give a mean and
a spread.

    python -m tuner.evidence --out NAS_EVIDENCE.md            # the committed numbers (3 seeds, ~25 min, 2 cores)
    python -m tuner.evidence --quick --out /tmp/evidence.md   # a smoke run, not evidence (~3 min)
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from dataclasses import dataclass

import numpy as np

from keras_mcunet._tf import keras, tf
from keras_mcunet.search_space import ArchConfig, SearchSpace

from .limits import Limits, profile_arch

MOBILENETV2 = dict(stage_channels=(24, 32, 64, 96, 160, 320), stage_strides=(2, 2, 2, 1, 2, 1),
                   depths=(2, 3, 4, 3, 3, 1), kernel=3, expand=6)


@dataclass(frozen=True)
class Budget:
    sram_limit: int = 12 * 1024
    flash_limit: int = 200 * 1024
    width_mults: tuple = (0.2, 0.3, 0.4, 0.5)
    resolutions: tuple = (24, 32, 40, 48)
    space_samples: int = 300
    supernet_epochs: int = 10
    population_size: int = 16
    generations: int = 4
    finetune_epochs: int = 10
    batch_size: int = 32
    calibration_batches: int = 8
    supernet_learning_rate: float = 1e-2
    finetune_learning_rate: float = 1e-3
    scratch_learning_rates: tuple = (1e-3, 1e-2)   # from scratch: the better one on the validation split


QUICK = Budget(space_samples=60, supernet_epochs=2, population_size=6, generations=1, finetune_epochs=2,
               width_mults=(0.2, 0.3), resolutions=(24, 32))


def digits_splits(seed: int):
    """scikit-learn's digits (1797 8x8 images, values 0..16) as float32 in [0, 1], split 1000 / 397 / 400
    (train / validation / test), stratified by a seeded shuffle."""
    from sklearn.datasets import load_digits
    d = load_digits()
    x = (d.images / 16.0)[..., None].astype(np.float32)
    y = d.target.astype(np.int32)
    order = np.random.default_rng(seed).permutation(len(x))
    x, y = x[order], y[order]
    return (x[:1000], y[:1000]), (x[1000:1397], y[1000:1397]), (x[1397:], y[1397:])


def mobilenetv2_arch(width_mult: float, resolution: int, num_classes: int, in_channels: int) -> ArchConfig:
    m = MOBILENETV2
    return ArchConfig(width_mult, resolution, ks=[[m["kernel"]] * d for d in m["depths"]],
                      expand=[[m["expand"]] * d for d in m["depths"]], in_channels=in_channels,
                      num_classes=num_classes, stage_channels=m["stage_channels"], stage_strides=m["stage_strides"])


def scaled_mobilenetv2(budget: Budget, num_classes: int, in_channels: int) -> ArchConfig:
    """The (W, R) of the grid whose MobileNetV2 fits the limits with the most MACs."""
    limits = Limits(budget.sram_limit, budget.flash_limit)
    fitting = [a for a in (mobilenetv2_arch(w, r, num_classes, in_channels)
                           for w in budget.width_mults for r in budget.resolutions) if limits.check(a)[0]]
    if not fitting:
        raise ValueError(f"no MobileNetV2 of the grid fits {limits.describe()}")
    return max(fitting, key=lambda a: (profile_arch(a).macs, a.resolution))


def _resize(x, resolution):
    return tf.image.resize(x, (resolution, resolution)).numpy()


def _test_accuracy(model, test, resolution) -> float:
    return float(model.evaluate(_resize(test[0], resolution), test[1], verbose=0)[1])


def _row(name, arch, accuracy, val_accuracy=None, supernet_accuracy=None):
    p = profile_arch(arch)
    return {"method": name, "test_accuracy": accuracy, "val_accuracy": val_accuracy,
            "supernet_accuracy": supernet_accuracy, "width_mult": arch.width_mult, "resolution": arch.resolution,
            "peak_sram_bytes": p.peak_sram_bytes, "flash_bytes": p.flash_bytes, "macs": p.macs,
            "arch": arch.to_dict()}


def run_seed(seed: int, budget: Budget, directory: str, verbose: int = 0, overwrite: bool = False) -> list[dict]:
    """All four methods for one seed; returns one row per method."""
    import keras_mcunet as km
    from keras_mcunet.supernet import Supernet

    from . import EvolutionOracle, TinyNASTuner
    from .distributed import restore_supernet
    from .finetune import finetune_subnet, train_classifier
    from .project_files import BEST_ARCH, SUPERNET_DIR, read_json
    from .search_data import calibration_inputs

    keras.utils.set_random_seed(seed)
    train, val, test = digits_splits(seed)
    space = SearchSpace(width_mults=budget.width_mults, resolutions=budget.resolutions, in_channels=1,
                        num_classes=10)
    project = f"tinynas_seed{seed}"
    common = dict(batch_size=budget.batch_size, calibration_batches=budget.calibration_batches, seed=seed)
    rows = []

    # TinyNAS, the public one-call pipeline.
    model = km.search(train, val, num_classes=10, sram_limit=budget.sram_limit, flash_limit=budget.flash_limit,
                      directory=directory, project_name=project, space=space, space_samples=budget.space_samples,
                      supernet_epochs=budget.supernet_epochs, population_size=budget.population_size,
                      generations=budget.generations, finetune_epochs=budget.finetune_epochs, verbose=verbose,
                      supernet_learning_rate=budget.supernet_learning_rate,
                      finetune_learning_rate=budget.finetune_learning_rate, overwrite=overwrite, **common)
    best = read_json(os.path.join(directory, project, BEST_ARCH))
    arch = ArchConfig.from_dict(best["arch"])
    info = read_json(os.path.join(directory, project, "best_model.json"))
    rows.append(_row("TinyNAS search() output (supernet + fine-tune)", arch,
                     _test_accuracy(model, test, arch.resolution), info["val_accuracy"],
                     best["supernet_val_accuracy"]))
    r = arch.resolution

    # Random search on the same supernet with the same number of candidates.
    sub_space = space.subspace(width_mult=arch.width_mult, resolution=r)
    supernet = Supernet(sub_space, seed=seed)
    restore_supernet(supernet, os.path.join(directory, project, SUPERNET_DIR))
    train_r, val_r = (_resize(train[0], r), train[1]), (_resize(val[0], r), val[1])
    calib = calibration_inputs(train_r, budget.calibration_batches * budget.batch_size, seed)
    trials = budget.population_size * (budget.generations + 1)
    oracle = EvolutionOracle(sub_space, budget.sram_limit, budget.flash_limit, population_size=trials,
                             generations=0, seed=seed + 1000)
    tuner = TinyNASTuner(oracle, supernet, calibration_data=calib, calibration_batches=budget.calibration_batches,
                         batch_size=budget.batch_size, directory=directory, project_name=f"random_seed{seed}",
                         overwrite=overwrite)
    tuner.search(val_r, calib, verbose=verbose)
    random_best = tuner.oracle.get_best_trials(1)[0]
    random_arch = tuner.arch_of(random_best)
    random_model, random_val = finetune_subnet(supernet, random_arch, train_r, val_r, calib,
                                               epochs=budget.finetune_epochs,
                                               learning_rate=budget.finetune_learning_rate,
                                               batch_size=budget.batch_size,
                                               calibration_batches=budget.calibration_batches, seed=seed,
                                               verbose=verbose)
    rows.append(_row("random search (same supernet + fine-tune)", random_arch,
                     _test_accuracy(random_model, test, r), random_val, random_best.score))

    # Every architecture trained from scratch with one recipe and the whole budget in epochs.
    epochs = budget.supernet_epochs + budget.finetune_epochs
    mbv2 = scaled_mobilenetv2(budget, 10, 1)
    for name, a in (("TinyNAS arch (from scratch)", arch), ("random-search arch (from scratch)", random_arch),
                    (f"MobileNetV2 w{mbv2.width_mult:g}-r{mbv2.resolution} (from scratch)", mbv2)):
        best = None
        for rate in budget.scratch_learning_rates:   # the learning rate is picked on the validation split
            keras.utils.set_random_seed(seed)
            m = km.build_model(a)
            val_acc = train_classifier(m, (_resize(train[0], a.resolution), train[1]),
                                       (_resize(val[0], a.resolution), val[1]), epochs=epochs, learning_rate=rate,
                                       batch_size=budget.batch_size, seed=seed, verbose=verbose)
            if best is None or val_acc > best[1]:
                best = (m, val_acc, rate)
        m, val_acc, rate = best
        row = _row(name, a, _test_accuracy(m, test, a.resolution), val_acc)
        row["learning_rate"] = rate
        rows.append(row)
    for row in rows:
        row["seed"] = seed
    return rows


def _summary(rows: list[dict]) -> list[dict]:
    order = []
    for row in rows:
        key = row["method"].split(" w0")[0] if row["method"].startswith("MobileNetV2") else row["method"]
        row["key"] = key
        if key not in order:
            order.append(key)
    out = []
    for key in order:
        group = [r for r in rows if r["key"] == key]
        acc = np.array([r["test_accuracy"] for r in group])
        out.append({"method": key, "mean": float(acc.mean()), "std": float(acc.std()), "n": len(group),
                    "sram_kb": max(r["peak_sram_bytes"] for r in group) / 1024,
                    "flash_kb": max(r["flash_bytes"] for r in group) / 1024,
                    "mmacs": float(np.mean([r["macs"] for r in group])) / 1e6})
    return out


def render_markdown(rows: list[dict], budget: Budget, seconds: float, command: str) -> str:
    summary = _summary(rows)
    lines = [
        "## TinyNAS evidence (issue 5)",
        "",
        f"Command: `{command}` ({seconds / 60:.1f} min on {os.cpu_count()} CPU cores, {platform.machine()}).",
        "",
        f"Data: scikit-learn's digits (1797 8x8 grayscale images, 10 classes), per seed a shuffled 1000 / 397 / 400 "
        f"train / validation / test split; inputs resized to each model's resolution. Limits: peak SRAM <= "
        f"{budget.sram_limit / 1024:g} KB, flash <= {budget.flash_limit / 1024:g} KB (exact TinyEngine profiler, "
        f"int8). Grid: W in {list(budget.width_mults)}, R in {list(budget.resolutions)}; the paper's block choices "
        f"(kernels 3/5/7, expand 3/4/6, depths 2-4, 6 stages).",
        "",
        f"Budget: stage 1 samples {budget.space_samples} subnets per (W, R); supernet {budget.supernet_epochs} "
        f"epochs; evolution {budget.population_size} x {budget.generations + 1} generations = "
        f"{budget.population_size * (budget.generations + 1)} candidates (random search: the same number, same "
        f"supernet); fine-tuning {budget.finetune_epochs} epochs; every architecture also trained from scratch "
        f"for {budget.supernet_epochs + budget.finetune_epochs} epochs (supernet + fine-tune epochs). Adam with cosine "
        f"decay and batch {budget.batch_size} everywhere: supernet {budget.supernet_learning_rate:g}, fine-tuning "
        f"{budget.finetune_learning_rate:g}; each from-scratch model is trained with each of "
        f"{list(budget.scratch_learning_rates)} and keeps the better one on the validation split.",
        "",
        "Test accuracy (held-out split; mean +- std over seeds):",
        "",
        "| method | test accuracy | seeds | peak SRAM (KB, max) | flash (KB, max) | MMACs (mean) |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for s in summary:
        lines.append(f"| {s['method']} | {s['mean']:.4f} +- {s['std']:.4f} | {s['n']} | {s['sram_kb']:.1f} | "
                     f"{s['flash_kb']:.1f} | {s['mmacs']:.2f} |")
    lines += ["", "Per seed:", "",
              "| seed | method | W | R | test acc | val acc | supernet acc | SRAM KB | flash KB | MMACs |",
              "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        fmt = (lambda v: "-" if v is None else f"{v:.4f}")
        lines.append(f"| {r['seed']} | {r['method']} | {r['width_mult']:g} | {r['resolution']} | "
                     f"{r['test_accuracy']:.4f} | {fmt(r['val_accuracy'])} | {fmt(r['supernet_accuracy'])} | "
                     f"{r['peak_sram_bytes'] / 1024:.1f} | {r['flash_bytes'] / 1024:.1f} | {r['macs'] / 1e6:.2f} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--directory", default=os.path.join("out", "nas_evidence"),
                        help="where the searches' projects go (default: out/nas_evidence)")
    parser.add_argument("--out", default="NAS_EVIDENCE.md", help="markdown file to write")
    parser.add_argument("--quick", action="store_true", help="tiny budgets (a smoke run, not evidence)")
    parser.add_argument("--overwrite", action="store_true",
                        help="start the searches afresh (by default an interrupted run resumes)")
    parser.add_argument("--verbose", type=int, default=0)
    args = parser.parse_args(argv)
    budget = QUICK if args.quick else Budget()
    os.makedirs(args.directory, exist_ok=True)
    start = time.time()
    rows = []
    for seed in args.seeds:
        seed_rows = run_seed(seed, budget, args.directory, verbose=args.verbose, overwrite=args.overwrite)
        rows += seed_rows
        with open(os.path.join(args.directory, "results.json"), "w") as f:   # kept after every seed
            json.dump({"budget": budget.__dict__, "rows": rows}, f, indent=1, default=str)
        for r in seed_rows:
            print(f"seed {seed}: {r['method']:<45} test {r['test_accuracy']:.4f}  SRAM "
                  f"{r['peak_sram_bytes'] / 1024:.1f} KB  flash {r['flash_bytes'] / 1024:.1f} KB  "
                  f"{r['macs'] / 1e6:.2f} MMACs", flush=True)
    command = "python -m tuner.evidence" + (" --quick" if args.quick else "") + \
        (f" --seeds {' '.join(map(str, args.seeds))}" if args.seeds != [0, 1, 2] else "")
    text = render_markdown(rows, budget, time.time() - start, command)
    with open(args.out, "w") as f:
        f.write(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
