"""python -m samples.kws: the keyword spotting application end to end (see samples.pipeline)."""
from __future__ import annotations

import argparse
import sys

DESCRIPTION = """Keyword spotting (12 Speech Commands classes) with MCUNet: MFCC front end, TinyNAS search under the
memory limits, QAT, int8 export, TinyEngine C, a deployable folder (Makefile with host and arm targets, main.c
classifying a 16 kHz wav with the C front end) and the benchmark against TFLite Micro. Without --data it uses the
offline espeak-ng keywords (synthetic speech: it exercises the pipeline, it does not recognize real voices)."""


def build_parser(prog: str = "python -m samples.kws", default_preset: str = "standard") -> argparse.ArgumentParser:
    from ..pipeline import app_parser
    return app_parser(prog, DESCRIPTION, "kws", default_preset, _data_arguments)


def _data_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", help="Speech Commands v0.02 folder (word folders, validation_list.txt, "
                                  "testing_list.txt, _background_noise_/); default: the espeak-ng keywords")
    p.add_argument("--samples-per-class", type=int, default=200,
                   help="espeak-ng default: clips per class, split 80/10/10 (default %(default)s)")
    p.add_argument("--max-per-word", type=int, help="--data: use at most this many clips per word and split")


def make_task(args):
    from .app import KWSTask
    return KWSTask(args.data, samples_per_class=args.samples_per_class, max_per_word=args.max_per_word,
                   seed=args.seed, progress=not args.quiet)


def main(argv=None) -> int:
    from ..pipeline import cli_main
    return cli_main(build_parser(), make_task, argv)


if __name__ == "__main__":
    sys.exit(main())
