"""Benchmark measurements of the generated code against TensorFlow Lite for Microcontrollers, as dataclasses.

Per model, in one process run: peak SRAM (tinyengine's arena against TFLM's smallest working arena, found by
bisection, and the lower bound of layer-by-layer execution), flash of a Cortex-M7 build at -Os (code vs
weights) against the flatbuffer, host latency (tinyengine -O2 vs tflite_micro reference kernels vs LiteRT's
default kernels), the Cortex-M4 -O2 build emulated (instructions, estimated cycles, per-layer profile), and
live bytes per operator for the memory plot. Nothing here renders; tinyengine_tflite.bench_markdown does."""
from __future__ import annotations

import datetime
import math
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .cortexm import CortexMRun
from .firmware_build import SIZE_OPT, FirmwareSizes
from .parts import DEFAULT_PART

FLASH_CPU = "cortex-m7"


@dataclass
class BenchOptions:
    """The benchmark's settings; the command line's defaults are these."""
    repeats: int = 20                        # timed host invokes per engine (median)
    warmup: int = 2
    latency_budget_s: float = 20.0           # stop timing an engine after this many seconds (>= 3 runs)
    cortexm: bool = True                     # build, flash and emulate on Cortex-M
    part: str = DEFAULT_PART
    emulation_timeout_s: float | None = 900.0
    arena_granularity: int = 1               # TFLM arena bisection step, bytes
    seed: int = 0


# --- results ------------------------------------------------------------------------------------------------

@dataclass
class PeakLayer:
    index: int
    op: str
    live_bytes: int
    input_shapes: list[list[int]]
    output_shapes: list[list[int]]


@dataclass
class Conversion:
    """tinyengine's side: the memory report of the conversion."""
    peak_sram_bytes: int
    arena_bytes: int
    no_inplace_arena_bytes: int
    lower_bound_bytes: int
    plan_strategy: str
    const_bytes: int
    weight_bytes: int
    macs: int
    layers: int
    inplace_layers: int
    peak_layer: PeakLayer | None
    patch_peak_sram_bytes: int | None = None   # patches="auto": the patch-based peak (None: layer-wise is smaller)
    patch_plan: str | None = None              # its split and grid, ROWSxCOLS@LAYER
    patch_mac_overhead: float | None = None    # its recomputed MACs over the layer-wise MACs


@dataclass
class SramComparison:
    """TFLM's side of peak SRAM, and the ratios once tinyengine's peak is known."""
    tflm_arena_bytes: int
    tflm_search_probes: int
    tflm_search_granularity: int
    float_io: bool
    tflm_like_for_like_bytes: int            # the int8-I/O arena for a float-I/O model, else the arena
    tflm_arena_int8_io_bytes: int | None = None
    tflm_head_bytes: int | None = None
    tflm_tail_bytes: int | None = None
    tflm_allocated_bytes: int | None = None
    tflm_allocation_lines: list[str] = field(default_factory=list)
    tflm_int8_io_head_bytes: int | None = None
    tflm_int8_io_tail_bytes: int | None = None
    tinyengine_peak_bytes: int | None = None
    lower_bound_bytes: int | None = None
    ratio: float | None = None               # like-for-like TFLM arena / tinyengine peak
    ratio_original_io: float | None = None
    planner_over_lower_bound: float | None = None


@dataclass
class Flash(FirmwareSizes):
    """The -Os Cortex-M7 firmware's sizes against the flatbuffer."""
    tflm_flatbuffer_bytes: int
    compiler_warnings: str
    weights_within_flatbuffer: bool
    total_within_flatbuffer: bool


@dataclass
class EngineTiming:
    median_ms: float
    min_ms: float
    runs: int


@dataclass
class HostLatency:
    repeats: int
    warmup: int
    tinyengine: EngineTiming
    tflm: EngineTiming
    litert: EngineTiming
    speedup_vs_tflm: float | None
    speedup_vs_litert: float | None


