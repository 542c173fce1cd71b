"""Reproduce the MCUNet claims on the samples' two tasks: int8 accuracy against peak SRAM, TinyNAS + TinyEngine
against hand-designed baselines under TFLite Micro, with the co-design ablation.

For keyword spotting (samples.kws: synthesized espeak-ng keywords by default, Speech Commands v0.02 with
--kws-data) and person / no-person (samples.vww: the packaged proxy by default, a VWW folder with --vww-data), at
each SRAM budget (flash 1 MB), every method gets the same training budget and is run for several seeds:

    TinyNAS + TinyEngine   keras_mcunet.search under the budget, TinyEngine's memory (our compiler)   "both"
    TinyNAS + TFLM         the same search with TFLM's memory model (tuner.tflm_memory)              "+search"
    <baseline> + TinyEngine  the baseline scaled (W, R) to the largest that fits TinyEngine's memory   "+engine"
    <baseline> + TFLM      the baseline scaled to the largest that fits TFLM's smallest arena           "baseline"

Baselines: MobileNetV2 for both tasks, the MLPerf Tiny DS-CNN for KWS (benchmarks.baselines). Each model is
trained in float (baselines from scratch for supernet_epochs + finetune_epochs epochs, the search's own training
budget), then quantization-aware trained (keras_mcunet.quantize), exported to int8 (export_tflite) and evaluated
on the held-out split with tinyengine_tflite's Interpreter and TFLite Micro (samples.pipeline.int8_accuracy).
Its memory is measured on the exported .tflite: peak SRAM by tinyengine_tflite.convert, TFLM's smallest arena by
tinyengine_tflite.tflm_baseline.smallest_arena; a method's deployed SRAM is its engine's.

Every finished cell (task, budget, method, seed) is kept in DIRECTORY/cells/*.json, so an interrupted run
resumes; cells run in parallel worker processes (--jobs), a progress bar counts them.

    python -m benchmarks.claims                     # the default settings: about 3 hours on 2 CPU cores
    python -m benchmarks.claims --quick             # a smoke run (minutes), into out/claims_quick/
    python -m benchmarks.claims --render-only       # rewrite the section from DIRECTORY/results.json

Run it from the repository root: benchmarks/ is not part of the installed packages.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SECTION = "claims"
COMMAND = "python -m benchmarks.claims"

NAS_TE, NAS_TFLM = "TinyNAS + TinyEngine", "TinyNAS + TFLM"
ENGINES = {"TinyEngine": "tinyengine", "TFLM": "tflm"}


def baseline_method(family: str, engine: str) -> str:
    return f"{family} + {engine}"


@dataclass(frozen=True)
class ClaimsSettings:
    """What one run measures and spends; the same for every method. The default is sized to about 3 hours on 2
    CPU cores (BENCHMARKS.md's claims section says what the run took): 3 budgets x 2 seeds, 14 training epochs a
    model, 3 subnets a sandwich step, one supernet per (task, space, seed) shared by the searches of every budget
    and engine (shared_supernets)."""
    tasks: tuple = ("kws", "vww")
    budgets_kb: tuple = (32, 64, 128)
    flash_kb: int = 1024
    seeds: tuple = (0, 1)
    kws_samples_per_class: int = 200
    vww_samples_per_class: int = 400
    vww_val_samples_per_class: int = 100
    vww_resolutions: tuple = (32, 48, 64, 80)
    vww_width_mults: tuple = (0.2, 0.3, 0.4, 0.5, 0.6)
    kws_width_mults: tuple = (0.25, 0.5, 0.75, 1.0, 1.25, 1.5)
    baseline_width_mults: tuple = (0.1, 0.15, 0.2, 0.25, 0.35, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0)
    compact_space: bool = False
    space_samples: int = 100
    supernet_epochs: int = 8
    num_random: int = 1
    population_size: int = 8
    generations: int = 2
    finetune_epochs: int = 6
    batch_size: int = 32
    calibration_batches: int = 4
    supernet_learning_rate: float = 1e-2
    finetune_learning_rate: float = 3e-3
    scratch_learning_rate: float = 1e-2
    qat_epochs: int = 2
    qat_learning_rate: float = 1e-4

    @property
    def train_epochs(self) -> int:
        """Epochs of a baseline trained from scratch: the search's supernet plus fine-tuning epochs."""
        return self.supernet_epochs + self.finetune_epochs


QUICK = ClaimsSettings(budgets_kb=(64,), seeds=(0,), kws_samples_per_class=30, vww_samples_per_class=40,
                       vww_val_samples_per_class=20, vww_resolutions=(32, 48), vww_width_mults=(0.3, 0.5),
                       kws_width_mults=(0.25, 0.5), baseline_width_mults=(0.25, 0.35, 0.5), compact_space=True,
                       space_samples=20, supernet_epochs=1, population_size=3, generations=0, finetune_epochs=1,
                       calibration_batches=1, qat_epochs=1)


@dataclass
class Cell:
    """One trained, quantized, exported and measured model."""
    task: str
    budget_kb: int
    method: str
    seed: int
    engine: str                 # the engine it is deployed with: "tinyengine" or "tflm"
    arch: dict
    width_mult: float
    resolution: object
    macs: int
    flash_bytes: int
    float_accuracy: float
    int8_accuracy: float        # on the deployed engine (tinyengine_tflite's Interpreter or TFLM)
    int8_accuracy_tflm: float
    int8_same_logits_tflm: int
    test_samples: int
    tinyengine_sram_bytes: int  # tinyengine_tflite.convert's peak SRAM of the exported model
    tflm_arena_bytes: int       # TFLM's smallest arena of the same model
    seconds: float

    @property
    def deployed_sram_bytes(self) -> int:
        return self.tinyengine_sram_bytes if self.engine == "tinyengine" else self.tflm_arena_bytes

    @property
    def fits(self) -> bool:
        return self.deployed_sram_bytes <= self.budget_kb * 1024


@dataclass
class Unfit:
    """A cell where no model of the method fits the budget (the reason names the smallest one's memory)."""
    task: str
    budget_kb: int
    method: str
    seed: int
    reason: str


@dataclass(frozen=True)
class CellKey:
    task: str
    budget_kb: int
    method: str
    seed: int

    @property
    def name(self) -> str:
        return f"{self.task}-{self.budget_kb}kb-{self.method.replace(' + ', '_').replace(' ', '')}-s{self.seed}"


def methods_of(task: str) -> list[str]:
    families = ["MobileNetV2", "DS-CNN"] if task == "kws" else ["MobileNetV2"]
    return [NAS_TE, NAS_TFLM] + [baseline_method(f, e) for f in families for e in ENGINES]


def all_cells(settings: ClaimsSettings) -> list[CellKey]:
    """Seed-major (a run cut short still holds every task, budget and method of its first seeds), then budget,
    then method with the tasks alternating: the searches (the longest cells, methods_of lists them first) start
    first and parallel workers rarely need the same supernet at once."""
    methods = list(dict.fromkeys(m for t in settings.tasks for m in methods_of(t)))
    return [CellKey(t, b, m, s) for s in settings.seeds for b in settings.budgets_kb for m in methods
            for t in settings.tasks if m in methods_of(t)]


# --- data and search spaces: the samples' own ------------------------------------------------------------------

@dataclass
class TaskData:
    train: tuple
    validation: tuple           # the search's fitness and the training's best-epoch choice
    test: tuple                 # held out from everything: the reported accuracy
    description: str


def sample_task(name: str, settings: ClaimsSettings, data_path=None):
    if name == "kws":
        from samples.kws.app import KWSTask
        return KWSTask(data_path, samples_per_class=settings.kws_samples_per_class, progress=False)
    from samples.vww.app import VWWTask
    return VWWTask(data_path, samples_per_class=settings.vww_samples_per_class,
                   val_samples_per_class=settings.vww_val_samples_per_class, progress=False)


def task_space(name: str, settings: ClaimsSettings):
    """(SearchSpace, width multipliers, resolutions) of the task's search, from the sample's search_space."""
    from samples.budget import PipelineBudget
    space, grid = sample_task(name, settings).search_space(PipelineBudget(compact_space=settings.compact_space))
    if name == "kws":
        return space, settings.kws_width_mults, tuple(grid["resolutions"])
    return space, settings.vww_width_mults, settings.vww_resolutions


def load_task_data(name: str, settings: ClaimsSettings, data_path=None) -> TaskData:
    task = sample_task(name, settings, data_path)
    _, _, resolutions = task_space(name, settings)
    d = task.data(task.search_resolution(resolutions))
    return TaskData(d.train, d.search_val, d.val, d.description)


# --- one cell ----------------------------------------------------------------------------------------------------

def _limits(settings: ClaimsSettings, budget_kb: int, engine: str):
    from tuner import Limits
    return Limits(budget_kb * 1024, settings.flash_kb * 1024, memory_model=engine)


def baseline_arch(task: str, family: str, engine: str, settings: ClaimsSettings, budget_kb: int):
    """The baseline family scaled to the largest (most MACs) that fits the budget under `engine`'s memory."""
    from .baselines import BASELINES, largest_fitting
    space, _, resolutions = task_space(task, settings)
    return largest_fitting(BASELINES[family], settings.baseline_width_mults, resolutions,
                           _limits(settings, budget_kb, engine), space.num_classes, space.in_channels)


def _search_settings(key: CellKey, settings: ClaimsSettings, directory: str, engine: str, verbose: int) -> dict:
    """keras_mcunet.search's keywords for the cell's search (its project under `directory`)."""
    space, widths, resolutions = task_space(key.task, settings)
    s = settings
    return dict(num_classes=space.num_classes, sram_limit=key.budget_kb * 1024, flash_limit=s.flash_kb * 1024,
                memory_model=engine, directory=directory, project_name=_project(key, engine), space=space,
                width_mults=widths, resolutions=resolutions, space_samples=s.space_samples,
                supernet_epochs=s.supernet_epochs, num_random=s.num_random,
                shared_supernets=os.path.join(directory, "supernets"), population_size=s.population_size,
                generations=s.generations, finetune_epochs=s.finetune_epochs,
                supernet_learning_rate=s.supernet_learning_rate, finetune_learning_rate=s.finetune_learning_rate,
                batch_size=s.batch_size, calibration_batches=s.calibration_batches, seed=key.seed, verbose=verbose)


def _project(key: CellKey, engine: str) -> str:
    return f"{key.task}-{key.budget_kb}kb-{engine}-s{key.seed}"


def _searched(key: CellKey, settings: ClaimsSettings, data: TaskData, directory: str, engine: str, verbose: int):
    import keras_mcunet as km
    from tuner.project_files import BEST_ARCH, read_json
    model = km.search(data.train, data.validation, **_search_settings(key, settings, directory, engine, verbose))
    return model, km.ArchConfig.from_dict(read_json(os.path.join(directory, _project(key, engine), BEST_ARCH))["arch"])


def restore_stage1(settings: ClaimsSettings, searches_dir: str, data: dict, cells: list) -> list[str]:
    """Stage 1 of the first seed's finished TinyNAS + TinyEngine searches whose project is gone (a run resumed
    from kept cells: benchmarks/partial_runs keeps no projects), rerun alone with the search's own settings and
    seed (deterministic, no training) so the search-space figure covers every budget. Returns their projects."""
    from tuner import optimize_search_space
    from tuner.project_files import SPACE_RESULT
    done = {(c.task, c.budget_kb) for c in cells
            if isinstance(c, Cell) and c.method == NAS_TE and c.seed == settings.seeds[0]}
    restored = []
    for task, budget in sorted(done):
        key = CellKey(task, budget, NAS_TE, settings.seeds[0])
        if not os.path.exists(os.path.join(searches_dir, _project(key, "tinyengine"), SPACE_RESULT)):
            optimize_search_space(data[task].train, data[task].validation,
                                  **_search_settings(key, settings, searches_dir, "tinyengine", 0))
            restored.append(_project(key, "tinyengine"))
    return restored


def run_cell(key: CellKey, settings: ClaimsSettings, data: TaskData, directory: str,
             verbose: int = 0) -> Cell | Unfit:
    """Train (search), QAT, export, evaluate and measure one cell; Unfit when no model of the method fits."""
    import keras_mcunet as km
    import tinyengine_tflite
    import tf_keras as keras
    from samples.pipeline import int8_accuracy
    from tinyengine_tflite.tflm_baseline import smallest_arena
    from tuner import NoFeasibleSpaceError
    from tuner.finetune import train_classifier
    from tuner.search_data import resize_data

    from .baselines import NoBaselineFits

    start = time.time()
    keras.utils.set_random_seed(key.seed)
    engine_name = key.method.rsplit(" + ", 1)[1]
    engine = ENGINES[engine_name]
    try:
        if key.method in (NAS_TE, NAS_TFLM):
            model, arch = _searched(key, settings, data, os.path.join(directory, "searches"), engine, verbose)
        else:
            arch = baseline_arch(key.task, key.method.rsplit(" + ", 1)[0], engine, settings, key.budget_kb)
    except (NoBaselineFits, NoFeasibleSpaceError) as e:   # the budget is below the method's smallest model
        return Unfit(key.task, key.budget_kb, key.method, key.seed, str(e))
    if key.method not in (NAS_TE, NAS_TFLM):
        model = km.build_model(arch)
        train_classifier(model, resize_data(data.train, arch.resolution), resize_data(data.validation,
                         arch.resolution), epochs=settings.train_epochs, learning_rate=settings.scratch_learning_rate,
                         batch_size=settings.batch_size, seed=key.seed, verbose=verbose)
    train, test = resize_data(data.train, arch.resolution), resize_data(data.test, arch.resolution)
    model.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    float_acc = float(model.evaluate(*test, batch_size=settings.batch_size, verbose=0)[1])
    qat_model = km.quantize(model, train, epochs=settings.qat_epochs, batch_size=settings.batch_size,
                            learning_rate=settings.qat_learning_rate)
    flatbuffer = km.export_tflite(qat_model, None, train[0])
    acc = int8_accuracy(flatbuffer, *test, progress=False)
    report = tinyengine_tflite.convert(flatbuffer)
    profile = km.profile(arch)
    return Cell(key.task, key.budget_kb, key.method, key.seed, engine, arch.to_dict(), arch.width_mult,
                arch.resolution, int(profile.macs), int(report.flash_bytes),
                float_acc, acc.tinyengine if engine == "tinyengine" else acc.tflm, acc.tflm, acc.same_logits_tflm,
                acc.samples, int(report.peak_sram_bytes), int(smallest_arena(flatbuffer, 16).arena_bytes),
                time.time() - start)


# --- resumable, parallel orchestration --------------------------------------------------------------------------

def _training_key(settings: ClaimsSettings) -> dict:
    """The settings a finished cell depends on (not which tasks, budgets and seeds this run covers) and the
    training code's revision."""
    d = asdict(settings)
    for name in ("tasks", "budgets_kb", "seeds"):
        del d[name]
    from .training_revision import TRAINING_REVISION
    d["training_revision"] = TRAINING_REVISION
    return json.loads(json.dumps(d))     # as read back from a cell file (tuples as lists)


def _cell_path(directory: str, key: CellKey) -> str:
    return os.path.join(directory, "cells", key.name + ".json")


def finished_cell(directory: str, key: CellKey, settings: ClaimsSettings) -> Cell | Unfit | None:
    """The saved cell, or None if it has not run; a cell of other training settings is an error."""
    from tinyengine_tflite.json_files import from_dict, read_json
    path = _cell_path(directory, key)
    if not os.path.exists(path):
        return None
    saved = read_json(path)
    if saved["settings"] != _training_key(settings):
        raise SystemExit(f"{path} was made with other settings or an older training code (training_revision); "
                         "pass --overwrite to start afresh")
    return from_dict(Unfit, saved["unfit"]) if "unfit" in saved else from_dict(Cell, saved["cell"])


def pending_cells(directory: str, settings: ClaimsSettings) -> list[CellKey]:
    """The cells of the run that have no saved result yet (what a resumed run still does)."""
    return [k for k in all_cells(settings) if finished_cell(directory, k, settings) is None]


def _run_cells(keys: list[CellKey], settings: ClaimsSettings, data_paths: dict, directory: str,
               verbose: int, progress: bool = False) -> None:
    from tqdm.auto import tqdm

    from tinyengine_tflite.json_files import write_json
    data = {}
    for key in tqdm(keys, desc="claims cells", unit="cell", disable=not progress):
        if not _claim(directory, key) or os.path.exists(_cell_path(directory, key)):
            continue   # another worker has it or has done it
        if key.task not in data:
            data[key.task] = load_task_data(key.task, settings, data_paths.get(key.task))
        cell = run_cell(key, settings, data[key.task], directory, verbose)
        kind = "unfit" if isinstance(cell, Unfit) else "cell"
        write_json(_cell_path(directory, key), {"settings": _training_key(settings), kind: asdict(cell)})
        if isinstance(cell, Unfit):
            print(f"{key.name}: no model fits ({cell.reason})", flush=True)
        else:
            print(f"{key.name}: int8 {cell.int8_accuracy:.4f}, {cell.deployed_sram_bytes / 1024:.1f} KB on "
                  f"{cell.engine} ({cell.seconds / 60:.1f} min)", flush=True)


def _claim_path(directory: str, key: CellKey) -> str:
    return os.path.join(directory, "cells", key.name + ".claim")


def _claim(directory: str, key: CellKey) -> bool:
    """Takes the cell for this process unless another worker took it first: workers take the next free cell
    (the longest first, see all_cells) rather than a fixed share, so none idles while another has a queue.
    A claim stays until the next run starts (_clear_claims), so a finished cell is never taken again."""
    try:
        os.close(os.open(_claim_path(directory, key), os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return False
    return True


def _clear_claims(directory: str) -> None:
    """Claims left by workers of an interrupted run (no worker runs when a run starts)."""
    cells = os.path.join(directory, "cells")
    for name in os.listdir(cells):
        if name.endswith(".claim"):
            os.remove(os.path.join(cells, name))


def _spawn_workers(todo: list[CellKey], jobs: int, argv: list[str], directory: str) -> None:
    """`jobs` worker processes (one thread each) take the cells one at a time; a progress bar counts the
    finished ones."""
    from tqdm.auto import tqdm
    path = os.pathsep.join(filter(None, (str(REPO), os.environ.get("PYTHONPATH"))))   # benchmarks is not installed
    env = dict(os.environ, TF_NUM_INTRAOP_THREADS="1", TF_NUM_INTEROP_THREADS="1", OMP_NUM_THREADS="1",
               PYTHONPATH=path)
    procs = []
    for k in range(jobs):
        log = open(os.path.join(directory, f"worker{k}.log"), "w")
        cmd = [sys.executable, "-m", "benchmarks.claims", *argv, "--worker", str(k), "--jobs", str(jobs)]
        procs.append((subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env), log))
    with tqdm(total=len(todo), desc="claims cells", unit="cell") as bar:
        while True:
            done = sum(os.path.exists(_cell_path(directory, key)) for key in todo)
            bar.update(done - bar.n)
            codes = [p.poll() for p, _ in procs]
            if any(c not in (None, 0) for c in codes):
                for p, _ in procs:
                    if p.poll() is None:
                        p.kill()
                bad = next(k for k, c in enumerate(codes) if c not in (None, 0))
                raise SystemExit(f"worker {bad} failed; see {os.path.join(directory, f'worker{bad}.log')}")
            if all(c == 0 for c in codes):
                break
            time.sleep(2)
    for _, log in procs:
        log.close()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny data and budgets (a smoke run, not evidence)")
    parser.add_argument("--tasks", nargs="+", choices=("kws", "vww"), help="default: both")
    parser.add_argument("--budgets", type=int, nargs="+", metavar="KB", help="SRAM budgets in KB (default: "
                        f"{' '.join(map(str, ClaimsSettings.budgets_kb))})")
    parser.add_argument("--seeds", type=int, nargs="+", help="default: "
                        f"{' '.join(map(str, ClaimsSettings.seeds))}")
    parser.add_argument("--kws-data", help="a Speech Commands v0.02 folder (default: synthesized keywords)")
    parser.add_argument("--vww-data", help="a Visual Wake Words folder (default: the packaged proxy)")
    parser.add_argument("--directory", help="cells, searches and results.json (default: out/claims, with --quick "
                                            "out/claims_quick)")
    parser.add_argument("--out", help=f"Markdown file whose '{SECTION}' section is (re)written (default: "
                                      "BENCHMARKS.md; with --quick, DIRECTORY/claims_quick.md)")
    parser.add_argument("--plots", help="where the figures go (default: benchmarks/plots; with --quick, "
                                        "DIRECTORY/plots)")
    parser.add_argument("--jobs", type=int, default=0, help="worker processes (default: one per CPU core)")
    parser.add_argument("--overwrite", action="store_true", help="start afresh (by default finished cells are kept)")
    parser.add_argument("--render-only", action="store_true",
                        help="write the section and figures from DIRECTORY/results.json without training")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--verbose", type=int, default=0)
    return parser


def settings_from_args(args) -> ClaimsSettings:
    settings = QUICK if args.quick else ClaimsSettings()
    changes = {name: tuple(value) for name, value in (("tasks", args.tasks), ("budgets_kb", args.budgets),
                                                      ("seeds", args.seeds)) if value}
    return replace(settings, **changes)


def _command(argv: list[str]) -> str:
    kept = [a for a in argv if a not in ("--overwrite",)]
    return " ".join([COMMAND, *kept])


def main(argv=None) -> int:
    from tinyengine_tflite.json_files import read_json, write_json
    from tinyengine_tflite.markdown_sections import put_section

    from .claims_report import collect_spaces, render_markdown, write_plots

    argv = list(sys.argv[1:] if argv is None else argv)
    args = _parser().parse_args(argv)
    directory = args.directory or os.path.join("out", "claims_quick" if args.quick else "claims")
    out = args.out or (os.path.join(directory, "claims_quick.md") if args.quick else "BENCHMARKS.md")
    plots = args.plots or (os.path.join(directory, "plots") if args.quick else os.path.join("benchmarks", "plots"))
    settings = settings_from_args(args)
    data_paths = {"kws": args.kws_data, "vww": args.vww_data}
    keys = all_cells(settings)
    if args.worker is not None:
        todo = pending_cells(directory, settings)
        _run_cells(todo, settings, data_paths, directory, args.verbose)
        return 0
    results_path = os.path.join(directory, "results.json")
    if args.render_only:
        if not os.path.exists(results_path):
            raise SystemExit(f"--render-only: no {results_path} (run the benchmark first)")
        saved = read_json(results_path)
    else:
        os.makedirs(os.path.join(directory, "cells"), exist_ok=True)
        if args.overwrite:
            for key in keys:
                if os.path.exists(_cell_path(directory, key)):
                    os.remove(_cell_path(directory, key))
        _clear_claims(directory)
        todo = pending_cells(directory, settings)
        start = time.time()
        data = {t: load_task_data(t, settings, data_paths[t]) for t in settings.tasks}
        jobs = min(len(todo), args.jobs or os.cpu_count() or 1)
        if jobs > 1:
            worker_argv = [a for a in argv if a != "--overwrite"]
            if "--jobs" in worker_argv:
                i = worker_argv.index("--jobs")
                del worker_argv[i:i + 2]
            _spawn_workers(todo, jobs, worker_argv, directory)
        elif todo:
            _run_cells(todo, settings, data_paths, directory, args.verbose, progress=True)
        cells = [finished_cell(directory, k, settings) for k in keys]
        for project in restore_stage1(settings, os.path.join(directory, "searches"), data, cells):
            print(f"stage 1 of {project} rerun alone (its project was not kept)")
        saved = {"settings": asdict(settings), "cells": [asdict(c) for c in cells if isinstance(c, Cell)],
                 "unfit": [asdict(c) for c in cells if isinstance(c, Unfit)],
                 "data": {t: d.description for t, d in data.items()},
                 "spaces": collect_spaces(settings, os.path.join(directory, "searches")),
                 "seconds": time.time() - start, "command": _command(argv), "cpus": os.cpu_count(),
                 "machine": platform.machine()}
        write_json(results_path, saved)
    figures = write_plots(saved, plots)
    text = render_markdown(saved, figures, os.path.dirname(os.path.abspath(out)))
    put_section(out, SECTION, text, saved["command"])
    print(text)
    print(f"wrote the '{SECTION}' section of {out} and {len(figures)} figures in {plots}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
