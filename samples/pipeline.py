"""The end-to-end MCUNet pipeline of a sample application, from data to a deployable C folder and a benchmark: a
list of named stages (STAGES), each a function over one PipelineState.

    data -> TinyNAS (keras_mcunet.search, or a given arch trained directly) -> float accuracy
         -> QAT (keras_mcunet.quantize) -> int8 export (keras_mcunet.export_tflite)
         -> int8 accuracy with tinyengine_tflite.Interpreter and with TFLite Micro
         -> deploy folder (samples.deploy: TinyEngine C, the app's C, Makefile), host build checked bit for bit
            against the Python Interpreter, Cortex-M4 firmware built and run on an emulator
         -> tinyengine_tflite's benchmark against TFLite Micro (peak SRAM, flash, host and Cortex-M latency, the
            memory-per-layer plot)
    -> results.json, results.md (the table, samples.results) and plots/

``run_pipeline(task, budget, out_dir)`` does it for a task object (samples.vww.app.VWWTask,
samples.kws.app.KWSTask); ``samples.vww`` / ``samples.kws`` / ``samples.main`` are its command lines.
"""
from __future__ import annotations

import argparse
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Protocol

import numpy as np
from tqdm.auto import tqdm

from .budget import PipelineBudget, add_budget_arguments, budget_from_args
from .deploy import DEFAULT_PART, DeployFolder
from .results import (DEFAULT_CORTEXM_MHZ, KB, BenchSummary, DeployedCheck, DeploySummary, FirmwareSummary,
                      Int8Accuracy, ModelSummary, Results, render_table)


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


def app_parser(prog: str, description: str, task_name: str, default_preset: str,
               add_data_arguments: Callable[[argparse.ArgumentParser], None]) -> argparse.ArgumentParser:
    """A sample application's command line: its data options (add_data_arguments), then add_run_arguments and
    the budget's options (samples.budget.add_budget_arguments)."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    add_data_arguments(parser)
    add_run_arguments(parser, task_name)
    add_budget_arguments(parser, default_preset)
    return parser


# --- the pipeline --------------------------------------------------------------------------------------------------

class SampleTask(Protocol):
    """What the pipeline needs of a sample application (samples.vww.app.VWWTask, samples.kws.app.KWSTask)."""
    name: str
    title: str
    labels: tuple
    eval_split: str
    app_c: object           # samples.deploy.AppC

    def describe(self) -> str: ...
    def search_space(self, budget: PipelineBudget): ...
    def search_resolution(self, resolutions): ...
    def data(self, resolution): ...
    def model_input(self, data, shape): ...
    def write_sample(self, data, path_dir) -> Path: ...
    def reference_input(self, file, shape, scale: float, zero_point: int) -> np.ndarray: ...


@dataclass
class RunOptions:
    """How the pipeline runs, besides the task and the budget (see add_run_arguments)."""
    arch_file: str | Path | None = None
    resume: bool = False
    part: str = DEFAULT_PART
    cortexm_mhz: float = DEFAULT_CORTEXM_MHZ
    bench: bool = True
    count_app_instructions: bool = False
    seed: int = 0
    verbose: int = 1


@dataclass
class PipelineState:
    """What the stages share: the run's inputs, the Results they fill in, and what one stage hands the next."""
    task: SampleTask
    budget: PipelineBudget
    options: RunOptions
    out: Path
    plots: Path
    part: object                                  # tinyengine_tflite Part
    results: Results
    progress: tqdm
    data: object = None                           # the task's data (at the search's, then the model's resolution)
    arch: object = None                           # keras_mcunet.ArchConfig: given, or found by the search
    model: object = None                          # the float Keras model
    train: tuple | None = None                    # (x, y) at the model's input
    evaluation: tuple | None = None
    qat_model: object = None
    model_path: Path | None = None                # the int8 .tflite
    model_bytes: bytes | None = None
    folder: DeployFolder | None = None
    check: DeployedCheck | None = None

    def say(self, text: str) -> None:
        tqdm.write(text)


@dataclass(frozen=True)
class Stage:
    """A named step: run(state) reads what the stages before it left in the state and adds its own."""
    name: str
    run: Callable[[PipelineState], None]


def load_arch(path):
    """An ArchConfig from a JSON file: a bare ArchConfig dict or a search's best_arch.json ({"arch": {...}})."""
    import json

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


def int8_accuracy(model_bytes: bytes, x: np.ndarray, y: np.ndarray, progress: bool = True) -> Int8Accuracy:
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
    return Int8Accuracy(correct_te / n, correct_tflm / n, same_tflm, same_ref, n)