@dataclass
class LayerMemory:
    """Live bytes per operator on the like-for-like graph (int8 I/O); x is the TFLite operator index."""
    graph: str                               # "as is" or "int8 I/O rewrite"
    tflm_ops: list[str]
    tflm_live: list[int]
    tinyengine: list[tuple[int, int]]
    tinyengine_arena: int
    tinyengine_no_inplace: list[tuple[int, int]]
    tinyengine_no_inplace_arena: int
    tinyengine_patches: list[tuple[int, int]] = field(default_factory=list)   # patch-based (auto), when chosen
    tinyengine_patches_arena: int | None = None


@dataclass
class ModelBenchmark:
    model: str
    file: str | None
    flatbuffer_bytes: int
    status: str = "ok"                       # "ok", "partial" (a stage failed), "failed" (no conversion)
    errors: dict[str, str] = field(default_factory=dict)
    tinyengine: Conversion | None = None
    sram: SramComparison | None = None
    flash: Flash | None = None
    latency: HostLatency | None = None
    cortexm: CortexMRun | None = None
    layers: LayerMemory | None = None
    plot: str | None = None


@dataclass
class Environment:
    date: str
    cpu: str
    cpu_count: int | None
    platform: str
    python: str
    versions: dict[str, str]                 # package or tool -> version
    commit: str | None


@dataclass
class TargetResult:
    target: str
    measured: str
    met: bool | None                         # None: not measured (or not on every model)
    value: float | None = None


@dataclass
class Suite:
    environment: Environment
    options: BenchOptions
    models: list[ModelBenchmark]
    targets: list[TargetResult] = field(default_factory=list)
    command: str | None = None
    notes: list[str] = field(default_factory=list)


# --- host latency ---------------------------------------------------------------------------------------------

def _time_invokes(invoke, repeats: int, warmup: int, budget_s: float) -> EngineTiming:
    """Median of `repeats` timed calls after `warmup` untimed ones; stops early (after at least 3) when the timed
    calls exceed budget_s seconds in all."""
    for _ in range(warmup):
        invoke()
    times = []
    start = time.perf_counter()
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        invoke()
        times.append(time.perf_counter() - t0)
        if len(times) >= 3 and time.perf_counter() - start > budget_s:
            break
    return EngineTiming(statistics.median(times) * 1e3, min(times) * 1e3, len(times))


def host_latency(model: bytes, repeats: int = BenchOptions.repeats, warmup: int = BenchOptions.warmup,
                 budget_s: float = BenchOptions.latency_budget_s, seed: int = BenchOptions.seed,
                 tflm_arena: int | None = None) -> HostLatency:
    """Median invoke time (ms) of tinyengine (generated C at -O2, via tinyengine_tflite.Interpreter),
    tflite_micro (reference kernels) and LiteRT (default optimized kernels, one thread), on the same random
    input in this process, with tflite_micro / tinyengine and LiteRT / tinyengine ratios."""
    from ai_edge_litert.interpreter import Interpreter as LiteRT

    from .interpreter import Interpreter
    from .tflm_baseline import io_details, tflm_interpreter

    ins, _ = io_details(model)
    rng = np.random.default_rng(seed)
    xs = [rng.integers(-128, 128, d["shape"]).astype(np.int8) if d["dtype"] == np.int8
          else rng.uniform(-1, 1, d["shape"]).astype(np.float32) for d in ins]

    te = Interpreter(model_content=model)
    te.allocate_tensors()
    for d, x in zip(te.get_input_details(), xs):
        te.set_tensor(d["index"], x)
    t_te = _time_invokes(te.invoke, repeats, warmup, budget_s)

    tflm = tflm_interpreter(model, tflm_arena or len(model) * 10)
    for k, x in enumerate(xs):
        tflm.set_input(x, k)
    t_tflm = _time_invokes(tflm.invoke, repeats, warmup, budget_s)

    lr = LiteRT(model_content=model, num_threads=1)
    lr.allocate_tensors()
    for d, x in zip(lr.get_input_details(), xs):
        lr.set_tensor(d["index"], x)
    t_lr = _time_invokes(lr.invoke, repeats, warmup, budget_s)

    ms = t_te.median_ms
    return HostLatency(repeats, warmup, t_te, t_tflm, t_lr, t_tflm.median_ms / ms if ms > 0 else None,
                       t_lr.median_ms / ms if ms > 0 else None)


