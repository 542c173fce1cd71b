"""Benchmark the generated code against TensorFlow Lite for Microcontrollers on the same int8 models.

Per model, in one process run: peak SRAM (tinyengine's arena against TFLM's smallest working arena, found by
bisection, and the lower bound of layer-by-layer execution), flash of a Cortex-M7 build (code vs weights)
against the flatbuffer, host latency (tinyengine -O2 vs tflite_micro reference kernels vs LiteRT's default
kernels) and Cortex-M4 instructions per inference in an emulator, plus the memory-per-layer plot.

Python: `benchmark_model(path_or_bytes, ...) -> dict`, `benchmark(paths, ...) -> dict`, `write_markdown`,
`write_json`. Command line: `tinyengine-tflite bench MODEL.tflite ... [--json F] [--markdown F] [--plot DIR]`."""
from __future__ import annotations

import datetime
import json
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
from pathlib import Path

import numpy as np

from .markdown_sections import write_keeping_sections

KB = 1024
VWW_TARGET_BYTES = 92 * KB          # TinyEngine's published peak SRAM for MCUNet VWW (92 kB)
SRAM_RATIO_TARGET = 2.0
HOST_SPEEDUP_TARGET = 5.0
FLASH_CODE_TARGET_MIN_MODEL = 50 * KB


# --- host latency -----------------------------------------------------------------------------------------------

def _time_invokes(invoke, repeats: int, warmup: int, budget_s: float) -> dict:
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
    return {"median_ms": statistics.median(times) * 1e3, "min_ms": min(times) * 1e3, "runs": len(times)}


def host_latency(model: bytes, repeats: int = 20, warmup: int = 2, budget_s: float = 20.0, seed: int = 0,
                 tflm_arena: int | None = None) -> dict:
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
    out: dict = {"repeats": repeats, "warmup": warmup}

    te = Interpreter(model_content=model)
    te.allocate_tensors()
    for d, x in zip(te.get_input_details(), xs):
        te.set_tensor(d["index"], x)
    out["tinyengine"] = _time_invokes(te.invoke, repeats, warmup, budget_s)

    tflm = tflm_interpreter(model, tflm_arena or len(model) * 10)
    for k, x in enumerate(xs):
        tflm.set_input(x, k)
    out["tflm"] = _time_invokes(tflm.invoke, repeats, warmup, budget_s)

    lr = LiteRT(model_content=model, num_threads=1)
    lr.allocate_tensors()
    for d, x in zip(lr.get_input_details(), xs):
        lr.set_tensor(d["index"], x)
    out["litert"] = _time_invokes(lr.invoke, repeats, warmup, budget_s)

    te_ms = out["tinyengine"]["median_ms"]
    out["speedup_vs_tflm"] = out["tflm"]["median_ms"] / te_ms if te_ms > 0 else None
    out["speedup_vs_litert"] = out["litert"]["median_ms"] / te_ms if te_ms > 0 else None
    return out


# --- one model ----------------------------------------------------------------------------------------------------

def _model_name(model, name):
    if name:
        return name
    if isinstance(model, (bytes, bytearray, memoryview)):
        return "model"
    return Path(model).stem


def _error_text(e: BaseException) -> str:
    text = str(e).strip() or type(e).__name__
    return f"{type(e).__name__}: {text}" if not isinstance(e, (RuntimeError, ValueError)) else text


def sram_comparison(buf: bytes, name: str, granularity: int = 1) -> dict:
    """TFLM's side of peak SRAM: smallest arena (and on the int8-I/O rewrite of a float-I/O model), TFLM's own
    head/tail split, and TFLM-style live bytes per operator."""
    from .tflm_baseline import has_float_io, smallest_arena, strip_float_io, tflm_allocations

    out: dict = {}
    search = smallest_arena(buf, granularity=granularity, name=name)
    out["tflm_arena_bytes"] = search.arena_bytes
    out["tflm_search_probes"] = search.probes
    out["tflm_search_granularity"] = search.granularity
    alloc = tflm_allocations(buf, search.arena_bytes)
    if alloc is not None:
        out.update(tflm_head_bytes=alloc.head, tflm_tail_bytes=alloc.tail, tflm_allocated_bytes=alloc.total,
                   tflm_allocation_lines=alloc.lines)
    out["float_io"] = has_float_io(buf)
    out["tflm_arena_int8_io_bytes"] = None
    if out["float_io"]:
        int8_buf = strip_float_io(buf, name)
        out["tflm_arena_int8_io_bytes"] = smallest_arena(int8_buf, granularity=granularity, name=name).arena_bytes
        alloc8 = tflm_allocations(int8_buf, out["tflm_arena_int8_io_bytes"])
        if alloc8 is not None:
            out.update(tflm_int8_io_head_bytes=alloc8.head, tflm_int8_io_tail_bytes=alloc8.tail)
    out["tflm_like_for_like_bytes"] = out["tflm_arena_int8_io_bytes"] or out["tflm_arena_bytes"]
    return out