def check_deployed_c(folder: DeployFolder, task: SampleTask, input_file) -> DeployedCheck:
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
    return DeployedCheck(
        file=str(input_file), c_label=run.label, c_score=run.score, c_logits=run.logits.tolist(),
        python_logits=logits.tolist(), python_label=task.labels[int(np.argmax(logits))],
        input_matches=bool(np.array_equal(run.input_tensor, ref)),
        input_max_abs_diff=int(np.abs(run.input_tensor.astype(np.int32) - ref.astype(np.int32)).max()),
        logits_match=bool(np.array_equal(run.logits, logits)))


# --- the stages, in order ------------------------------------------------------------------------------------------

def load_data(s: PipelineState) -> None:
    """The task's data at the resolution the search starts from (or the given arch's)."""
    task, budget = s.task, s.budget
    if s.options.arch_file:
        from keras_mcunet.search_space import resolution_hw
        s.arch = load_arch(s.options.arch_file)
        resolution = _resolution_of(resolution_hw(s.arch.resolution))
    else:
        _, grid = task.search_space(budget)
        resolution = task.search_resolution(budget.resolutions or grid["resolutions"])
    s.data = task.data(resolution)
    s.say(f"data: {s.data.description}; train {len(s.data.train[1])}, search validation "
          f"{len(s.data.search_val[1])}, {task.eval_split} {len(s.data.val[1])}")


def search_or_train(s: PipelineState) -> None:
    """keras_mcunet.search under the budget's limits (resumed with --resume); with a given arch, train it."""
    if s.arch is None:
        _search(s)
    else:
        _train_given_arch(s)
    s.results.arch = s.arch.to_dict()


def _search(s: PipelineState) -> None:
    import keras_mcunet as km
    from tuner.project_files import BEST_ARCH, PROGRESS_PLOT, SPACE_PLOT, SPACE_TABLE, read_json

    task, budget = s.task, s.budget
    space, grid = task.search_space(budget)
    search_dir = s.out / "search"
    if not s.options.resume and search_dir.exists():
        shutil.rmtree(search_dir)
    s.model = km.search(s.data.train, s.data.search_val, num_classes=len(task.labels),
                        sram_limit=budget.sram_limit, flash_limit=budget.flash_limit, directory=str(search_dir),
                        project_name=task.name, space=space, width_mults=budget.width_mults or grid["width_mults"],
                        resolutions=budget.resolutions or grid["resolutions"], seed=s.options.seed,
                        verbose=s.options.verbose, **budget.search_kwargs())
    project = search_dir / task.name
    best = read_json(project / BEST_ARCH)
    s.arch = km.ArchConfig.from_dict(best["arch"])
    s.results.search_space = best.get("space")
    for name in (SPACE_PLOT, PROGRESS_PLOT, SPACE_TABLE):
        if (project / name).exists():
            shutil.copyfile(project / name, s.plots / name)
            if name.endswith(".png"):
                s.results.plots[name[:-4]] = str(s.plots / name)


def _train_given_arch(s: PipelineState) -> None:
    import keras_mcunet as km
    from tuner.finetune import train_classifier

    task, budget, arch, arch_file = s.task, s.budget, s.arch, s.options.arch_file
    if arch.num_classes != len(task.labels):
        raise ValueError(f"the arch in {arch_file} has {arch.num_classes} classes, the {task.name} task has "
                         f"{len(task.labels)}")
    s.say(f"training the given arch ({arch_file}) for {budget.finetune_epochs} epochs, no search")
    s.model = km.build_model(arch)
    data = task.data(_resolution_of(_input_hw(s.model)))
    train, _ = task.model_input(data, tuple(s.model.input_shape[1:]))
    if train[0].shape[1:] != tuple(s.model.input_shape[1:]):
        raise ValueError(f"the arch in {arch_file} takes inputs of shape {tuple(s.model.input_shape[1:])}, the "
                         f"{task.name} data are {train[0].shape[1:]}")
    train_classifier(s.model, train, data.search_val, epochs=budget.finetune_epochs,
                     learning_rate=budget.learning_rate, batch_size=budget.batch_size, seed=s.options.seed,
                     verbose=s.options.verbose)