# --- memory -----------------------------------------------------------------------------------------------------

def sram_comparison(buf: bytes, name: str, granularity: int = BenchOptions.arena_granularity) -> SramComparison:
    """TFLM's side of peak SRAM: smallest arena (and on the int8-I/O rewrite of a float-I/O model), TFLM's own
    head/tail split."""
    from .tflm_baseline import has_float_io, smallest_arena, strip_float_io, tflm_allocations

    search = smallest_arena(buf, granularity=granularity, name=name)
    out = SramComparison(search.arena_bytes, search.probes, search.granularity, has_float_io(buf),
                         search.arena_bytes)
    alloc = tflm_allocations(buf, search.arena_bytes)
    if alloc is not None:
        out.tflm_head_bytes, out.tflm_tail_bytes = alloc.head, alloc.tail
        out.tflm_allocated_bytes, out.tflm_allocation_lines = alloc.total, alloc.lines
    if out.float_io:
        int8_buf = strip_float_io(buf, name)
        out.tflm_arena_int8_io_bytes = smallest_arena(int8_buf, granularity=granularity, name=name).arena_bytes
        out.tflm_like_for_like_bytes = out.tflm_arena_int8_io_bytes
        alloc8 = tflm_allocations(int8_buf, out.tflm_arena_int8_io_bytes)
        if alloc8 is not None:
            out.tflm_int8_io_head_bytes, out.tflm_int8_io_tail_bytes = alloc8.head, alloc8.tail
    return out


def per_layer_memory(buf: bytes, name: str) -> LayerMemory:
    """Live bytes per operator on the like-for-like graph (int8 I/O): TFLM's plan, tinyengine's schedule, and
    tinyengine without in-place depthwise; x is the TFLite operator index of that graph."""
    from .compiler import compile_model
    from .report import make_report
    from .tflm_baseline import strip_float_io, tflm_live_bytes

    g = strip_float_io(buf, name)
    ops, tflm_live = tflm_live_bytes(g)
    curves = []
    for inplace, patches in ((True, None), (False, None), (True, "auto")):
        lowered, sched = compile_model(g, inplace=inplace, patches=patches)
        if patches and sched.patches is None:
            break
        rep = make_report(lowered, sched)
        pts: dict[int, int] = {}
        stage = [ly.op_index for ly in lowered.layers if ly.op_index >= 0][:1]
        for layer, lr in zip(lowered.layers, rep.layers):
            # the patch stage's copies (no operator) count at the stage's first operator
            op = layer.op_index if layer.op_index >= 0 else stage[0] if stage else 0
            pts[op] = max(pts.get(op, 0), lr.live_bytes)
        curves += [sorted(pts.items()), rep.peak_sram_bytes]
    return LayerMemory("int8 I/O rewrite" if g != buf else "as is", ops, tflm_live, *curves)


