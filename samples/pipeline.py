"""The end-to-end MCUNet pipeline of a sample application, from data to a deployable C folder and a benchmark.

    data -> TinyNAS (keras_mcunet.search, or a given arch trained directly) -> float accuracy
         -> QAT (keras_mcunet.quantize) -> int8 export (keras_mcunet.export_tflite)
         -> int8 accuracy with tinyengine_tflite.Interpreter and with TFLite Micro
         -> deploy folder (samples.deploy: TinyEngine C, the app's C, Makefile), host build checked bit for bit
            against the Python Interpreter, Cortex-M4 firmware built and run on an emulator
         -> tinyengine_tflite.bench against TFLite Micro (peak SRAM, flash, host and Cortex-M latency, the
            memory-per-layer plot) -> results.json, results.md (the table) and plots/

``run_pipeline(task, budget, out_dir)`` does it for a task object (samples.vww.app.VWWTask,
samples.kws.app.KWSTask); ``samples.vww`` / ``samples.kws`` / ``samples.main`` are its command lines.
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

KB = 1024
DEFAULT_SRAM_LIMIT = 256 * KB
DEFAULT_FLASH_LIMIT = 1024 * KB
DEFAULT_PART = "stm32f412"        # Cortex-M4, 256 KB SRAM, 1 MB flash: the default budget
DEFAULT_CORTEXM_MHZ = 100.0       # the STM32F412's clock, for the latency estimate from instruction counts


@dataclass
class Budget:
    """Memory limits of the search and how much work each stage may do."""
    sram_limit: int = DEFAULT_SRAM_LIMIT
    flash_limit: int = DEFAULT_FLASH_LIMIT
    max_macs: int | None = None
    width_mults: tuple | None = None        # None: the task's grid for the preset
    resolutions: tuple | None = None
    space_samples: int = 500
    min_fit_fraction: float = 0.1
    supernet_epochs: int = 15
    supernet_steps_per_epoch: int | None = None
    num_random: int = 2
    population_size: int = 30
    generations: int = 8
    calibration_batches: int = 5
    batch_size: int = 32
    finetune_epochs: int = 10
    supernet_learning_rate: float = 1e-2
    learning_rate: float = 1e-3             # fine-tuning (and training a given arch)
    qat_epochs: int = 3
    qat_learning_rate: float = 1e-4
    compact_space: bool = False             # stage depths of at most 2 blocks (the quick preset)

    def search_kwargs(self) -> dict:
        keys = ("max_macs", "space_samples", "min_fit_fraction", "supernet_epochs", "supernet_steps_per_epoch",
                "num_random", "population_size", "generations", "calibration_batches", "batch_size",
                "finetune_epochs")
        kw = {k: getattr(self, k) for k in keys}
        kw.update(supernet_learning_rate=self.supernet_learning_rate, finetune_learning_rate=self.learning_rate)
        return kw


# Budgets of the presets. "quick" is the main job's (minutes on 2 CPU cores, on the small default data);
# "paper" is keras_mcunet.search's own defaults (MCUNet's settings; hours to days on a CPU).
PRESETS = {
    "quick": Budget(space_samples=200, supernet_epochs=6, population_size=10, generations=3, calibration_batches=2,
                    finetune_epochs=8, qat_epochs=2, compact_space=True),
    "standard": Budget(),
    "paper": Budget(space_samples=1000, supernet_epochs=30, population_size=100, generations=20,
                    calibration_batches=10, finetune_epochs=10, qat_epochs=5),
}


def parse_bytes(text) -> int:
    """'262144', '256K', '256KB', '256 KiB', '1M', '1MB', '0.5MB' -> bytes (powers of 1024)."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*(k|kb|kib|m|mb|mib|b)?\s*", str(text), re.I)
    if m is None:
        raise argparse.ArgumentTypeError(f"not a byte size: {text!r} (e.g. 262144, 256KB, 1MB)")
    unit = (m.group(2) or "b").lower()
    value = float(m.group(1)) * {"b": 1, "k": KB, "m": KB * KB}[unit[0]]
    if value <= 0 or value != int(value):
        raise argparse.ArgumentTypeError(f"a byte size must be a positive whole number of bytes, got {text!r}")
    return int(value)


