"""The `bench` subcommand's parser (the benchmark itself: tinyengine_tflite.bench, measure, bench_markdown)."""
from __future__ import annotations

from .measure import BenchOptions
from .parts import PARTS


def _bench(args) -> int:
    from .bench import main as bench_main
    return bench_main(args)


def add_bench_parser(sub) -> None:
    d = BenchOptions()
    b = sub.add_parser("bench", help="measure tinyengine against TFLite Micro (SRAM, flash, latency, Cortex-M)",
                       description="Benchmark generated code against TensorFlow Lite for Microcontrollers on the "
                                   "same int8 models: peak SRAM, flash, host latency and Cortex-M4 instructions, "
                                   "estimated cycles and per-layer profile.")
    b.add_argument("models", nargs="*", help=".tflite files")
    b.add_argument("--targets", help="judge the results against the targets of this JSON file "
                                     "(e.g. benchmarks/targets.json)")
    b.add_argument("--json", help="write the results as JSON to this file")
    b.add_argument("--markdown", help="write a Markdown report to this file")
    b.add_argument("--from-json", help="render the results saved in this JSON file instead of measuring")
    b.add_argument("--plot", help="write memory-per-layer plots (PNG) into this folder")
    b.add_argument("--repeats", type=int, default=d.repeats, help="timed invokes per model on the host (median)")
    b.add_argument("--warmup", type=int, default=d.warmup, help=f"untimed invokes before timing (default {d.warmup})")
    b.add_argument("--latency-budget", type=float, default=d.latency_budget_s, metavar="SECONDS",
                   help="stop timing an engine after this many seconds of timed invokes (at least 3 runs; "
                        f"default {d.latency_budget_s:g})")
    b.add_argument("--no-cortexm", action="store_true", help="skip the Cortex-M build, flash and emulation")
    b.add_argument("--part", default=d.part,
                   help=f"microcontroller whose SRAM/flash sizes the emulator maps ({', '.join(PARTS)}; "
                        f"default {d.part}: {PARTS[d.part].note})")
    b.add_argument("--emulation-timeout", type=float, default=d.emulation_timeout_s, metavar="SECONDS",
                   help="give up one model's Cortex-M emulation after this many seconds and report it as "
                        f"'timeout' (0: no limit; default {d.emulation_timeout_s:g})")
    b.add_argument("--arena-granularity", type=int, default=d.arena_granularity, metavar="BYTES",
                   help="bisect TFLM's arena size to this many bytes (default 1: the exact smallest size)")
    b.add_argument("--no-progress", action="store_true", help="no progress bar")
    b.set_defaults(func=_bench)
