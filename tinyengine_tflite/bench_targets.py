"""Judging benchmark results against targets. The targets themselves are data (benchmarks/targets.json in the
repository: a list of {"kind": ..., parameters}); this module knows the kinds:

- sram_ratio_geomean {min}: geometric mean over the suite of TFLM's arena / tinyengine's peak SRAM;
- model_peak_sram {model, max_bytes, label?, note?}: one model's peak SRAM;
- flash_weights_within_flatbuffer {}: weights and constants <= the flatbuffer, every model;
- flash_total_within_flatbuffer {min_flatbuffer_bytes}: code + weights <= the flatbuffer, every model that big;
- host_speedup_vs_tflm {model_prefix, min}: host speedup over tflite_micro on the models named so;
- cortexm_instructions {model, max}: emulated Cortex-M4 instructions per inference of one model;
- macs_per_cycle {model, min}: MACs per estimated Cortex-M4 cycle of one model."""
from __future__ import annotations

from .json_files import read_json
from .measure import ModelBenchmark, TargetResult, geomean

KB = 1024


def load_targets(path) -> list[dict]:
    targets = read_json(path)
    if not isinstance(targets, list) or not all(isinstance(t, dict) and t.get("kind") in KINDS for t in targets):
        raise ValueError(f"{path}: expected a JSON list of targets, each with a kind among {', '.join(KINDS)}")
    return targets


def _met(passed: bool, nothing_measured: bool, missing) -> bool | None:
    """False when the measured models miss; None when nothing (or not every model) could be measured."""
    if nothing_measured:
        return None
    if not passed:
        return False
    return None if missing else True


def _sram_ratio_geomean(results: list[ModelBenchmark], t: dict) -> TargetResult:
    ok = [r for r in results if r.sram and r.sram.ratio]
    missing = [r.model for r in results if not (r.sram and r.sram.ratio)]
    gm = geomean([r.sram.ratio for r in ok])
    gm_orig = geomean([r.sram.ratio_original_io for r in ok])
    # Models where TFLM's persistent runtime data (tail) outweighs its planned activations (head): their large
    # ratios come from TFLM's runtime, not from the planner; the mean without them shows the planner's share.
    heavy = [r for r in ok if (r.sram.tflm_tail_bytes or 0) > (r.sram.tflm_head_bytes or 1 << 62)]
    gm_light = geomean([r.sram.ratio for r in ok if r not in heavy])
    return TargetResult(
        f"Peak SRAM: geometric mean of TFLM arena / tinyengine peak >= {t['min']:g} over the suite",
        (f"{gm:.2f}x over {len(ok)} models (like for like: int8-I/O TFLM arena for float-I/O models; "
         f"{gm_orig:.2f}x against TFLM on the original files)" if gm else "not measured")
        + (f"; {gm_light:.2f}x without the {len(heavy)} models whose TFLM arena is mostly TFLM's persistent "
           f"runtime data ({', '.join(r.model for r in heavy)})" if heavy and gm_light else "")
        + (f"; not measured: {', '.join(missing)}" if missing else ""),
        _met(gm is not None and gm >= t["min"], not ok, missing), gm)


def _one(results, t) -> ModelBenchmark | None:
    return next((r for r in results if r.model == t["model"]), None)


def _model_peak_sram(results, t) -> TargetResult | None:
    r = _one(results, t)
    if r is None:
        return None
    te = r.tinyengine.peak_sram_bytes if r.tinyengine else None
    tflm = r.sram.tflm_arena_bytes if r.sram else None
    label = t.get("label") or f"{t['max_bytes']:,} B"
    note = f"; {t['note']}" if t.get("note") else ""
    return TargetResult(
        f"Peak SRAM: {t['model']} at or below {label} ({t['max_bytes']:,} B{note})",
        f"{te:,} B ({te / KB:.1f} KB); TFLM {tflm:,} B" if te and tflm else
        (f"{te:,} B" if te else "not measured: " + "; ".join(r.errors.values())),
        (te <= t["max_bytes"]) if te else None, te)