def _float_list(text) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in str(text).split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None
    if not values or any(v <= 0 for v in values):
        raise argparse.ArgumentTypeError(f"expected positive numbers, got {text!r}")
    return values


def _int_list(text) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in str(text).split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if not values or any(v <= 0 for v in values):
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return values


def add_budget_arguments(parser: argparse.ArgumentParser, default_preset: str = "standard") -> None:
    """The memory limits and search-budget options shared by the sample command lines."""
    g = parser.add_argument_group("memory limits (the search only keeps models that fit)")
    g.add_argument("--sram-limit", type=parse_bytes, default=DEFAULT_SRAM_LIMIT,
                   help="peak SRAM limit in bytes, or e.g. 256KB (default %(default)s bytes)")
    g.add_argument("--flash-limit", type=parse_bytes, default=DEFAULT_FLASH_LIMIT,
                   help="flash limit for the model's constants in bytes, or e.g. 1MB (default %(default)s bytes)")
    g.add_argument("--max-macs", type=int, default=None, help="optional cap on MACs per inference")
    g = parser.add_argument_group("search budget (a preset, then any of these to override it)")
    g.add_argument("--preset", choices=sorted(PRESETS), default=default_preset,
                   help="budget preset (default %(default)s): quick = minutes on 2 CPU cores, standard = "
                        "the full space, an hour or more, paper = keras_mcunet.search's MCUNet defaults")
    g.add_argument("--width-mults", type=_float_list, help="stage-1 width multipliers, e.g. 0.3,0.5")
    g.add_argument("--resolutions", type=_int_list, help="stage-1 input resolutions, e.g. 64,96 (VWW only)")
    for name, kind, what in (("space-samples", int, "random subnets per (W, R) in stage 1"),
                             ("supernet-epochs", int, "supernet training epochs"),
                             ("supernet-steps", int, "batches per supernet epoch (default: one pass)"),
                             ("population", int, "evolution population size"),
                             ("generations", int, "evolution generations"),
                             ("finetune-epochs", int, "fine-tuning epochs of the winner"),
                             ("qat-epochs", int, "quantization-aware training epochs"),
                             ("batch-size", int, "batch size"),
                             ("supernet-learning-rate", float, "learning rate of supernet training"),
                             ("learning-rate", float, "learning rate of fine-tuning")):
        g.add_argument(f"--{name}", type=kind, help=what)


def budget_from_args(args) -> Budget:
    budget = replace(PRESETS[args.preset], sram_limit=args.sram_limit, flash_limit=args.flash_limit,
                     max_macs=args.max_macs)
    overrides = {"width_mults": args.width_mults, "resolutions": args.resolutions,
                 "space_samples": args.space_samples, "supernet_epochs": args.supernet_epochs,
                 "supernet_steps_per_epoch": args.supernet_steps, "population_size": args.population,
                 "generations": args.generations, "finetune_epochs": args.finetune_epochs,
                 "qat_epochs": args.qat_epochs, "batch_size": args.batch_size, "learning_rate": args.learning_rate,
                 "supernet_learning_rate": args.supernet_learning_rate}
    budget = replace(budget, **{k: v for k, v in overrides.items() if v is not None})
    for k in ("space_samples", "population_size", "batch_size"):
        if getattr(budget, k) < 1:
            raise ValueError(f"{k} must be at least 1, got {getattr(budget, k)}")
    for k in ("supernet_epochs", "generations", "finetune_epochs", "qat_epochs"):
        if getattr(budget, k) < 0:
            raise ValueError(f"{k} must be at least 0, got {getattr(budget, k)}")
    return budget