def convert_stage(buf: bytes) -> Conversion:
    from .compiler import compile_model
    from .report import make_report

    lowered, sched = compile_model(buf)
    rep = make_report(lowered, sched)
    _, sched_no = compile_model(buf, inplace=False)
    peak = None
    if rep.layers:
        top = max(rep.layers, key=lambda lr: lr.live_bytes)      # the first layer with the most live bytes
        peak = PeakLayer(top.index, top.op, top.live_bytes, [list(x) for x in top.input_shapes],
                         [list(x) for x in top.output_shapes])
    conv = Conversion(rep.peak_sram_bytes, rep.arena_bytes, sched_no.arena_bytes, rep.lower_bound_bytes,
                      rep.plan_strategy, rep.flash_bytes, rep.weight_bytes, rep.macs, len(rep.layers),
                      sum(lr.inplace for lr in rep.layers), peak)
    patched = make_report(*compile_model(buf, patches="auto"))
    if patched.patches is not None:
        p = patched.patches
        conv.patch_peak_sram_bytes, conv.patch_plan = patched.peak_sram_bytes, p.plan
        conv.patch_mac_overhead = p.mac_overhead
    return conv


def flash_stage(buf: bytes, name: str, part) -> Flash:
    from .firmware_build import build_firmware
    with tempfile.TemporaryDirectory(prefix="te-flash-") as tmp:
        fw = build_firmware(buf, tmp, cpu=FLASH_CPU, part=part, name=name, opt=SIZE_OPT)
    return Flash(**vars(fw.sizes()), tflm_flatbuffer_bytes=len(buf), compiler_warnings=fw.warnings,
                 weights_within_flatbuffer=fw.weights_bytes <= len(buf),
                 total_within_flatbuffer=fw.flash_bytes <= len(buf))


# --- one model, the suite -----------------------------------------------------------------------------------------

def model_name(model, name: str | None = None) -> str:
    if name:
        return name
    if isinstance(model, (bytes, bytearray, memoryview)):
        return "model"
    return Path(model).stem


def _error_text(e: BaseException) -> str:
    text = str(e).strip() or type(e).__name__
    return f"{type(e).__name__}: {text}" if not isinstance(e, (RuntimeError, ValueError)) else text


def safe_file_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name) or "model"


def benchmark_model(model, name: str | None = None, options: BenchOptions | None = None, *, plot_dir=None,
                    progress=None, **overrides) -> ModelBenchmark:
    """Benchmark one int8 .tflite (path or bytes) against TFLite Micro.

    `options` (or keyword overrides of its fields, e.g. repeats=3, cortexm=False). A model tinyengine cannot
    convert has status "failed" (TFLM's numbers are still measured); a stage that fails records its error in
    `errors` and the others still run (status "partial"). `progress(stage)` is called as stages start."""
    from .reader import load_model_bytes

    opts = _options(options, overrides)
    buf, _ = load_model_bytes(model)
    name = model_name(model, name)
    say = progress or (lambda stage: None)
    res = ModelBenchmark(name, None if isinstance(model, (bytes, bytearray, memoryview)) else str(model), len(buf))

    def stage(key, fn):
        say(key)
        try:
            return fn()
        except Exception as e:  # noqa: BLE001 - every stage reports its own failure and the rest go on
            res.errors[key] = _error_text(e).replace("model '<bytes>'", f"model {name!r}")
            if os.environ.get("TINYENGINE_BENCH_TRACEBACK"):
                traceback.print_exc()
            return None

    te = res.tinyengine = stage("convert", lambda: convert_stage(buf))
    if te is None:
        res.status = "failed"
    sram = res.sram = stage("tflm_arena", lambda: sram_comparison(buf, name, opts.arena_granularity))
    if te is not None and sram is not None:
        peak = te.peak_sram_bytes
        sram.tinyengine_peak_bytes, sram.lower_bound_bytes = peak, te.lower_bound_bytes
        sram.ratio = sram.tflm_like_for_like_bytes / peak if peak else None
        sram.ratio_original_io = sram.tflm_arena_bytes / peak if peak else None
        sram.planner_over_lower_bound = peak / te.lower_bound_bytes if te.lower_bound_bytes else None
    if te is not None and opts.cortexm:
        res.flash = stage("flash", lambda: flash_stage(buf, name, opts.part))
    if te is not None:
        res.latency = stage("latency", lambda: host_latency(buf, opts.repeats, opts.warmup, opts.latency_budget_s,
                                                            opts.seed, sram.tflm_arena_bytes if sram else None))
    if te is not None and opts.cortexm:
        from .cortexm import run_on_cortexm
        res.cortexm = stage("cortexm", lambda: run_on_cortexm(buf, part=opts.part, name=name, seed=opts.seed,
                                                              timeout_s=opts.emulation_timeout_s or None))
    if te is not None:
        res.layers = stage("layers", lambda: per_layer_memory(buf, name))
        if res.layers is not None and plot_dir is not None:
            def plot_stage():
                from .memplot import plot_memory
                lay = res.layers
                note = "float I/O model: all curves on its int8-I/O rewrite" if lay.graph != "as is" else ""
                return plot_memory(Path(plot_dir) / f"{safe_file_name(name)}.png", name, lay.tflm_ops,
                                   lay.tflm_live, lay.tinyengine, lay.tinyengine_no_inplace,
                                   sram.tflm_like_for_like_bytes if sram else None, te.peak_sram_bytes,
                                   te.lower_bound_bytes, note, lay.tinyengine_patches,
                                   lay.tinyengine_patches_arena and te.patch_plan and
                                   (lay.tinyengine_patches_arena, te.patch_plan))
            res.plot = stage("plot", plot_stage)
    if res.errors and res.status == "ok":
        res.status = "partial"
    return res