def _every_model(target: str, checked: list[ModelBenchmark], over: list[str], missing: list[str]) -> TargetResult:
    return TargetResult(target, f"{len(checked) - len(over)}/{len(checked)} models within"
                        + (f"; over: {', '.join(over)}" if over else "")
                        + (f"; not measured: {', '.join(missing)}" if missing else ""),
                        _met(not over, not checked, missing))


def _flash_weights(results, t) -> TargetResult:
    fl = [r for r in results if r.flash]
    over = [f"{r.model} ({r.flash.weights_bytes:,} > {r.flatbuffer_bytes:,})" for r in fl
            if r.flash.weights_bytes > r.flatbuffer_bytes]
    return _every_model("Flash: weights and constants at or below the flatbuffer size, every model", fl, over,
                        [r.model for r in results if not r.flash])


def _flash_total(results, t) -> TargetResult:
    lo = t["min_flatbuffer_bytes"]
    big = [r for r in results if r.flash and r.flatbuffer_bytes >= lo]
    over = [f"{r.model} ({r.flash.flash_bytes:,} > {r.flatbuffer_bytes:,})" for r in big
            if r.flash.flash_bytes > r.flatbuffer_bytes]
    return _every_model(f"Flash: code + weights at or below the flatbuffer size, every model of {lo // KB} KB or more",
                        big, over, [r.model for r in results if not r.flash and r.flatbuffer_bytes >= lo])


def _host_speedup(results, t) -> TargetResult | None:
    mc = [r for r in results if r.model.startswith(t["model_prefix"])]
    if not mc:
        return None
    parts, slow, measured = [], [], []
    for r in mc:
        s = r.latency.speedup_vs_tflm if r.latency else None
        parts.append(f"{r.model} {s:.1f}x" if s else f"{r.model} not measured")
        if s:
            measured.append(r.model)
            if s < t["min"]:
                slow.append(r.model)
    return TargetResult(f"Host latency: at least {t['min']:g}x faster than tflite_micro (reference kernels) on the "
                        f"models named {t['model_prefix']}*", "; ".join(parts),
                        _met(not slow, not measured, len(measured) < len(mc)))


def _cortexm(results, t, what: str) -> TargetResult | None:
    r = _one(results, t)
    if r is None:
        return None
    c = r.cortexm if r.cortexm and r.cortexm.status == "ok" else None
    if what == "instructions":
        v = c.instructions if c else None
        return TargetResult(f"Cortex-M4 (-O2): {t['model']} at or below {t['max'] / 1e6:g} M instructions per "
                            "inference", f"{v / 1e6:.1f} M" if v else "not measured", (v <= t["max"]) if v else None, v)
    v = c.macs_per_cycle if c else None
    return TargetResult(f"Cortex-M4 (-O2): {t['model']} at or above {t['min']:g} MACs per estimated cycle",
                        f"{v:.3f}" if v else "not measured", (v >= t["min"]) if v else None, v)


KINDS = {
    "sram_ratio_geomean": _sram_ratio_geomean,
    "model_peak_sram": _model_peak_sram,
    "flash_weights_within_flatbuffer": _flash_weights,
    "flash_total_within_flatbuffer": _flash_total,
    "host_speedup_vs_tflm": _host_speedup,
    "cortexm_instructions": lambda results, t: _cortexm(results, t, "instructions"),
    "macs_per_cycle": lambda results, t: _cortexm(results, t, "macs_per_cycle"),
}


def evaluate_targets(results: list[ModelBenchmark], targets: list[dict]) -> list[TargetResult]:
    """Each target judged on the results (a target about a model that was not benchmarked is left out)."""
    out = []
    for t in targets:
        r = KINDS[t["kind"]](results, t)
        if r is not None:
            out.append(r)
    return out
