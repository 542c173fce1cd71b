"""The main job: the whole MCUNet pipeline on the embedded default data in one command, sized for minutes on 2
CPU cores (the quick preset). ``python -m samples.main`` (or the ``keras-mcunet-demo`` console script) runs the
Visual Wake Words sample; ``--task kws`` the keyword spotting one. Every option of ``python -m samples.vww`` /
``python -m samples.kws`` is accepted (``--data PATH`` for the real data sets, ``--preset standard`` for a longer
search). Ends with the table (float and int8 accuracy, peak SRAM, flash, host and Cortex-M latency, tinyengine
against TFLite Micro) and the plots in OUT/plots (MACs CDFs of stage 1, memory per layer)."""
from __future__ import annotations

import argparse
import sys
import time

# The main job's data sizes: small enough for the quick preset to finish within minutes on 2 cores.
# The memory limits are small as well (64 KB SRAM, 256 KB flash instead of the apps' 256 KB / 1 MB), so that they
# bind on the quick grid (stage 1 discards spaces and the evolution rejects subnets) and the model trains fast.
MAIN_DEFAULTS = {
    "vww": {"samples_per_class": 1000, "val_samples_per_class": 200, "sram_limit": 64 * 1024,
            "flash_limit": 256 * 1024},
    "kws": {"samples_per_class": 200, "sram_limit": 64 * 1024, "flash_limit": 256 * 1024},
}


def main(argv=None) -> int:
    from .pipeline import cli_main

    argv = list(sys.argv[1:] if argv is None else argv)
    pick = argparse.ArgumentParser(add_help=False)
    pick.add_argument("--task", choices=("vww", "kws"), default="vww")
    known, rest = pick.parse_known_args(argv)
    if known.task == "vww":
        from .vww.__main__ import build_parser, make_task
    else:
        from .kws.__main__ import build_parser, make_task
    parser = build_parser(prog="keras-mcunet-demo", default_preset="quick")
    parser.description = __doc__
    parser.set_defaults(out=f"mcunet_demo_{known.task}", **MAIN_DEFAULTS[known.task])
    parser.add_argument("--task", choices=("vww", "kws"), default="vww",
                        help="vww (default): person detection; kws: keyword spotting")
    start = time.perf_counter()
    status = cli_main(parser, make_task, rest + ["--task", known.task])
    if status == 0:
        print(f"main job ({known.task}): {time.perf_counter() - start:.0f} s")
    return status


if __name__ == "__main__":
    sys.exit(main())
