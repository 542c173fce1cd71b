"""The C99 BMP -> int8 input reader of the VWW sample (image_c/), for the deployment step to copy."""
from __future__ import annotations

from pathlib import Path

from ..c_sources import copy_c_sources
from ..quantize import QUANTIZE_C_HEADER

IMAGE_C_DIR = Path(__file__).resolve().parent / "image_c"
IMAGE_READER_SOURCES = (IMAGE_C_DIR / "vww_image_reader.c", IMAGE_C_DIR / "vww_image_reader.h",
                        QUANTIZE_C_HEADER)


def write_image_reader_c(out_dir) -> list[Path]:
    """Write vww_image_reader.c/.h and sample_quantize.h into ``out_dir``; returns the written paths.
    Compile vww_image_reader.c with the model code (C99, no allocation)."""
    return copy_c_sources(IMAGE_READER_SOURCES, out_dir)
