"""python -m samples.vww: the Visual Wake Words application end to end (see samples.pipeline)."""
from __future__ import annotations

import argparse
import sys

DESCRIPTION = """Visual Wake Words (person / no person) with MCUNet: TinyNAS search under the memory limits, QAT,
int8 export, TinyEngine C, a deployable folder (Makefile with host and arm targets, main.c classifying a BMP) and
the benchmark against TFLite Micro. Without --data it uses the offline proxy data (scikit-image scenes with faces
pasted in: it exercises the pipeline, it is not COCO)."""


def build_parser(prog: str = "python -m samples.vww", default_preset: str = "standard") -> argparse.ArgumentParser:
    from ..pipeline import app_parser
    return app_parser(prog, DESCRIPTION, "vww", default_preset, _data_arguments)


def _data_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", help="Visual Wake Words folder with person/ and non_person/ image folders "
                                  "(e.g. vw_coco2014_96); default: the offline proxy")
    p.add_argument("--channels", type=int, choices=(1, 3), default=3, help="RGB (3, default) or grayscale (1)")
    p.add_argument("--samples-per-class", type=int, default=1000,
                   help="offline proxy: training images per class (default %(default)s)")
    p.add_argument("--val-samples-per-class", type=int, default=200,
                   help="offline proxy: validation images per class (default %(default)s)")
    p.add_argument("--max-images-per-class", type=int, help="--data: use at most this many images per class")


def make_task(args):
    from .app import VWWTask
    return VWWTask(args.data, channels=args.channels, samples_per_class=args.samples_per_class,
                   val_samples_per_class=args.val_samples_per_class,
                   max_images_per_class=args.max_images_per_class, seed=args.seed, progress=not args.quiet)


def main(argv=None) -> int:
    from ..pipeline import cli_main
    return cli_main(build_parser(), make_task, argv)


if __name__ == "__main__":
    sys.exit(main())