def add_run_arguments(parser: argparse.ArgumentParser, task_name: str) -> None:
    """Output folder, fixed architecture, target part and the optional stages."""
    parser.add_argument("--out", default=f"{task_name}_out", help="output folder (default %(default)s)")
    parser.add_argument("--arch", help="skip the search: train this ArchConfig JSON file (e.g. a previous run's "
                                       "search/*/best_arch.json) for --finetune-epochs epochs")
    parser.add_argument("--resume", action="store_true",
                        help="continue the search saved in the output folder instead of starting over")
    parser.add_argument("--part", default=DEFAULT_PART,
                        help=f"Cortex-M part of the firmware and the benchmark (default {DEFAULT_PART}; "
                             "stm32f746, stm32h743 also known)")
    parser.add_argument("--cortexm-mhz", type=float, default=DEFAULT_CORTEXM_MHZ,
                        help="clock for the Cortex-M latency estimate from instruction counts (default 100)")
    parser.add_argument("--no-bench", action="store_true", help="skip the TFLite Micro benchmark")
    parser.add_argument("--count-app-instructions", action="store_true",
                        help="also count the instructions of the whole firmware (input decoding or MFCC front end "
                             "+ model) in the emulator; slower")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quiet", action="store_true", help="less output (no Keras progress bars)")


# --- the pipeline --------------------------------------------------------------------------------------------------

STAGES = ("data", "search", "float accuracy", "QAT", "int8 export", "int8 accuracy", "deploy C", "Cortex-M firmware",
          "benchmark", "report")


@dataclass
class Results:
    task: str
    title: str
    data: str
    eval_split: str
    eval_samples: int
    budget: dict
    part: str
    arch: dict | None = None
    search_space: str | None = None
    float_accuracy: float | None = None
    int8_accuracy_tinyengine: float | None = None
    int8_accuracy_tflm: float | None = None
    int8_same_logits: int | None = None           # inputs where tinyengine's int8 logits equal TFLM's
    int8_same_logits_reference: int | None = None # ... equal TFLite's reference kernels'
    model: dict = field(default_factory=dict)
    deploy: dict = field(default_factory=dict)
    firmware: dict = field(default_factory=dict)
    bench: dict | None = None
    plots: dict = field(default_factory=dict)
    timings_s: dict = field(default_factory=dict)
    errors: dict = field(default_factory=dict)


def load_arch(path):
    """An ArchConfig from a JSON file: a bare ArchConfig dict or a search's best_arch.json ({"arch": {...}})."""
    from keras_mcunet import ArchConfig

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"arch file {path} does not exist")
    try:
        d = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"arch file {path} is not JSON: {e}") from None
    if isinstance(d, dict) and "arch" in d and isinstance(d["arch"], dict):
        d = d["arch"]
    try:
        return ArchConfig.from_dict(d)
    except ValueError as e:
        raise ValueError(f"arch file {path}: {e}") from None


def _input_hw(model) -> tuple[int, int]:
    return int(model.input_shape[1]), int(model.input_shape[2])


def _resolution_of(hw):
    return hw[0] if hw[0] == hw[1] else tuple(hw)


