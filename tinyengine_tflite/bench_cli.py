"""The `bench` subcommand's parser (the benchmark itself lives in tinyengine_tflite.bench)."""
from __future__ import annotations


def _bench(args) -> int:
    from .bench import main as bench_main
    return bench_main(args)


def add_bench_parser(sub) -> None:
    b = sub.add_parser("bench", help="measure tinyengine against TFLite Micro (SRAM, flash, latency)",
                       description="Benchmark generated code against TensorFlow Lite for Microcontrollers on the "
                                   "same int8 models: peak SRAM, flash, host latency and Cortex-M instruction counts.")
    b.add_argument("models", nargs="+", help=".tflite files")
    b.add_argument("--json", help="write the results as JSON to this file")
    b.add_argument("--markdown", help="write a Markdown report to this file")
    b.add_argument("--plot", help="write memory-per-layer plots (PNG) into this folder")
    b.add_argument("--repeats", type=int, default=20, help="timed invokes per model on the host (median)")
    b.add_argument("--warmup", type=int, default=2, help="untimed invokes before timing (default 2)")
    b.add_argument("--latency-budget", type=float, default=20.0, metavar="SECONDS",
                   help="stop timing an engine after this many seconds of timed invokes (at least 3 runs; "
                        "default 20)")
    b.add_argument("--no-cortexm", action="store_true", help="skip the Cortex-M build, flash and emulation")
    b.add_argument("--part", default="stm32f746",
                   help="microcontroller whose SRAM/flash sizes the emulator maps (stm32f746, stm32h743, "
                        "stm32f412; default stm32f746: 320 KB SRAM, 1 MB flash)")
    b.add_argument("--emulation-timeout", type=float, default=900.0, metavar="SECONDS",
                   help="give up one model's Cortex-M emulation after this many seconds and report it as "
                        "'timeout' (0: no limit; default 900)")
    b.add_argument("--arena-granularity", type=int, default=1, metavar="BYTES",
                   help="bisect TFLM's arena size to this many bytes (default 1: the exact smallest size)")
    b.add_argument("--no-progress", action="store_true", help="no progress bar")
    b.set_defaults(func=_bench)
