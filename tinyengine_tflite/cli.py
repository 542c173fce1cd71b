"""tinyengine-tflite: command-line entry point."""
from __future__ import annotations

import argparse
import sys

from .codegen import check_prefix
from .errors import ConversionError
from .extras import MissingExtraError, require_extra
from .lower import REFERENCES


def _convert(args) -> int:
    from .compiler import convert
    options = dict(inplace=not args.no_inplace, reference=args.reference, patches=args.patches,
                   max_mac_overhead=args.max_mac_overhead)
    report = convert(args.model, args.output, prefix=args.prefix, **options)
    print(report)
    if args.plan:
        from .compiler import compile_model
        _, sched = compile_model(args.model, **options)
        print()
        print(sched.plan.describe(sched.allocations))
    print(f"\nwrote {len(report.files)} files to {args.output}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tinyengine-tflite",
                                description="Compile int8 TFLite models into statically planned C99 (TinyEngine).")
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser("convert", help="convert a .tflite model into a C folder and print its memory report",
                       description="Convert a fully int8-quantized .tflite model into model.h, model.c (one kernel "
                                   "call per layer), model_weights.c, the kernel library, a CMakeLists.txt and a "
                                   "Makefile, and print the memory report (peak SRAM, flash, per layer). Placement, "
                                   "a user-supplied arena and the per-layer hook are build-time macros: see model.h.")
    c.add_argument("model", help="the .tflite file (full-integer quantized; float input/output are allowed)")
    c.add_argument("-o", "--output", required=True, help="output folder for the C sources (created if missing)")
    c.add_argument("--prefix", default="model", type=_c_identifier,
                   help="C identifier prefix of the generated API and file names (default: model -> model.h, "
                        "model_invoke())")
    c.add_argument("--no-inplace", action="store_true",
                   help="disable in-place depthwise convolution (more SRAM; for comparison)")
    c.add_argument("--reference", choices=REFERENCES, default="litert",
                   help="the reference whose int8 outputs the generated code reproduces byte for byte: litert "
                        "(LiteRT's reference kernels, the default) or tflm (TensorFlow Lite Micro); they differ on "
                        "FULLY_CONNECTED (single vs double rounding), MUL (multiplier in float32 vs double) and "
                        "LOGISTIC (float32 table vs fixed point)")
    c.add_argument("--patches", default=None, type=_patches, metavar="auto|none|ROWSxCOLS@LAYER",
                   help="patch-based inference (MCUNetV2): run the first layers patch by patch; auto picks the split "
                        "layer and grid of the smallest peak SRAM (layer-wise when that is not smaller), e.g. "
                        "3x2@12 runs layers 0 .. 12 on 3 rows x 2 columns of tiles; none (the default) runs "
                        "layer by layer")
    c.add_argument("--max-mac-overhead", default=0.2, type=_fraction, metavar="FRACTION",
                   help="with --patches auto: at most this fraction of MACs recomputed in the patch halos "
                        "(default 0.2)")
    c.add_argument("--plan", action="store_true", help="also print the arena plan (offset, size, lifetime)")
    c.set_defaults(func=_convert)
    from .bench_cli import add_bench_parser
    add_bench_parser(sub)
    return p


def _patches(text: str):
    if text in ("auto", "none"):
        return None if text == "none" else text
    from .patches import PatchPlan
    try:
        return PatchPlan.parse(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"{e}; or auto, or none") from None


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0.0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number >= 0")
    return value


def _c_identifier(text: str) -> str:
    try:
        return check_prefix(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def main(argv=None) -> int:
    """Exit 0 on success; 2 with one line on stderr for a project error (a model that cannot be converted names
    the model, and the operator or tensor at fault), a file that cannot be read or written, a missing extra, or a
    bad bench argument. Any other exception is a bug and keeps its traceback."""
    args = build_parser().parse_args(argv)
    expected = (ConversionError, OSError, MissingExtraError) + ((ValueError,) if args.command == "bench" else ())
    try:
        if args.command == "bench":         # convert needs only the base install
            require_extra("bench", "tinyengine-tflite bench")
        return args.func(args)
    except expected as e:
        print(f"tinyengine-tflite: error: {' '.join(str(e).split())}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