def _options(options: BenchOptions | None, overrides: dict) -> BenchOptions:
    import dataclasses
    opts = options or BenchOptions()
    unknown = set(overrides) - {f.name for f in dataclasses.fields(BenchOptions)}
    if unknown:
        raise TypeError(f"unknown benchmark option(s): {', '.join(sorted(unknown))}")
    opts = dataclasses.replace(opts, **overrides)
    from .parts import get_part
    opts.part = get_part(opts.part).name
    return opts


def benchmark(models, options: BenchOptions | None = None, *, targets=None, plot_dir=None, progress: bool = True,
              **overrides) -> Suite:
    """Benchmark several models (paths); `targets`: a target list (tinyengine_tflite.bench_targets) to judge."""
    from tqdm import tqdm

    from .bench_targets import evaluate_targets
    opts = _options(options, overrides)
    results = []
    bar = tqdm(list(models), desc="bench", unit="model", disable=not progress, file=sys.stderr, dynamic_ncols=True)
    for m in bar:
        name = model_name(m)
        bar.set_postfix_str(name)
        results.append(benchmark_model(m, name, opts, plot_dir=plot_dir,
                                       progress=lambda stage, n=name: bar.set_postfix_str(f"{n}: {stage}")))
    bar.close()
    return Suite(environment(), opts, results, evaluate_targets(results, targets or []))


# --- the machine ------------------------------------------------------------------------------------------------

def _version(dist: str) -> str:
    from importlib import metadata
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def _tool_version(cmd) -> str:
    if shutil.which(cmd[0]) is None:
        return "not installed"
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    text = r.stdout or r.stderr
    return text.splitlines()[0].strip() if text else "unknown"


def environment() -> Environment:
    from .build import compiler
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    commit = None
    try:
        r = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=10,
                           cwd=Path(__file__).resolve().parent)
        commit = r.stdout.strip() or None
    except (OSError, subprocess.TimeoutExpired):
        pass
    versions = {d: _version(d) for d in ("tensorflow", "ai-edge-litert", "tflite-micro", "numpy", "unicorn")}
    versions["gcc"] = _tool_version([compiler(), "--version"])
    versions["arm-none-eabi-gcc"] = _tool_version(["arm-none-eabi-gcc", "--version"])
    return Environment(datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), cpu,
                       os.cpu_count(), platform.platform(), platform.python_version(), versions, commit)


def geomean(values) -> float | None:
    values = [v for v in values if v]
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else None