def int8_accuracy(model_bytes: bytes, x: np.ndarray, y: np.ndarray, progress: bool = True) -> dict:
    """Accuracy of the int8 model on float inputs x with tinyengine_tflite.Interpreter and with TFLite Micro
    (inputs quantized with samples.quantize, as the device does), and on how many inputs tinyengine gives the same
    int8 logits as TFLM and as TFLite's reference kernels (LiteRT BUILTIN_REF)."""
    import tinyengine_tflite
    from ai_edge_litert.interpreter import Interpreter as LiteRT
    from ai_edge_litert.interpreter import OpResolverType
    from tinyengine_tflite.tflm_baseline import tflm_interpreter

    from .quantize import quantize_int8

    te = tinyengine_tflite.Interpreter(model_content=model_bytes)
    te.allocate_tensors()
    inp, out = te.get_input_details()[0], te.get_output_details()[0]
    scale, zero_point = inp["quantization"]
    tflm = tflm_interpreter(model_bytes, max(4 * KB * KB, 10 * len(model_bytes)))
    ref = LiteRT(model_content=model_bytes, experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    ref.allocate_tensors()
    ref_in, ref_out = ref.get_input_details()[0]["index"], ref.get_output_details()[0]["index"]
    correct_te = correct_tflm = same_tflm = same_ref = 0
    for sample, label in tqdm(list(zip(x, y)), desc="int8 accuracy (tinyengine, TFLM)", unit="input",
                              disable=not progress, leave=False):
        q = quantize_int8(sample, scale, zero_point)[None]
        te.set_tensor(inp["index"], q)
        te.invoke()
        a = te.get_tensor(out["index"]).reshape(-1)
        tflm.set_input(q, 0)
        tflm.invoke()
        b = np.asarray(tflm.get_output(0)).reshape(-1)
        ref.set_tensor(ref_in, q)
        ref.invoke()
        c = ref.get_tensor(ref_out).reshape(-1)
        correct_te += int(np.argmax(a) == label)
        correct_tflm += int(np.argmax(b) == label)
        same_tflm += int(np.array_equal(a, b))
        same_ref += int(np.array_equal(a, c))
    n = len(y)
    return {"tinyengine": correct_te / n, "tflm": correct_tflm / n, "same_logits_tflm": same_tflm,
            "same_logits_reference": same_ref, "samples": n}


def check_deployed_c(folder, task, input_file) -> dict:
    """Run the deploy folder's ./main on ``input_file`` and the Python path (task.reference_input, then
    tinyengine_tflite.Interpreter) on the same file; both the int8 input and the int8 logits must agree."""
    import tinyengine_tflite

    run = folder.run_host(input_file, dump_input=True)
    ref = task.reference_input(input_file, folder.input_shape, folder.input_scale, folder.input_zero_point)
    it = tinyengine_tflite.Interpreter(model_path=str(folder.path / "model.tflite"))
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], ref[None])
    it.invoke()
    logits = it.get_tensor(it.get_output_details()[0]["index"]).reshape(-1)
    return {"file": str(input_file), "c_label": run.label, "c_score": run.score, "c_logits": run.logits.tolist(),
            "python_logits": logits.tolist(), "python_label": task.labels[int(np.argmax(logits))],
            "input_matches": bool(np.array_equal(run.input_tensor, ref)),
            "input_max_abs_diff": int(np.abs(run.input_tensor.astype(np.int32) - ref.astype(np.int32)).max()),
            "logits_match": bool(np.array_equal(run.logits, logits))}


def run_pipeline(task, budget: Budget, out_dir, *, arch_file=None, resume: bool = False, part: str = DEFAULT_PART,
                 cortexm_mhz: float = DEFAULT_CORTEXM_MHZ, bench: bool = True, count_app_instructions: bool = False,
                 seed: int = 0, verbose: int = 1) -> Results:
    """Run every stage for ``task`` (see the module docstring) into ``out_dir``; returns the Results (also
    written to out_dir/results.json, with the table in out_dir/results.md)."""
    from tinyengine_tflite.cortexm import get_part

    t_start = time.perf_counter()
    part_info = get_part(part)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"output folder {out} exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    plots = out / "plots"
    plots.mkdir(exist_ok=True)
    res = Results(task.name, task.title, task.describe(), task.eval_split, 0, asdict(budget), part_info.name)
    bar = tqdm(total=len(STAGES), desc=f"{task.name} pipeline", unit="stage", position=0, leave=True)
    try:
        return _run_stages(task, budget, out, plots, res, bar, t_start, arch_file=arch_file, resume=resume,
                           part_info=part_info, cortexm_mhz=cortexm_mhz, bench=bench,
                           count_app_instructions=count_app_instructions, seed=seed, verbose=verbose)
    finally:
        bar.close()