def per_layer_memory(buf: bytes, name: str) -> dict:
    """Live bytes per operator on the like-for-like graph (int8 I/O): TFLM-style plan, tinyengine's schedule,
    and tinyengine without in-place depthwise; x is the TFLite operator index of that graph."""
    from .compiler import compile_model
    from .report import make_report
    from .tflm_baseline import strip_float_io, tflm_live_bytes

    g = strip_float_io(buf, name)
    ops, tflm_live = tflm_live_bytes(g)
    out = {"graph": "int8 I/O rewrite" if g != buf else "as is", "tflm_ops": ops, "tflm_live": tflm_live}
    for key, inplace in (("tinyengine", True), ("tinyengine_no_inplace", False)):
        lowered, sched = compile_model(g, inplace=inplace)
        rep = make_report(lowered, sched)
        pts: dict[int, int] = {}
        for layer, lr in zip(lowered.layers, rep.layers):
            pts[layer.op_index] = max(pts.get(layer.op_index, 0), lr.live_bytes)
        out[key] = sorted(pts.items())
        out[key + "_arena"] = rep.peak_sram_bytes
    return out


def benchmark_model(model, name: str | None = None, *, repeats: int = 20, warmup: int = 2,
                    latency_budget_s: float = 20.0, cortexm: bool = True, part="stm32f746",
                    emulation_timeout_s: float | None = 900.0, plot_dir=None, seed: int = 0,
                    arena_granularity: int = 1, progress=None) -> dict:
    """Benchmark one int8 .tflite (path or bytes) against TFLite Micro; returns a JSON-able dict.

    Keys: model, flatbuffer_bytes, status ("ok", or "failed" when tinyengine cannot convert it; TFLM's numbers
    are still measured), errors (stage -> message), tinyengine (the memory report), sram, flash, latency,
    cortexm, layers (per-operator live bytes) and plot (PNG path, when plot_dir is given). A stage that fails
    records its error and the others still run. `progress(stage)` is called as stages start."""
    from .compiler import compile_model
    from .reader import load_model_bytes
    from .report import make_report

    buf, _ = load_model_bytes(model)
    name = _model_name(model, name)
    say = progress or (lambda stage: None)
    res: dict = {"model": name, "file": None if isinstance(model, (bytes, bytearray, memoryview)) else str(model),
                 "flatbuffer_bytes": len(buf), "status": "ok", "errors": {}}

    def stage(key, fn):
        say(key)
        try:
            return fn()
        except Exception as e:  # noqa: BLE001 - every stage reports its own failure and the rest go on
            res["errors"][key] = _error_text(e).replace("model '<bytes>'", f"model {name!r}")
            if os.environ.get("TINYENGINE_BENCH_TRACEBACK"):
                traceback.print_exc()
            return None

    def convert_stage():
        lowered, sched = compile_model(buf)
        rep = make_report(lowered, sched)
        _, sched_no = compile_model(buf, inplace=False)
        return {"peak_sram_bytes": rep.peak_sram_bytes, "arena_bytes": rep.arena_bytes,
                "no_inplace_arena_bytes": sched_no.arena_bytes, "lower_bound_bytes": rep.lower_bound_bytes,
                "plan_strategy": rep.plan_strategy, "const_bytes": rep.flash_bytes, "weight_bytes": rep.weight_bytes,
                "macs": rep.macs, "layers": len(rep.layers), "inplace_layers": sum(lr.inplace for lr in rep.layers),
                "peak_layer": _peak_layer(rep)}

    te = stage("convert", convert_stage)
    res["tinyengine"] = te
    if te is None:
        res["status"] = "failed"
    sram = stage("tflm_arena", lambda: sram_comparison(buf, name, arena_granularity)) or {}
    if te is not None and sram:
        base = sram["tflm_like_for_like_bytes"]
        sram["tinyengine_peak_bytes"] = te["peak_sram_bytes"]
        sram["lower_bound_bytes"] = te["lower_bound_bytes"]
        sram["ratio"] = base / te["peak_sram_bytes"] if te["peak_sram_bytes"] else None
        sram["ratio_original_io"] = sram["tflm_arena_bytes"] / te["peak_sram_bytes"] if te["peak_sram_bytes"] else None
        sram["planner_over_lower_bound"] = te["peak_sram_bytes"] / te["lower_bound_bytes"] \
            if te["lower_bound_bytes"] else None
    res["sram"] = sram

    res["flash"] = None
    if te is not None and cortexm:
        def flash_stage():
            from .cortexm import build_firmware, get_part
            with tempfile.TemporaryDirectory(prefix="te-flash-") as tmp:
                fw = build_firmware(buf, tmp, cpu="cortex-m7", part=get_part(part), name=name)
            return {"cpu": "cortex-m7", **fw.summary(), "tflm_flatbuffer_bytes": len(buf),
                    "compiler_warnings": fw.warnings,
                    "weights_within_flatbuffer": fw.weights_bytes <= len(buf),
                    "total_within_flatbuffer": fw.flash_bytes <= len(buf)}
        res["flash"] = stage("flash", flash_stage)

    res["latency"] = None
    if te is not None:
        res["latency"] = stage("latency", lambda: host_latency(buf, repeats, warmup, latency_budget_s, seed,
                                                               sram.get("tflm_arena_bytes")))

    res["cortexm"] = None
    if te is not None and cortexm:
        def emu_stage():
            from .cortexm import run_on_cortexm
            return run_on_cortexm(buf, part=part, name=name, seed=seed, timeout_s=emulation_timeout_s)
        res["cortexm"] = stage("cortexm", emu_stage)

    res["layers"] = None
    res["plot"] = None
    if te is not None:
        res["layers"] = stage("layers", lambda: per_layer_memory(buf, name))
        if res["layers"] is not None and plot_dir is not None:
            def plot_stage():
                from .memplot import plot_memory
                lay = res["layers"]
                note = "float I/O model: all curves on its int8-I/O rewrite" if lay["graph"] != "as is" else ""
                return plot_memory(Path(plot_dir) / f"{_safe_file(name)}.png", name, lay["tflm_ops"],
                                   lay["tflm_live"], lay["tinyengine"], lay["tinyengine_no_inplace"],
                                   sram.get("tflm_like_for_like_bytes"), te["peak_sram_bytes"],
                                   te["lower_bound_bytes"], note)
            res["plot"] = stage("plot", plot_stage)
    if res["errors"] and res["status"] == "ok":
        res["status"] = "partial"
    return res