def float_accuracy(s: PipelineState) -> None:
    """The float model's accuracy on the evaluation split, at the input path the device uses."""
    res = s.results
    s.data = s.task.data(_resolution_of(_input_hw(s.model)))
    s.train, s.evaluation = s.task.model_input(s.data, tuple(s.model.input_shape[1:]))
    res.eval_samples = int(len(s.evaluation[1]))
    from tf_keras.losses import SparseCategoricalCrossentropy   # keras_mcunet selected Keras 2 when it built it

    s.model.compile(optimizer="adam", loss=SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    res.float_accuracy = float(s.model.evaluate(s.evaluation[0], s.evaluation[1], batch_size=s.budget.batch_size,
                                                verbose=0)[1])
    s.say(f"float accuracy on {s.task.eval_split} ({res.eval_samples}): {res.float_accuracy:.4f}")


def qat(s: PipelineState) -> None:
    import keras_mcunet as km
    s.qat_model = km.quantize(s.model, s.train, epochs=s.budget.qat_epochs, batch_size=s.budget.batch_size,
                              learning_rate=s.budget.qat_learning_rate, verbose=s.options.verbose)


def int8_export(s: PipelineState) -> None:
    import keras_mcunet as km
    s.model_path = s.out / "model.tflite"
    s.model_bytes = km.export_tflite(s.qat_model, str(s.model_path), representative_data=s.train[0])
    s.say(f"int8 model: {s.model_path} ({len(s.model_bytes):,} B)")


def int8_accuracy_stage(s: PipelineState) -> None:
    acc = int8_accuracy(s.model_bytes, s.evaluation[0], s.evaluation[1], progress=s.options.verbose > 0)
    res = s.results
    res.int8_accuracy_tinyengine, res.int8_accuracy_tflm = acc.tinyengine, acc.tflm
    res.int8_same_logits, res.int8_same_logits_reference = acc.same_logits_tflm, acc.same_logits_reference
    s.say(f"int8 accuracy: tinyengine {acc.tinyengine:.4f}, TFLM {acc.tflm:.4f}; tinyengine's int8 logits equal "
          f"TFLM's on {acc.same_logits_tflm}/{acc.samples} inputs and the TFLite reference kernels' on "
          f"{acc.same_logits_reference}/{acc.samples}")


def deploy_c(s: PipelineState) -> None:
    """The deploy folder, its host program built and checked against the Python path on the sample input."""
    from .deploy import write_deploy_folder

    deploy_dir = s.out / "deploy"
    sample = s.task.write_sample(s.data, s.out)
    folder = s.folder = write_deploy_folder(s.model_bytes, deploy_dir, s.task.app_c, sample, part=s.part,
                                            patches=s.budget.patches)
    (s.out / sample.name).unlink()
    folder.build_host()
    check = s.check = check_deployed_c(folder, s.task, deploy_dir / folder.sample_file)
    rep, res = folder.report, s.results
    res.model = ModelSummary(rep.peak_sram_bytes, rep.flash_bytes, rep.macs, len(rep.layers), len(s.model_bytes),
                             list(folder.input_shape),
                             rep.patches.plan if rep.patches else None,
                             rep.layerwise_peak_sram_bytes)
    res.deploy = DeploySummary(str(deploy_dir), folder.files, check)
    if not (check.input_matches and check.logits_match):
        res.errors["deploy"] = (f"the deployed C differs from the Python path on {folder.sample_file}: input equal "
                                f"{check.input_matches}, logits {check.c_logits} vs {check.python_logits}")
    s.say(f"deploy folder {deploy_dir}: ./main {folder.sample_file} -> {check.c_label} ({check.c_score:.3f}); "
          f"C input == Python: {check.input_matches}, C logits == Python Interpreter: {check.logits_match}")


def cortexm_firmware(s: PipelineState) -> None:
    """make arm, and the firmware run on the emulated Cortex-M4 against the host build."""
    res = s.results
    if shutil.which("arm-none-eabi-gcc") is None:
        res.errors["firmware"] = "arm-none-eabi-gcc is not installed: make arm not run"
        s.say(res.errors["firmware"])
        return
    from .firmware import emulate_firmware
    try:
        arm = s.folder.build_arm()
        run = emulate_firmware(arm.elf, s.part, len(s.task.labels),
                               count_instructions=s.options.count_app_instructions)
    except RuntimeError as e:
        res.errors["firmware"] = str(e)
        s.say(f"Cortex-M firmware failed: {e}")
        return
    logits = run.logits.tolist()
    fw = res.firmware = FirmwareSummary(
        elf=str(arm.elf), flash_bytes=arm.flash_bytes, sram_bytes=arm.sram_bytes, stack_bytes=arm.stack_bytes,
        text_bytes=arm.text_bytes, data_bytes=arm.data_bytes, bss_bytes=arm.bss_bytes,
        emulated_label=s.task.labels[run.class_index] if run.status == 0 else None, emulated_logits=logits,
        matches_host=bool(run.status == 0 and logits == s.check.c_logits), instructions=run.instructions)
    if not fw.matches_host:
        res.errors["firmware"] = (f"the emulated firmware (status {run.status}) gave logits {logits}, the host "
                                  f"build {s.check.c_logits}")
    s.say(f"firmware {arm.elf}: flash {arm.flash_bytes:,} B, SRAM {arm.sram_bytes:,} B (stack included); emulated "
          f"Cortex-M4 -> {fw.emulated_label}, same logits as the host build: {fw.matches_host}")


def benchmark(s: PipelineState) -> None:
    """tinyengine against TFLite Micro on the int8 model (skipped with --no-bench)."""
    if not s.options.bench:
        return
    from tinyengine_tflite.json_files import write_json
    from tinyengine_tflite.measure import benchmark_model

    b = benchmark_model(str(s.model_path), name=f"{s.task.name}_model", part=s.part.name, plot_dir=s.plots,
                        cortexm=shutil.which("arm-none-eabi-gcc") is not None,
                        progress=lambda stage: s.progress.set_postfix_str(f"benchmark: {stage}"))
    write_json(s.out / "bench.json", b)
    res = s.results
    res.bench = BenchSummary.of(b, s.options.cortexm_mhz)
    if b.plot:
        target = s.plots / "memory_per_layer.png"
        shutil.move(b.plot, target)
        res.plots["memory_per_layer"] = str(target)
    for k, v in b.errors.items():
        res.errors[f"bench {k}"] = v


STAGES = (Stage("data", load_data), Stage("search", search_or_train), Stage("float accuracy", float_accuracy),
          Stage("QAT", qat), Stage("int8 export", int8_export), Stage("int8 accuracy", int8_accuracy_stage),
          Stage("deploy C", deploy_c), Stage("Cortex-M firmware", cortexm_firmware), Stage("benchmark", benchmark))


def run_pipeline(task: SampleTask, budget: PipelineBudget, out_dir, *, arch_file=None, resume: bool = False,
                 part: str = DEFAULT_PART, cortexm_mhz: float = DEFAULT_CORTEXM_MHZ, bench: bool = True,
                 count_app_instructions: bool = False, seed: int = 0, verbose: int = 1) -> Results:
    """Run every stage for ``task`` (see the module docstring) into ``out_dir``; returns the Results (also
    written to out_dir/results.json, with the table in out_dir/results.md)."""
    from tinyengine_tflite.parts import get_part

    t_start = time.perf_counter()
    options = RunOptions(arch_file, resume, part, cortexm_mhz, bench, count_app_instructions, seed, verbose)
    part_info = get_part(part)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"output folder {out} exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    plots = out / "plots"
    plots.mkdir(exist_ok=True)
    res = Results(task.name, task.title, task.describe(), task.eval_split, 0, asdict(budget), part_info.name)
    with tqdm(total=len(STAGES), desc=f"{task.name} pipeline", unit="stage", position=0, leave=True) as bar:
        state = PipelineState(task, budget, options, out, plots, part_info, res, bar)
        for stage in STAGES:
            bar.set_postfix_str(stage.name)
            state.say(f"\n=== {task.name}: {stage.name} ===")
            started = time.perf_counter()
            stage.run(state)
            res.timings_s[stage.name] = round(time.perf_counter() - started, 2)
            bar.update(1)
    res.timings_s["total"] = round(time.perf_counter() - t_start, 1)
    res.write(out, cortexm_mhz)
    return res


def run_from_args(task: SampleTask, args) -> Results:
    """Run the pipeline for a command line's parsed ``args`` and print the table."""
    res = run_pipeline(task, budget_from_args(args), args.out, arch_file=args.arch, resume=args.resume,
                       part=args.part, cortexm_mhz=args.cortexm_mhz, bench=not args.no_bench,
                       count_app_instructions=args.count_app_instructions, seed=args.seed,
                       verbose=0 if args.quiet else 1)
    print()
    print(render_table(res, args.cortexm_mhz))
    print(f"\nresults: {Path(args.out) / 'results.md'}, {Path(args.out) / 'results.json'}; deploy folder: "
          f"{res.deploy.folder if res.deploy else None}")
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