def _run_stages(task, budget, out, plots, res, bar, t_start, *, arch_file, resume, part_info, cortexm_mhz, bench,
                count_app_instructions, seed, verbose) -> Results:
    import keras_mcunet as km

    from .deploy import write_deploy_folder

    say = tqdm.write
    timer = {"t": time.perf_counter()}

    def stage(name):
        bar.set_postfix_str(name)
        say(f"\n=== {task.name}: {name} ===")
        timer["name"], timer["t"] = name, time.perf_counter()

    def done():
        res.timings_s[timer["name"]] = round(time.perf_counter() - timer["t"], 2)
        bar.update(1)

    # --- data -----------------------------------------------------------------------------------------------------
    stage("data")
    space, grid = task.search_space(budget)
    width_mults = budget.width_mults or grid["width_mults"]
    resolutions = budget.resolutions or grid["resolutions"]
    arch = load_arch(arch_file) if arch_file else None
    if arch is not None:
        from keras_mcunet.search_space import resolution_hw
        search_res = _resolution_of(resolution_hw(arch.resolution))
    else:
        search_res = task.search_resolution(resolutions)
    data = task.data(search_res)
    say(f"data: {data.description}; train {len(data.train[1])}, search validation {len(data.search_val[1])}, "
        f"{task.eval_split} {len(data.val[1])}")
    done()

    # --- search (or the given arch) --------------------------------------------------------------------------------
    stage("search")
    search_dir = out / "search"
    if arch is None:
        if not resume and search_dir.exists():
            shutil.rmtree(search_dir)
        model = km.search(data.train, data.search_val, num_classes=len(task.labels), sram_limit=budget.sram_limit,
                          flash_limit=budget.flash_limit, directory=str(search_dir), project_name=task.name,
                          space=space, width_mults=width_mults, resolutions=resolutions, seed=seed,
                          verbose=verbose, **budget.search_kwargs())
        project = search_dir / task.name
        best = json.loads((project / "best_arch.json").read_text())
        arch = km.ArchConfig.from_dict(best["arch"])
        res.search_space = best.get("space")
        for name in ("space_macs_cdf.png", "search_progress.png", "space_optimization.txt"):
            if (project / name).exists():
                shutil.copyfile(project / name, plots / name)
                if name.endswith(".png"):
                    res.plots[name[:-4]] = str(plots / name)
    else:
        from tuner.finetune import train_classifier

        if arch.num_classes != len(task.labels):
            raise ValueError(f"the arch in {arch_file} has {arch.num_classes} classes, the {task.name} task has "
                             f"{len(task.labels)}")
        say(f"training the given arch ({arch_file}) for {budget.finetune_epochs} epochs, no search")
        model = km.build_model(arch)
        d = task.data(_resolution_of(_input_hw(model)))
        train, _ = task.model_input(d, tuple(model.input_shape[1:]))
        if train[0].shape[1:] != tuple(model.input_shape[1:]):
            raise ValueError(f"the arch in {arch_file} takes inputs of shape {tuple(model.input_shape[1:])}, the "
                             f"{task.name} data are {train[0].shape[1:]}")
        train_classifier(model, train, d.search_val, epochs=budget.finetune_epochs,
                         learning_rate=budget.learning_rate, batch_size=budget.batch_size, seed=seed,
                         verbose=verbose)
    res.arch = arch.to_dict()
    done()

    # --- float accuracy at the deployed input path -------------------------------------------------------------
    stage("float accuracy")
    data = task.data(_resolution_of(_input_hw(model)))
    train, evaluation = task.model_input(data, tuple(model.input_shape[1:]))
    res.eval_samples = int(len(evaluation[1]))
    model.compile(optimizer="adam", loss=km_loss(), metrics=["accuracy"])
    res.float_accuracy = float(model.evaluate(evaluation[0], evaluation[1], batch_size=budget.batch_size,
                                              verbose=0)[1])
    say(f"float accuracy on {task.eval_split} ({res.eval_samples}): {res.float_accuracy:.4f}")
    done()

    # --- QAT ------------------------------------------------------------------------------------------------------
    stage("QAT")
    qat_model = km.quantize(model, train, epochs=budget.qat_epochs, batch_size=budget.batch_size,
                            learning_rate=budget.qat_learning_rate, verbose=verbose)
    done()

    # --- int8 export ----------------------------------------------------------------------------------------------
    stage("int8 export")
    model_path = out / "model.tflite"
    model_bytes = km.export_tflite(qat_model, str(model_path), representative_data=train[0])
    say(f"int8 model: {model_path} ({len(model_bytes):,} B)")
    done()

    # --- int8 accuracy --------------------------------------------------------------------------------------------
    stage("int8 accuracy")
    acc = int8_accuracy(model_bytes, evaluation[0], evaluation[1], progress=verbose > 0)
    res.int8_accuracy_tinyengine, res.int8_accuracy_tflm = acc["tinyengine"], acc["tflm"]
    res.int8_same_logits, res.int8_same_logits_reference = acc["same_logits_tflm"], acc["same_logits_reference"]
    say(f"int8 accuracy: tinyengine {acc['tinyengine']:.4f}, TFLM {acc['tflm']:.4f}; tinyengine's int8 logits equal "
        f"TFLM's on {acc['same_logits_tflm']}/{acc['samples']} inputs and the TFLite reference kernels' on "
        f"{acc['same_logits_reference']}/{acc['samples']}")
    done()

    # --- deploy folder --------------------------------------------------------------------------------------------
    stage("deploy C")
    deploy_dir = out / "deploy"
    sample = task.write_sample(data, out)
    folder = write_deploy_folder(model_bytes, deploy_dir, task.app_c, sample, part=part_info)
    (out / sample.name).unlink()
    folder.build_host()
    check = check_deployed_c(folder, task, deploy_dir / folder.sample_file)
    rep = folder.report
    res.model = {"peak_sram_bytes": rep.peak_sram_bytes, "flash_bytes": rep.flash_bytes, "macs": rep.macs,
                 "layers": len(rep.layers), "tflite_bytes": len(model_bytes),
                 "input_shape": list(folder.input_shape)}
    res.deploy = {"folder": str(deploy_dir), "files": folder.files, "sample": check}
    if not (check["input_matches"] and check["logits_match"]):
        res.errors["deploy"] = (f"the deployed C differs from the Python path on {folder.sample_file}: input equal "
                                f"{check['input_matches']}, logits {check['c_logits']} vs {check['python_logits']}")
    say(f"deploy folder {deploy_dir}: ./main {folder.sample_file} -> {check['c_label']} "
        f"({check['c_score']:.3f}); C input == Python: {check['input_matches']}, C logits == Python "
        f"Interpreter: {check['logits_match']}")
    done()

    # --- Cortex-M firmware ----------------------------------------------------------------------------------------
    stage("Cortex-M firmware")
    if shutil.which("arm-none-eabi-gcc") is None:
        res.errors["firmware"] = "arm-none-eabi-gcc is not installed: make arm not run"
        say(res.errors["firmware"])
    else:
        from .firmware import emulate_firmware
        try:
            arm = folder.build_arm()
            run = emulate_firmware(arm.elf, part_info, len(task.labels), count_instructions=count_app_instructions)
            res.firmware = {"elf": str(arm.elf), "flash_bytes": arm.flash_bytes, "sram_bytes": arm.sram_bytes,
                            "stack_bytes": arm.stack_bytes, "text_bytes": arm.text_bytes,
                            "data_bytes": arm.data_bytes, "bss_bytes": arm.bss_bytes,
                            "emulated_label": task.labels[run.class_index] if run.status == 0 else None,
                            "emulated_logits": run.logits.tolist(),
                            "matches_host": bool(run.status == 0 and run.logits.tolist() == check["c_logits"]),
                            "instructions": run.instructions}
            if not res.firmware["matches_host"]:
                res.errors["firmware"] = (f"the emulated firmware (status {run.status}) gave logits "
                                          f"{run.logits.tolist()}, the host build {check['c_logits']}")
            say(f"firmware {arm.elf}: flash {arm.flash_bytes:,} B, SRAM {arm.sram_bytes:,} B (stack included); "
                f"emulated Cortex-M4 -> {res.firmware['emulated_label']}, same logits as the host build: "
                f"{res.firmware['matches_host']}")
        except RuntimeError as e:
            res.errors["firmware"] = str(e)
            say(f"Cortex-M firmware failed: {e}")
    done()

    # --- benchmark ------------------------------------------------------------------------------------------------
    stage("benchmark")
    if bench:
        from tinyengine_tflite.bench import benchmark_model
        b = benchmark_model(str(model_path), name=f"{task.name}_model", part=part_info.name, plot_dir=plots,
                            cortexm=shutil.which("arm-none-eabi-gcc") is not None,
                            progress=lambda s: bar.set_postfix_str(f"benchmark: {s}"))
        (out / "bench.json").write_text(json.dumps(b, indent=1, default=_json_default))
        res.bench = _bench_summary(b, cortexm_mhz)
        if b.get("plot"):
            target = plots / "memory_per_layer.png"
            shutil.move(b["plot"], target)
            res.plots["memory_per_layer"] = str(target)
        for k, v in b.get("errors", {}).items():
            res.errors[f"bench {k}"] = v
    done()

    # --- report ---------------------------------------------------------------------------------------------------
    stage("report")
    done()
    res.timings_s["total"] = round(time.perf_counter() - t_start, 1)
    (out / "results.md").write_text(render_table(res, cortexm_mhz) + "\n")
    (out / "results.json").write_text(json.dumps(asdict(res), indent=1, default=_json_default))
    return res