def _peak_layer(rep) -> dict | None:
    """The first layer with the most live bytes: where the arena is decided."""
    if not rep.layers:
        return None
    top = max(rep.layers, key=lambda lr: lr.live_bytes)
    return {"index": top.index, "op": top.op, "live_bytes": top.live_bytes,
            "input_shapes": [list(x) for x in top.input_shapes], "output_shapes": [list(x) for x in top.output_shapes]}


def _safe_file(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name) or "model"


# --- the suite ---------------------------------------------------------------------------------------------------

def _version(dist: str) -> str:
    from importlib import metadata
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def _tool_version(cmd) -> str:
    exe = shutil.which(cmd[0])
    if exe is None:
        return "not installed"
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return (r.stdout or r.stderr).splitlines()[0].strip() if (r.stdout or r.stderr) else "unknown"


def environment() -> dict:
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    from .build import compiler
    commit = None
    try:
        r = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=10,
                           cwd=Path(__file__).resolve().parent)
        commit = r.stdout.strip() or None
    except (OSError, subprocess.TimeoutExpired):
        pass
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu, "cpu_count": os.cpu_count(), "platform": platform.platform(),
        "python": platform.python_version(),
        "tensorflow": _version("tensorflow"), "ai-edge-litert": _version("ai-edge-litert"),
        "tflite-micro": _version("tflite-micro"), "numpy": _version("numpy"), "unicorn": _version("unicorn"),
        "gcc": _tool_version([compiler(), "--version"]),
        "arm-none-eabi-gcc": _tool_version(["arm-none-eabi-gcc", "--version"]),
        "commit": commit,
    }


def geomean(values) -> float | None:
    values = [v for v in values if v]
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else None


def _met(passed: bool, nothing_measured: bool, missing) -> bool | None:
    """False when the measured models miss; None when nothing (or not every model) could be measured."""
    if nothing_measured:
        return None
    if not passed:
        return False
    return None if missing else True


