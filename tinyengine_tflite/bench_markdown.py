"""The benchmark report in Markdown (BENCHMARKS.md), rendered from a measured Suite; nothing here measures."""
from __future__ import annotations

import os
from pathlib import Path

from .cycle_model import DIVIDE_CYCLES, TAKEN_BRANCH_PENALTY
from .markdown_sections import write_keeping_sections
from .measure import ModelBenchmark, Suite, geomean

PROFILED_MODELS = ("mcunet_vww_tinyengine",)     # models whose per-layer Cortex-M profile the report shows


def _b(n) -> str:
    return f"{n:,}" if isinstance(n, int) and not isinstance(n, bool) else "-"


def _x(v, digits=2) -> str:
    return f"{v:.{digits}f}x" if isinstance(v, (int, float)) and v else "-"


def _f(v, digits=3) -> str:
    return f"{v:.{digits}f}" if isinstance(v, (int, float)) else "-"


def _ms(v) -> str:
    if not isinstance(v, (int, float)):
        return "-"
    return f"{v:.3f}" if v < 1 else (f"{v:.2f}" if v < 100 else f"{v:,.0f}")


def _mark(met) -> str:
    return {True: "**met**", False: "**missed**", None: "not measured (incomplete)"}[met]


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")[:400]


def _shapes(shapes) -> str:
    return " + ".join("x".join(map(str, s)) for s in shapes)


def render_markdown(suite: Suite, markdown_path=None, command: str | None = None,
                    profiled_models=PROFILED_MODELS) -> str:
    env, results, opts = suite.environment, suite.models, suite.options
    base = Path(markdown_path).parent if markdown_path else Path(".")
    v = env.versions
    L = ["# Benchmarks: tinyengine_tflite against TensorFlow Lite for Microcontrollers", ""]
    L += ["Generated code vs the TFLM baseline on the same int8 models, measured side by side in one run "
          f"({len(results)} models). Regenerate from the repository root (the suite is `../shared/models`, see "
          "its README.md for provenance; the targets are `benchmarks/targets.json`) with:", "", "```",
          command or suite.command or "tinyengine-tflite bench MODEL.tflite ... --markdown BENCHMARKS.md", "```", "",
          "The JSON next to the plots (`--json`) holds every number below and more (TFLM's allocation report, "
          "per-layer live bytes and Cortex-M profiles, section sizes); `--from-json` renders this report from it "
          "without measuring again. The same measurements are available from Python: "
          "`tinyengine_tflite.measure.benchmark_model(path_or_bytes, ...)` returns them as dataclasses.", ""]
    L += ["## Machine and versions", "", "| | |", "|---|---|",
          f"| date | {env.date} |", f"| CPU | {env.cpu} ({env.cpu_count} logical CPUs, shared) |",
          f"| platform | {env.platform} |", f"| Python | {env.python} |",
          f"| tensorflow | {v.get('tensorflow')} |", f"| ai-edge-litert | {v.get('ai-edge-litert')} |",
          f"| tflite-micro | {v.get('tflite-micro')} |", f"| unicorn | {v.get('unicorn')} |",
          f"| host gcc | {v.get('gcc')} |", f"| arm-none-eabi-gcc | {v.get('arm-none-eabi-gcc')} |"]
    if env.commit:
        L.append(f"| repository commit | {env.commit} (plus the working tree at the time of the run) |")
    L.append("")
    if suite.targets:
        L += ["## Targets", "", "| target | measured | result |", "|---|---|---|"]
        L += [f"| {t.target} | {t.measured} | {_mark(t.met)} |" for t in suite.targets]
        L.append("")
        missed = [t for t in suite.targets if t.met is False]
        if missed:
            L += ["Missed targets: " + "; ".join(t.target for t in missed) + ". See the notes below.", ""]
    failed = [r for r in results if r.status != "ok"]
    if failed:
        L += ["## Models with errors", "", "| model | stage | error |", "|---|---|---|"]
        L += [f"| {r.model} | {st} | {_cell(err)} |" for r in failed for st, err in r.errors.items()]
        L.append("")
    L += _sram_section(results, opts)
    L += _flash_section(results)
    L += _latency_section(results, opts)
    L += _cortexm_section(results, v.get("unicorn"))
    for r in results:
        if r.model in profiled_models and r.cortexm and r.cortexm.layers:
            L += _layer_profile(r)
    plots = [r for r in results if r.plot]
    if plots:
        L += ["## Memory per layer", "",
              "Bytes live at each operator (the MCUNet memory-distribution figure): TFLM's plan (every activation "
              "from the operator that writes it to the last that reads it, 16-byte aligned, no in-place; kernel "
              "scratch and TFLM's persistent data not included, so its dotted line, the smallest arena, lies "
              "above), tinyengine's schedule, and tinyengine without in-place depthwise. Float-I/O models are "
              "drawn on their int8-I/O rewrite.", ""]
        for r in plots:
            L += [f"### {r.model}", "", f"![{r.model}: memory per layer]({os.path.relpath(r.plot, base)})", ""]
    notes = list(suite.notes) + auto_notes(results)
    if notes:
        L += ["## Notes", ""] + [f"- {n}" for n in notes] + [""]
    return "\n".join(L)