def km_loss():
    from keras_mcunet._tf import keras
    return keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def _json_default(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    return str(o)


def _bench_summary(b: dict, mhz: float) -> dict:
    """The numbers of a tinyengine_tflite.bench result the table shows."""
    s: dict = {"status": b.get("status")}
    te, sram, flash, lat, cm = (b.get(k) or {} for k in ("tinyengine", "sram", "flash", "latency", "cortexm"))
    s["te_peak_sram_bytes"] = te.get("peak_sram_bytes")
    s["tflm_arena_bytes"] = sram.get("tflm_like_for_like_bytes")
    s["sram_ratio"] = sram.get("ratio")
    s["te_flash_bytes"] = flash.get("flash_bytes")
    s["te_code_bytes"] = flash.get("code_bytes")
    s["te_weights_bytes"] = flash.get("weights_bytes")
    s["flash_cpu"] = flash.get("cpu")
    s["tflm_flatbuffer_bytes"] = b.get("flatbuffer_bytes")
    s["te_host_ms"] = (lat.get("tinyengine") or {}).get("median_ms")
    s["tflm_host_ms"] = (lat.get("tflm") or {}).get("median_ms")
    s["host_speedup"] = lat.get("speedup_vs_tflm")
    s["cortexm_status"] = cm.get("status")
    s["cortexm_instructions"] = cm.get("instructions")
    s["cortexm_ms"] = cm["instructions"] / (mhz * 1e3) if cm.get("instructions") else None
    s["cortexm_matches_host"] = cm.get("output_matches_host")
    return s


def _kb(n) -> str:
    return "n/a" if n is None else f"{n / KB:,.1f} KB"


def _pct(v) -> str:
    return "n/a" if v is None else f"{100 * v:.1f}%"


def render_table(res: Results, mhz: float = DEFAULT_CORTEXM_MHZ) -> str:
    """The final table (Markdown): accuracy, peak SRAM, flash, host and Cortex-M latency, tinyengine vs TFLM."""
    b = res.bench or {}
    m = res.model
    n = res.eval_samples
    rows = [("float accuracy (Keras)", _pct(res.float_accuracy), "", ""),
            ("int8 accuracy", _pct(res.int8_accuracy_tinyengine), _pct(res.int8_accuracy_tflm),
             f"same int8 logits on {res.int8_same_logits}/{n} (TFLite reference: {res.int8_same_logits_reference}/{n})"
             if res.int8_same_logits is not None else "")]
    if res.bench:
        ratio = b.get("sram_ratio")
        rows.append(("peak SRAM (activations + scratch)", _kb(b.get("te_peak_sram_bytes")),
                     _kb(b.get("tflm_arena_bytes")), f"{ratio:.2f}x less" if ratio else ""))
        fl = b.get("te_flash_bytes")
        rows.append((f"flash (model: code + weights, {b.get('flash_cpu') or 'Cortex-M'} build)",
                     _kb(fl) if fl else "n/a", f"{_kb(b.get('tflm_flatbuffer_bytes'))} flatbuffer + runtime",
                     f"code {_kb(b.get('te_code_bytes'))}, weights {_kb(b.get('te_weights_bytes'))}" if fl else ""))
        te_ms, tflm_ms = b.get("te_host_ms"), b.get("tflm_host_ms")
        rows.append(("host latency (median, x86)", f"{te_ms:.3f} ms" if te_ms else "n/a",
                     f"{tflm_ms:.3f} ms" if tflm_ms else "n/a",
                     f"{b['host_speedup']:.2f}x faster" if b.get("host_speedup") else ""))
        cm_ms = b.get("cortexm_ms")
        rows.append((f"Cortex-M4 latency (emulated, {mhz:g} MHz, 1 instr/cycle)",
                     f"{cm_ms:.2f} ms ({b['cortexm_instructions'] / 1e6:.2f} M instr)" if cm_ms
                     else (b.get("cortexm_status") or "n/a"),
                     "not measured", "output == host" if b.get("cortexm_matches_host") else ""))
    else:
        rows.append(("peak SRAM (tinyengine plan)", _kb(m.get("peak_sram_bytes")), "not run (--no-bench)", ""))
        rows.append(("flash (model constants)", _kb(m.get("flash_bytes")), "not run (--no-bench)", ""))
    fw = res.firmware
    if fw:
        app_ms = f", {fw['instructions'] / (mhz * 1e3):.2f} ms" if fw.get("instructions") else ""
        rows.append(("whole app firmware (make arm)", f"flash {_kb(fw['flash_bytes'])}, SRAM {_kb(fw['sram_bytes'])}"
                     f"{app_ms}", "", "emulated output == host" if fw.get("matches_host") else "MISMATCH"))
    chk = (res.deploy or {}).get("sample") or {}
    if chk:
        rows.append(("deployed C (./main sample) vs Python", chk.get("c_label", ""), "",
                     "same input and logits" if chk.get("input_matches") and chk.get("logits_match")
                     else "MISMATCH"))
    widths = [max(len(r[i]) for r in rows + [("metric", "tinyengine", "TFLM", "tinyengine vs TFLM")])
              for i in range(4)]

    def line(cells):
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"
    arch = res.arch or {}
    head = [f"## {res.title}: MCUNet pipeline results",
            "",
            f"- data: {res.data}; accuracy on the {res.eval_split} split ({n} samples)",
            f"- budget: SRAM <= {_kb(res.budget['sram_limit'])}, flash <= {_kb(res.budget['flash_limit'])}; "
            f"part {res.part}" + (f"; searched space {res.search_space}" if res.search_space else "; given arch"),
            f"- model: W {arch.get('width_mult')}, R {arch.get('resolution')}, depths "
            f"{[len(k) for k in arch.get('ks', [])]}, {m.get('macs', 0) / 1e6:.2f} M MACs, "
            f"{m.get('layers')} layers, int8 .tflite {m.get('tflite_bytes', 0):,} B",
            "",
            line(("metric", "tinyengine", "TFLM", "tinyengine vs TFLM")),
            "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    body = [line(r) for r in rows]
    tail = ["", "plots: " + ", ".join(f"{k} ({v})" for k, v in res.plots.items()) if res.plots else "plots: none",
            "time: " + ", ".join(f"{k} {v:.0f} s" for k, v in res.timings_s.items())]
    if res.errors:
        tail.append("problems: " + "; ".join(f"{k}: {v.splitlines()[0] if v else v}" for k, v in res.errors.items()))
    return "\n".join(head + body + tail)


def run_from_args(task, args) -> Results:
    """Run the pipeline for a command line's parsed ``args`` and print the table."""
    budget = budget_from_args(args)
    res = run_pipeline(task, budget, args.out, arch_file=args.arch, resume=args.resume, part=args.part,
                       cortexm_mhz=args.cortexm_mhz, bench=not args.no_bench,
                       count_app_instructions=args.count_app_instructions, seed=args.seed,
                       verbose=0 if args.quiet else 1)
    print()
    print(render_table(res, args.cortexm_mhz))
    print(f"\nresults: {Path(args.out) / 'results.md'}, {Path(args.out) / 'results.json'}; deploy folder: "
          f"{res.deploy.get('folder')}")
    return res


def cli_main(parser, make_task, argv=None) -> int:
    """The sample apps' command line: parse, build the task, run the pipeline; bad data or options exit 2."""
    import sys
    args = parser.parse_args(argv)
    try:
        run_from_args(make_task(args), args)
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0