def evaluate_targets(results: list[dict]) -> list[dict]:
    """The benchmark targets, each with met (True/False/None when it could not be measured) and the numbers."""
    targets = []
    ok = [r for r in results if r.get("sram", {}).get("ratio")]
    missing = [r["model"] for r in results if not r.get("sram", {}).get("ratio")]
    gm = geomean([r["sram"]["ratio"] for r in ok])
    gm_orig = geomean([r["sram"]["ratio_original_io"] for r in ok])
    # Models where TFLM's persistent runtime data (tail) outweighs its planned activations (head): their large
    # ratios come from TFLM's runtime, not from the planner; the mean without them shows the planner's share.
    heavy = [r for r in ok if r["sram"].get("tflm_tail_bytes", 0) > r["sram"].get("tflm_head_bytes", 1 << 62)]
    gm_light = geomean([r["sram"]["ratio"] for r in ok if r not in heavy])
    targets.append({
        "target": f"Peak SRAM: geometric mean of TFLM arena / tinyengine peak >= {SRAM_RATIO_TARGET:g} over the suite",
        "measured": (f"{gm:.2f}x over {len(ok)} models (like for like: int8-I/O TFLM arena for float-I/O models; "
                     f"{gm_orig:.2f}x against TFLM on the original files)" if gm else "not measured")
        + (f"; {gm_light:.2f}x without the {len(heavy)} models whose TFLM arena is mostly TFLM's persistent "
           f"runtime data ({', '.join(r['model'] for r in heavy)})" if heavy and gm_light else "")
        + (f"; not measured: {', '.join(missing)}" if missing else ""),
        "met": _met(gm is not None and gm >= SRAM_RATIO_TARGET, not ok, missing),
        "value": gm})
    vww = [r for r in results if r["model"] == "mcunet_vww_tinyengine"]
    if vww:
        te = (vww[0].get("tinyengine") or {}).get("peak_sram_bytes")
        tflm = (vww[0].get("sram") or {}).get("tflm_arena_bytes")
        targets.append({
            "target": f"Peak SRAM: mcunet_vww_tinyengine at or below 92 KB ({VWW_TARGET_BYTES:,} B; TFLM needs 225 KB)",
            "measured": f"{te:,} B ({te / KB:.1f} KB); TFLM {tflm:,} B" if te and tflm else
            (f"{te:,} B" if te else "not measured: " + "; ".join(vww[0]["errors"].values())),
            "met": (te <= VWW_TARGET_BYTES) if te else None, "value": te})
    fl = [r for r in results if r.get("flash")]
    fl_missing = [r["model"] for r in results if not r.get("flash")]
    over = [f"{r['model']} ({r['flash']['weights_bytes']:,} > {r['flatbuffer_bytes']:,})" for r in fl
            if r["flash"]["weights_bytes"] > r["flatbuffer_bytes"]]
    targets.append({
        "target": "Flash: weights and constants at or below the flatbuffer size, every model",
        "measured": (f"{len(fl) - len(over)}/{len(fl)} models within" + (f"; over: {', '.join(over)}" if over else "")
                     + (f"; not measured: {', '.join(fl_missing)}" if fl_missing else "")),
        "met": _met(not over, not fl, fl_missing)})
    big = [r for r in fl if r["flatbuffer_bytes"] >= FLASH_CODE_TARGET_MIN_MODEL]
    over = [f"{r['model']} ({r['flash']['flash_bytes']:,} > {r['flatbuffer_bytes']:,})" for r in big
            if r["flash"]["flash_bytes"] > r["flatbuffer_bytes"]]
    big_missing = [r["model"] for r in results
                   if not r.get("flash") and r["flatbuffer_bytes"] >= FLASH_CODE_TARGET_MIN_MODEL]
    targets.append({
        "target": "Flash: code + weights at or below the flatbuffer size, every model of 50 KB or more",
        "measured": (f"{len(big) - len(over)}/{len(big)} models within" + (f"; over: {', '.join(over)}" if over else "")
                     + (f"; not measured: {', '.join(big_missing)}" if big_missing else "")),
        "met": _met(not over, not big, big_missing)})
    mc = [r for r in results if r["model"].startswith("mcunet")]
    if mc:
        parts, slow, measured = [], [], []
        for r in mc:
            s = (r.get("latency") or {}).get("speedup_vs_tflm")
            parts.append(f"{r['model']} {s:.1f}x" if s else f"{r['model']} not measured")
            if s:
                measured.append(r["model"])
                if s < HOST_SPEEDUP_TARGET:
                    slow.append(r["model"])
        targets.append({"target": f"Host latency: at least {HOST_SPEEDUP_TARGET:g}x faster than tflite_micro "
                                  "(reference kernels) on the MCUNet models",
                        "measured": "; ".join(parts),
                        "met": _met(not slow, not measured, len(measured) < len(mc))})
    return targets


def benchmark(models, *, plot_dir=None, progress: bool = True, **kw) -> dict:
    """Benchmark several models (paths); returns {"environment", "options", "models": [...], "targets"}."""
    from tqdm import tqdm
    models = list(models)
    results = []
    bar = tqdm(models, desc="bench", unit="model", disable=not progress, file=sys.stderr, dynamic_ncols=True)
    for m in bar:
        name = _model_name(m, None)
        bar.set_postfix_str(name)
        results.append(benchmark_model(m, name, plot_dir=plot_dir,
                                       progress=lambda stage, n=name: bar.set_postfix_str(f"{n}: {stage}"), **kw))
    bar.close()
    opts = {k: (v if isinstance(v, (int, float, str, bool, type(None))) else str(v)) for k, v in kw.items()}
    return {"environment": environment(), "options": opts, "models": results, "targets": evaluate_targets(results)}


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serializable: {type(o).__name__}")


def write_json(suite: dict, path) -> str:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(suite, indent=1, default=_json_default) + "\n")
    return str(path)


# --- Markdown --------------------------------------------------------------------------------------------------

def _b(n) -> str:
    return f"{n:,}" if isinstance(n, (int, np.integer)) else "-"


def _x(v, digits=2) -> str:
    return f"{v:.{digits}f}x" if isinstance(v, (int, float)) and v else "-"


def _ms(v) -> str:
    if not isinstance(v, (int, float)):
        return "-"
    return f"{v:.3f}" if v < 1 else (f"{v:.2f}" if v < 100 else f"{v:,.0f}")