def _sram_section(results: list[ModelBenchmark], opts) -> list[str]:
    L = ["## Peak SRAM", "",
         "TFLM: the smallest `arena_size` that `tflite_micro` accepts (bisected to "
         f"{opts.arena_granularity} B, then invoked once at that size); for a float-I/O model also on "
         "the same graph rewritten to int8 I/O (QUANTIZE/DEQUANTIZE removed), the like-for-like baseline used in "
         "the ratio. TFLM head/tail: its own split (planned activations / persistent runtime data), from "
         "`print_allocations()`. tinyengine: the arena, which is all the RAM the generated code uses (a "
         "Cortex-M firmware adds a stack; see the Cortex-M table). Lower bound: the most bytes that must be live "
         "at once in layer-by-layer execution with in-place depthwise; peak / bound shows how far the planner "
         "is from optimal. Patch-based: the peak with `patches=\"auto\"` (MCUNetV2: the first layers run patch by "
         "patch, at most 20% more MACs; split layer and grid as ROWSxCOLS@LAYER), '-' where layer-wise is smaller.",
         "",
         "| model | float I/O | TFLM arena | TFLM int8-I/O arena | TFLM head / tail | tinyengine peak | "
         "no in-place | lower bound | peak / bound | TFLM / tinyengine | patch-based peak (plan, MACs) |",
         "|---|:-:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        s, te = r.sram, r.tinyengine
        ht = f"{_b(s.tflm_head_bytes)} / {_b(s.tflm_tail_bytes)}" if s and s.tflm_head_bytes is not None else "-"
        L.append(f"| {r.model} | {('yes' if s.float_io else 'no') if s else '-'} | "
                 f"{_b(s and s.tflm_arena_bytes)} | {_b(s and s.tflm_arena_int8_io_bytes)} | {ht} | "
                 f"{_b(te and te.peak_sram_bytes)} | {_b(te and te.no_inplace_arena_bytes)} | "
                 f"{_b(te and te.lower_bound_bytes)} | {_x(s and s.planner_over_lower_bound, 3)} | "
                 f"**{_x(s and s.ratio)}** | {_patch_cell(te)} |")
    gm = geomean([r.sram.ratio for r in results if r.sram])
    return L + ["", f"Geometric mean TFLM / tinyengine: **{_x(gm)}**.", ""]


def _patch_cell(te) -> str:
    if te is None or te.patch_peak_sram_bytes is None:
        return "-"
    return f"{_b(te.patch_peak_sram_bytes)} ({te.patch_plan}, {te.patch_mac_overhead:+.1%})"


def _flash_section(results) -> list[str]:
    L = ["## Flash", "",
         "tinyengine: a bare-metal Cortex-M7 firmware built for size (`arm-none-eabi-gcc -Os -mcpu=cortex-m7 "
         "-mthumb -std=c99 -ffunction-sections -fdata-sections`, linked with `--gc-sections`, newlib-nano/nosys, "
         "the benchmark's own startup and a main that calls `model_invoke()`), measured per section of the "
         "linked ELF. Weights and constants: the model's constant arrays (weights, biases, requantization "
         "multipliers and shifts, layer parameters) as linked; code: everything else in flash (kernels, generated "
         "calls, startup, vector table, libgcc). TFLM: the flatbuffer, a lower bound (TFLM also needs its runtime "
         "and kernels in flash, typically tens of KB). The Cortex-M table below gives the flash of the -O2 "
         "build that the speed figures use.", "",
         "| model | flatbuffer | weights + constants | code | total flash | total / flatbuffer |",
         "|---|---:|---:|---:|---:|---:|"]
    for r in results:
        f = r.flash
        L.append(f"| {r.model} | {_b(r.flatbuffer_bytes)} | {_b(f and f.weights_bytes)} | {_b(f and f.code_bytes)} | "
                 f"{_b(f and f.flash_bytes)} | {_x(f.flash_bytes / r.flatbuffer_bytes, 3) if f else '-'} |")
    return L + [""]


def _latency_section(results, opts) -> list[str]:
    L = ["## Host latency", "",
         f"Median of up to {opts.repeats} invokes after {opts.warmup} warm-up invokes, in "
         "one process on the machine above, through each engine's Python API on the same random input: "
         "tinyengine (generated C, host gcc -O2, `tinyengine_tflite.Interpreter`), tflite_micro (its reference "
         "kernels) and LiteRT (`ai_edge_litert.interpreter.Interpreter` with its default optimized kernels, "
         "`num_threads=1`). Timing stops early (after at least 3 runs) once an engine has used "
         f"{opts.latency_budget_s:g} s. The machine is shared, so small differences are noise.", "",
         "| model | MACs | tinyengine ms | tflite_micro ms | LiteRT ms | tflite_micro / tinyengine | "
         "LiteRT / tinyengine |",
         "|---|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        lat = r.latency
        L.append(f"| {r.model} | {_b(r.tinyengine and r.tinyengine.macs)} | "
                 f"{_ms(lat and lat.tinyengine.median_ms)} | {_ms(lat and lat.tflm.median_ms)} | "
                 f"{_ms(lat and lat.litert.median_ms)} | **{_x(lat and lat.speedup_vs_tflm, 1)}** | "
                 f"{_x(lat and lat.speedup_vs_litert, 2)} |")
    return L + [""]


def cycle_model_text() -> str:
    return ("Estimated cycles: every executed basic block is costed once from its Thumb-2 instructions with the "
            "Cortex-M4 TRM's timings (`tinyengine_tflite/cycle_model.py`): ALU, MUL/MLA, the DSP instructions "
            "(SMLAD, SXTB16, SSAT, ...) and 64-bit multiplies 1 cycle; a single load or store 2, 1 when it "
            "directly follows another load/store (pipelined); LDM/STM/PUSH/POP/LDRD/STRD 1 + N; SDIV/UDIV "
            f"{DIVIDE_CYCLES} (the midpoint of 2-12); a branch 1, plus {TAKEN_BRANCH_PENALTY} when the next block "
            "executed is not the fall-through (a taken branch, call or return: about 3). Limits: zero-wait-state "
            "memory (no flash wait states, no cache or flash accelerator, no bus contention), load-use stalls "
            "not modelled, IT-skipped instructions costed as executed; a part running from flash at 100+ MHz "
            "with wait states and no cache hit is slower than this estimate.")


def _cortexm_section(results, unicorn_version) -> list[str]:
    part = next((r.cortexm.part for r in results if r.cortexm), None)
    L = ["## Cortex-M", ""]
    if part is None:
        return L + ["Not run (`--no-cortexm`, or no model converted).", ""]
    L += [f"The Cortex-M4 build for speed (`-mcpu=cortex-m4 -mthumb -O2`, the flags of the CMSIS-NN comparison) "
          f"of the generated code and kernels, run in the unicorn {unicorn_version} emulator with the memory map of "
          f"{part.name} ({part.note}). Instructions: executed between the two markers around `model_invoke()` "
          "(conditional instructions skipped inside IT blocks count, as the core issues them), including the "
          "per-layer marker calls (TE_LAYER_BEGIN/END: a call and a return each, a few instructions per layer). "
          + cycle_model_text() + " The emulated output is compared byte for byte with the host build's for a "
          "random input. SRAM: .data + .bss (the arena is most of it) + the measured stack high-water mark "
          "(painted stack); flash: of this -O2 build (the Flash table above is -Os).", "",
          "| model | status | SRAM used | stack | flash -O2 | instructions | est. cycles | MACs | MACs / instruction | "
          "MACs / cycle | output = host | emulation s |",
          "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|:-:|---:|"]
    for r in results:
        c = r.cortexm
        if not c:
            L.append(f"| {r.model} | {_cell(r.errors.get('cortexm', 'not run'))} | | | | | | | | | | |")
        elif c.status != "ok":
            L.append(f"| {r.model} | {c.status}: {_cell(c.reason)} | {_b(c.sram_needed_bytes)} (with "
                     f"{_b(c.stack_reserve_bytes)} stack budget) | - | {_b(c.firmware.flash_bytes)} | | | | | | | |")
        else:
            L.append(f"| {r.model} | ok | {_b(c.peak_sram_bytes)} | {_b(c.stack_bytes)} | "
                     f"{_b(c.firmware.flash_bytes)} | "
                     f"{_b(c.instructions)} | {_b(c.cycles)} | {_b(c.macs)} | {_f(c.macs_per_instruction)} | "
                     f"{_f(c.macs_per_cycle)} | {'yes' if c.output_matches_host else '**NO**'} | "
                     f"{c.emulation_seconds:.2f} |")
    return L + [""]


def _layer_profile(r: ModelBenchmark) -> list[str]:
    c = r.cortexm
    L = [f"### Per-layer Cortex-M4 profile: {r.model}", "",
         "Instructions and estimated cycles of each layer of the -O2 build above, attributed through the generated "
         "code's TE_LAYER_BEGIN(i)/TE_LAYER_END(i) hook (the benchmark defines it as calls to two marker "
         "functions the emulator watches; on a board it could read the DWT cycle counter). Kernel: the C "
         f"function the layer calls. Outside the layers (model_invoke's own code): {_b(c.outside_layers)} "
         "instructions.", "",
         "| # | operator | input | output | kernel | MACs | instructions | est. cycles | MACs / cycle | "
         "share of cycles |",
         "|---:|---|---|---|---|---:|---:|---:|---:|---:|"]
    total = sum(lp.cycles for lp in c.layers) or 1
    for lp in c.layers:
        L.append(f"| {lp.index} | {lp.op} | {_shapes(lp.input_shapes)} | {_shapes(lp.output_shapes)} | "
                 f"`{lp.kernel}` | {_b(lp.macs)} | {_b(lp.instructions)} | {_b(lp.cycles)} | "
                 f"{_f(lp.macs_per_cycle)} | {100 * lp.cycles / total:.1f}% |")
    by_kernel: dict[str, list[int]] = {}
    for lp in c.layers:
        k = by_kernel.setdefault(lp.kernel, [0, 0, 0])
        k[0], k[1], k[2] = k[0] + 1, k[1] + lp.macs, k[2] + lp.cycles
    L += ["", "By kernel:", "", "| kernel | layers | MACs | est. cycles | MACs / cycle |", "|---|---:|---:|---:|---:|"]
    for name, (n, macs, cyc) in sorted(by_kernel.items(), key=lambda kv: -kv[1][2]):
        L.append(f"| `{name}` | {n} | {_b(macs)} | {_b(cyc)} | {_f(macs / cyc if cyc else None)} |")
    return L + [""]


def auto_notes(results: list[ModelBenchmark]) -> list[str]:
    """Observations that follow from the numbers (each one only when the data shows it)."""
    notes = []
    tail_heavy = [r for r in results if r.sram and (r.sram.tflm_tail_bytes or 0) > (r.sram.tflm_head_bytes or 1 << 62)]
    if tail_heavy:
        ex = tail_heavy[0].sram
        notes.append(
            "On " + ", ".join(r.model for r in tail_heavy) + " most of TFLM's arena is its persistent runtime "
            f"data (the tail: e.g. {ex.tflm_tail_bytes:,} of {ex.tflm_arena_bytes:,} B on "
            f"{tail_heavy[0].model}: tensor and node structs, quantization and kernel data), which generated "
            "code does not need at all; that is why their SRAM ratios are large. The geometric mean weighs every "
            "model equally.")
    over = [r for r in results if r.sram and (r.sram.planner_over_lower_bound or 1) > 1.0005]
    if over:
        notes.append("The arena is above the lower bound (live bytes at the worst layer, the planner's optimum) on "
                     + ", ".join(f"{r.model} (+{(r.sram.planner_over_lower_bound - 1) * 100:.1f}%)" for r in over)
                     + "; elsewhere the planner's packing is optimal for this schedule.")
    pads = [r for r in results
            if r.tinyengine and r.tinyengine.peak_layer and r.tinyengine.peak_layer.op in ("PAD", "PADV2")]
    if pads:
        notes.append(
            "tinyengine's peak is at an explicit PAD layer on " + ", ".join(
                f"{r.model} (layer {r.tinyengine.peak_layer.index}: "
                f"{'x'.join(map(str, r.tinyengine.peak_layer.input_shapes[0]))} -> "
                f"{'x'.join(map(str, r.tinyengine.peak_layer.output_shapes[0]))}, "
                f"{r.tinyengine.peak_layer.live_bytes:,} B live)" for r in pads)
            + ": the tensor and its padded copy are live together. The PAD is lowered as its own layer; folding it "
              "into the next convolution's padding (as TinyEngine does) would remove the copy.")
    ok = [r.cortexm for r in results if r.cortexm and r.cortexm.status == "ok" and r.cortexm.macs_per_cycle
          and r.cortexm.macs > 100_000]
    if ok:
        mpi = [c.macs_per_instruction for c in ok]
        mpc = [c.macs_per_cycle for c in ok]
        notes.append(f"On the Cortex-M4 (-O2) the kernels execute {min(mpi):.2f}-{max(mpi):.2f} MACs per instruction "
                     f"and {min(mpc):.2f}-{max(mpc):.2f} MACs per estimated cycle on models over 100k MACs.")
    tiny = [r for r in results if r.latency and r.latency.speedup_vs_tflm is not None
            and r.latency.tinyengine.median_ms < 0.05]
    if tiny:
        notes.append("Host timings under 50 us (" + ", ".join(r.model for r in tiny) + ") mostly measure the "
                     "Python call overhead of each engine's API, not the kernels.")
    lat = [r for r in results if r.latency and r.latency.speedup_vs_litert]
    if lat and sum(r.latency.speedup_vs_litert < 1 for r in lat) > len(lat) / 2:
        notes.append("LiteRT's default kernels (XNNPACK/ruy, x86 SIMD) are faster on the host than tinyengine's "
                     "portable C kernels, which are written for Cortex-M; the host comparison that matters for "
                     "the microcontroller claim is the one against tflite_micro, which runs the same kind of "
                     "portable reference code.")
    nofit = [r for r in results if r.cortexm and r.cortexm.status == "does not fit"]
    if nofit:
        notes.append("Does not fit the part (not emulated): " + "; ".join(
            f"{r.model}: {r.cortexm.reason}" for r in nofit) + ".")
    slow = [r for r in results if r.cortexm and r.cortexm.status == "timeout"]
    if slow:
        notes.append("Emulation stopped at the time limit (--emulation-timeout): "
                     + ", ".join(r.model for r in slow) + ".")
    warn = [r for r in results if r.flash and r.flash.compiler_warnings]
    if warn:
        notes.append("arm-none-eabi-gcc -Wall -Wextra warns on the generated code or kernels of "
                     + ", ".join(r.model for r in warn) + " (first: "
                     + _cell(warn[0].flash.compiler_warnings.splitlines()[0]) + ").")
    mism = [r for r in results if r.cortexm and r.cortexm.status == "ok" and not r.cortexm.output_matches_host]
    if mism:
        notes.append("**The emulated Cortex-M output differs from the host output** on "
                     + ", ".join(r.model for r in mism) + ".")
    return notes


def write_markdown(suite: Suite, path, command: str | None = None) -> str:
    """Write the report to `path`, keeping the sections other commands wrote there (markdown_sections)."""
    write_keeping_sections(path, render_markdown(suite, path, command))
    return str(path)