def _mark(met) -> str:
    return {True: "**met**", False: "**missed**", None: "not measured (incomplete)"}[met]


def render_markdown(suite: dict, markdown_path=None, command: str | None = None) -> str:
    env, results, targets = suite["environment"], suite["models"], suite["targets"]
    opts = suite.get("options", {})
    base = Path(markdown_path).parent if markdown_path else Path(".")
    L = ["# Benchmarks: tinyengine_tflite against TensorFlow Lite for Microcontrollers", ""]
    L += ["Generated code vs the TFLM baseline on the same int8 models, measured side by side in one run "
          f"({len(results)} models). Regenerate from the repository root (the suite is `../shared/models`, see "
          "its README.md for provenance) with:", "", "```",
          command or "tinyengine-tflite bench MODEL.tflite ... --markdown BENCHMARKS.md", "```", "",
          "The JSON next to the plots (`--json`) holds every number below and more (TFLM's allocation report, "
          "per-layer live bytes, section sizes). The same measurements are available from Python: "
          "`tinyengine_tflite.bench.benchmark_model(path_or_bytes, ...)`.", ""]
    L += ["## Machine and versions", "",
          "| | |", "|---|---|",
          f"| date | {env['date']} |", f"| CPU | {env['cpu']} ({env['cpu_count']} logical CPUs, shared) |",
          f"| platform | {env['platform']} |", f"| Python | {env['python']} |",
          f"| tensorflow | {env['tensorflow']} |", f"| ai-edge-litert | {env['ai-edge-litert']} |",
          f"| tflite-micro | {env['tflite-micro']} |", f"| unicorn | {env['unicorn']} |",
          f"| host gcc | {env['gcc']} |", f"| arm-none-eabi-gcc | {env['arm-none-eabi-gcc']} |"]
    if env.get("commit"):
        L.append(f"| repository commit | {env['commit']} (plus the working tree at the time of the run) |")
    L.append("")

    L += ["## Targets", "", "| target | measured | result |", "|---|---|---|"]
    for t in targets:
        L.append(f"| {t['target']} | {t['measured']} | {_mark(t['met'])} |")
    L.append("")
    missed = [t for t in targets if t["met"] is False]
    if missed:
        L += ["Missed targets: " + "; ".join(t["target"] for t in missed) + ". See the notes below.", ""]

    failed = [r for r in results if r["status"] != "ok"]
    if failed:
        L += ["## Models with errors", "", "| model | stage | error |", "|---|---|---|"]
        for r in failed:
            for st, err in r["errors"].items():
                L.append(f"| {r['model']} | {st} | {_md_cell(err)} |")
        L.append("")

    L += ["## Peak SRAM", "",
          "TFLM: the smallest `arena_size` that `tflite_micro` accepts (bisected to "
          f"{opts.get('arena_granularity', 1)} B, then invoked once at that size); for a float-I/O model also on "
          "the same graph rewritten to int8 I/O (QUANTIZE/DEQUANTIZE removed), the like-for-like baseline used in "
          "the ratio. TFLM head/tail: its own split (planned activations / persistent runtime data), from "
          "`print_allocations()`. tinyengine: the arena, which is all the RAM the generated code uses (a "
          "Cortex-M firmware adds a stack; see the Cortex-M table). Lower bound: the most bytes that must be live "
          "at once in layer-by-layer execution with in-place depthwise; peak / bound shows how far the planner "
          "is from optimal.", "",
          "| model | float I/O | TFLM arena | TFLM int8-I/O arena | TFLM head / tail | tinyengine peak | "
          "no in-place | lower bound | peak / bound | TFLM / tinyengine |",
          "|---|:-:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        s, te = r.get("sram") or {}, r.get("tinyengine") or {}
        ht = f"{_b(s.get('tflm_head_bytes'))} / {_b(s.get('tflm_tail_bytes'))}" if "tflm_head_bytes" in s else "-"
        L.append(f"| {r['model']} | {'yes' if s.get('float_io') else ('no' if s else '-')} | "
                 f"{_b(s.get('tflm_arena_bytes'))} | {_b(s.get('tflm_arena_int8_io_bytes'))} | {ht} | "
                 f"{_b(te.get('peak_sram_bytes'))} | {_b(te.get('no_inplace_arena_bytes'))} | "
                 f"{_b(te.get('lower_bound_bytes'))} | {_x(s.get('planner_over_lower_bound'), 3)} | "
                 f"**{_x(s.get('ratio'))}** |")
    gm = geomean([(r.get("sram") or {}).get("ratio") for r in results])
    L += ["", f"Geometric mean TFLM / tinyengine: **{_x(gm)}**.", ""]

    L += ["## Flash", "",
          "tinyengine: a bare-metal Cortex-M7 firmware (`arm-none-eabi-gcc -Os -mcpu=cortex-m7 -mthumb -std=c99 "
          "-ffunction-sections -fdata-sections`, linked with `--gc-sections`, newlib-nano/nosys, the benchmark's "
          "own startup and a main that calls `model_invoke()`), measured per section of the linked ELF. Weights "
          "and constants: the model's constant arrays (weights, biases, requantization multipliers and shifts, "
          "layer parameters) as linked; code: everything else in flash (kernels, generated calls, startup, "
          "vector table, libgcc). TFLM: the flatbuffer, a lower bound (TFLM also needs its runtime and kernels "
          "in flash, typically tens of KB).", "",
          "| model | flatbuffer | weights + constants | code | total flash | total / flatbuffer |",
          "|---|---:|---:|---:|---:|---:|"]
    for r in results:
        f = r.get("flash") or {}
        L.append(f"| {r['model']} | {_b(r['flatbuffer_bytes'])} | {_b(f.get('weights_bytes'))} | "
                 f"{_b(f.get('code_bytes'))} | {_b(f.get('flash_bytes'))} | "
                 f"{_x(f['flash_bytes'] / r['flatbuffer_bytes'], 3) if f else '-'} |")
    L.append("")

    L += ["## Host latency", "",
          f"Median of up to {opts.get('repeats', 20)} invokes after {opts.get('warmup', 2)} warm-up invokes, in "
          "one process on the machine above, through each engine's Python API on the same random input: "
          "tinyengine (generated C, host gcc -O2, `tinyengine_tflite.Interpreter`), tflite_micro (its reference "
          "kernels) and LiteRT (`ai_edge_litert.interpreter.Interpreter` with its default optimized kernels, "
          "`num_threads=1`). Timing stops early (after at least 3 runs) once an engine has used "
          f"{opts.get('latency_budget_s', 20)} s. The machine is shared, so small differences are noise.", "",
          "| model | MACs | tinyengine ms | tflite_micro ms | LiteRT ms | tflite_micro / tinyengine | "
          "LiteRT / tinyengine |",
          "|---|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        lat, te = r.get("latency") or {}, r.get("tinyengine") or {}
        get = lambda k: (lat.get(k) or {}).get("median_ms")  # noqa: E731
        L.append(f"| {r['model']} | {_b(te.get('macs'))} | {_ms(get('tinyengine'))} | {_ms(get('tflm'))} | "
                 f"{_ms(get('litert'))} | **{_x(lat.get('speedup_vs_tflm'), 1)}** | "
                 f"{_x(lat.get('speedup_vs_litert'), 2)} |")
    L.append("")

    part = None
    for r in results:
        if r.get("cortexm"):
            part = r["cortexm"]["part"]
            break
    L += ["## Cortex-M", ""]
    if part is None:
        L += ["Not run (`--no-cortexm`, or no model converted).", ""]
    else:
        L += [f"The Cortex-M4 build (`-mcpu=cortex-m4 -mthumb -Os`) of the generated code and kernels, run in the "
              f"unicorn {env['unicorn']} emulator with the memory map of {part['name']} ({part['note']}). "
              "Instructions: executed between the two markers around `model_invoke()` (conditional instructions "
              "skipped inside IT blocks count, as the core issues them); they are not cycles (no pipeline, "
              "wait-state or cache model). The emulated output is compared byte for byte with the host build's "
              "for a random input. SRAM: .data + .bss (the arena is most of it) + the measured stack high-water "
              "mark (painted stack).", "",
              "| model | status | SRAM used | stack | flash | instructions | MACs | MACs / instruction | "
              "output = host | emulation s |",
              "|---|---|---:|---:|---:|---:|---:|---:|:-:|---:|"]
        for r in results:
            c = r.get("cortexm")
            if not c:
                why = r["errors"].get("cortexm", "not run")
                L.append(f"| {r['model']} | {_md_cell(why)} | | | | | | | | |")
                continue
            fw = c["firmware"]
            if c["status"] != "ok":
                L.append(f"| {r['model']} | {c['status']}: {_md_cell(c.get('reason', ''))} | "
                         f"{_b(c.get('sram_needed_bytes'))} (with {_b(c.get('stack_reserve_bytes'))} stack budget) | "
                         f"- | {_b(fw['flash_bytes'])} | | | | | |")
                continue
            L.append(f"| {r['model']} | ok | {_b(c['peak_sram_bytes'])} | {_b(c['stack_bytes'])} | "
                     f"{_b(fw['flash_bytes'])} | {_b(c['instructions'])} | {_b(c['macs'])} | "
                     f"{c['macs_per_instruction']:.3f} | {'yes' if c['output_matches_host'] else '**NO**'} | "
                     f"{c['emulation_seconds']:.2f} |")
        L.append("")

    plots = [r for r in results if r.get("plot")]
    if plots:
        L += ["## Memory per layer", "",
              "Bytes live at each operator (the MCUNet memory-distribution figure): TFLM's plan (every activation "
              "from the operator that writes it to the last that reads it, 16-byte aligned, no in-place; kernel "
              "scratch and TFLM's persistent data not included, so its dotted line, the smallest arena, lies "
              "above), tinyengine's schedule, and tinyengine without in-place depthwise. Float-I/O models are "
              "drawn on their int8-I/O rewrite.", ""]
        for r in plots:
            rel = os.path.relpath(r["plot"], base)
            L += [f"### {r['model']}", "", f"![{r['model']}: memory per layer]({rel})", ""]
    notes = list(suite.get("notes") or []) + auto_notes(results)
    if notes:
        L += ["## Notes", ""] + [f"- {n}" for n in notes] + [""]
    return "\n".join(L)


def auto_notes(results: list[dict]) -> list[str]:
    """Observations that follow from the numbers (each one only when the data shows it)."""
    notes = []
    tail_heavy = [r for r in results if (r.get("sram") or {}).get("tflm_tail_bytes", 0) >
                  (r.get("sram") or {}).get("tflm_head_bytes", 1 << 62)]
    if tail_heavy:
        ex = tail_heavy[0]["sram"]
        notes.append(
            "On " + ", ".join(r["model"] for r in tail_heavy) + " most of TFLM's arena is its persistent runtime "
            f"data (the tail: e.g. {ex['tflm_tail_bytes']:,} of {ex['tflm_arena_bytes']:,} B on "
            f"{tail_heavy[0]['model']}: tensor and node structs, quantization and kernel data), which generated "
            "code does not need at all; that is why their SRAM ratios are large. The geometric mean weighs every "
            "model equally.")
    over = [r for r in results if ((r.get("sram") or {}).get("planner_over_lower_bound") or 1) > 1.0005]
    if over:
        notes.append("The arena is above the lower bound (live bytes at the worst layer, the planner's optimum) on "
                     + ", ".join(f"{r['model']} (+{(r['sram']['planner_over_lower_bound'] - 1) * 100:.1f}%)"
                                 for r in over) + "; elsewhere the planner's packing is optimal for this schedule.")
    pads = [r for r in results if ((r.get("tinyengine") or {}).get("peak_layer") or {}).get("op") in ("PAD", "PADV2")]
    if pads:
        notes.append(
            "tinyengine's peak is at an explicit PAD layer on " + ", ".join(
                f"{r['model']} (layer {r['tinyengine']['peak_layer']['index']}: "
                f"{'x'.join(map(str, r['tinyengine']['peak_layer']['input_shapes'][0]))} -> "
                f"{'x'.join(map(str, r['tinyengine']['peak_layer']['output_shapes'][0]))}, "
                f"{r['tinyengine']['peak_layer']['live_bytes']:,} B live)" for r in pads)
            + ": the tensor and its padded copy are live together. The PAD is lowered as its own layer; folding it "
              "into the next convolution's padding (as TinyEngine does) would remove the copy.")
    mpi = [r["cortexm"]["macs_per_instruction"] for r in results
           if (r.get("cortexm") or {}).get("status") == "ok" and r["cortexm"].get("macs_per_instruction")
           and r["cortexm"]["macs"] > 100_000]
    if mpi:
        from .codegen import KERNEL_DIR
        simd = any(re.search(r"__ARM_FEATURE_DSP|__SMLAD|__SXTB16|smlad", p.read_text())
                   for p in KERNEL_DIR.glob("te_*.[ch]"))
        notes.append(f"On the Cortex-M4 the kernels execute {min(mpi):.2f}-{max(mpi):.2f} MACs per instruction "
                     f"({1 / max(mpi):.1f}-{1 / min(mpi):.1f} instructions per MAC) on models over 100k MACs"
                     + ("; the kernel library has no Cortex-M DSP/SIMD path (no __ARM_FEATURE_DSP / SMLAD code: "
                        "SMLAD does two 16-bit MACs in one instruction, and CMSIS-NN's and TinyEngine's int8 "
                        "kernels are built on it)."
                        if not simd else "."))
    tiny = [r for r in results if (r.get("latency") or {}).get("speedup_vs_tflm") is not None
            and r["latency"]["tinyengine"]["median_ms"] < 0.05]
    if tiny:
        notes.append("Host timings under 50 us (" + ", ".join(r["model"] for r in tiny) + ") mostly measure the "
                     "Python call overhead of each engine's API, not the kernels.")
    lat = [r for r in results if (r.get("latency") or {}).get("speedup_vs_litert")]
    if lat and sum(r["latency"]["speedup_vs_litert"] < 1 for r in lat) > len(lat) / 2:
        notes.append("LiteRT's default kernels (XNNPACK/ruy, x86 SIMD) are faster on the host than tinyengine's "
                     "portable C kernels, which are written for Cortex-M; the host comparison that matters for "
                     "the microcontroller claim is the one against tflite_micro, which runs the same kind of "
                     "portable reference code.")
    nofit = [r for r in results if (r.get("cortexm") or {}).get("status") == "does not fit"]
    if nofit:
        notes.append("Does not fit the part (not emulated): " + "; ".join(
            f"{r['model']}: {r['cortexm']['reason']}" for r in nofit) + ".")
    slow = [r for r in results if (r.get("cortexm") or {}).get("status") == "timeout"]
    if slow:
        notes.append("Emulation stopped at the time limit (--emulation-timeout): "
                     + ", ".join(r["model"] for r in slow) + ".")
    warn = [r for r in results if (r.get("flash") or {}).get("compiler_warnings")]
    if warn:
        notes.append("arm-none-eabi-gcc -Wall -Wextra warns on the generated code or kernels of "
                     + ", ".join(r["model"] for r in warn) + " (first: "
                     + _md_cell(warn[0]["flash"]["compiler_warnings"].splitlines()[0]) + ").")
    mism = [r for r in results if (r.get("cortexm") or {}).get("status") == "ok"
            and not r["cortexm"]["output_matches_host"]]
    if mism:
        notes.append("**The emulated Cortex-M output differs from the host output** on "
                     + ", ".join(r["model"] for r in mism) + ".")
    return notes


def _md_cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")[:400]


def write_markdown(suite: dict, path, command: str | None = None) -> str:
    """Write the report to `path`, keeping the sections other commands wrote there (markdown_sections)."""
    write_keeping_sections(path, render_markdown(suite, path, command))
    return str(path)


def _summary(suite: dict) -> str:
    rows = [f"{'model':<28} {'TFLM arena':>11} {'tinyengine':>11} {'ratio':>7} {'flash':>10} {'host x':>7} "
            f"{'M4 instr':>13}  status"]
    for r in suite["models"]:
        s, te, f = r.get("sram") or {}, r.get("tinyengine") or {}, r.get("flash") or {}
        lat, c = r.get("latency") or {}, r.get("cortexm") or {}
        instr = _b(c.get("instructions")) if c.get("status") == "ok" else (c.get("status") or "-")
        rows.append(f"{r['model'][:28]:<28} {_b(s.get('tflm_like_for_like_bytes')):>11} "
                    f"{_b(te.get('peak_sram_bytes')):>11} {_x(s.get('ratio')):>7} {_b(f.get('flash_bytes')):>10} "
                    f"{_x(lat.get('speedup_vs_tflm'), 1):>7} {instr:>13}  {r['status']}")
        for st, err in r["errors"].items():
            rows.append(f"    {st}: {err.splitlines()[0][:160]}")
    rows.append("")
    for t in suite["targets"]:
        rows.append(f"[{ {True: 'met', False: 'MISSED', None: 'n/a'}[t['met']] }] {t['target']}: {t['measured']}")
    return "\n".join(rows)


def command_line(args) -> str:
    """The command that reproduces this run, with a folder's complete set of .tflite files written as a glob."""
    import shlex
    models = [os.path.normpath(m) for m in args.models]
    folders = {os.path.dirname(m) for m in models}
    if len(folders) == 1:
        folder = folders.pop()
        every = sorted(os.path.normpath(p) for p in Path(folder or ".").glob("*.tflite"))
        if sorted(models) == [os.path.normpath(str(p)) for p in every]:
            models = [os.path.join(folder, "*.tflite")]
    words = ["tinyengine-tflite", "bench", *models]
    for opt, flag in (("json", "--json"), ("markdown", "--markdown"), ("plot", "--plot")):
        if getattr(args, opt, None):
            words += [flag, getattr(args, opt)]
    defaults = {"repeats": 20, "warmup": 2, "latency_budget": 20.0, "part": "stm32f746",
                "emulation_timeout": 900.0, "arena_granularity": 1}
    for k, d in defaults.items():
        v = getattr(args, k, d)
        if v != d:
            words += ["--" + k.replace("_", "-"), str(v)]
    if getattr(args, "no_cortexm", False):
        words.append("--no-cortexm")
    return " ".join(shlex.quote(w) if "*" not in w else w for w in words)


def main(args) -> int:
    """The `tinyengine-tflite bench` command (args from bench_cli's parser)."""
    from .cortexm import get_part
    opt = lambda key, default=None: getattr(args, key, default)  # noqa: E731 - args may come from any caller
    part = get_part(opt("part", "stm32f746"))
    for m in args.models:
        if not os.path.isfile(m):
            raise FileNotFoundError(f"model file {m!r} does not exist")
    suite = benchmark(args.models, plot_dir=opt("plot"), progress=not opt("no_progress", False),
                      repeats=opt("repeats", 20), warmup=opt("warmup", 2),
                      latency_budget_s=opt("latency_budget", 20.0), cortexm=not opt("no_cortexm", False), part=part,
                      emulation_timeout_s=opt("emulation_timeout", 900.0) or None,
                      arena_granularity=opt("arena_granularity", 1))
    suite["options"]["part"] = part.name
    suite["command"] = command_line(args)
    if opt("json"):
        write_json(suite, args.json)
    if opt("markdown"):
        write_markdown(suite, args.markdown, command=suite["command"])
    print(_summary(suite))
    return 0 if all(r["status"] == "ok" for r in suite["models"]) else 1
