"""Float -> int8 quantization of model inputs, exactly as TFLite's AffineQuantize does it.

q = round_half_away_from_zero(float32(x) / float32(scale)) + zero_point, clamped to [-128, 127].
The division is done in float32 (as the C side does it), so Python and C agree to the bit. NaN maps to the zero
point in both. The C twin is ``quantize_c/sample_quantize.h`` (``sample_quantize_int8``).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from tinyengine_tflite.quant import quantize_float

QUANTIZE_C_HEADER = Path(__file__).resolve().parent / "quantize_c" / "sample_quantize.h"


def check_quantization(scale: float, zero_point: int) -> None:
    """Raise ValueError unless scale is a positive finite number and zero_point an int8 value."""
    if not (np.isfinite(scale) and scale > 0):
        raise ValueError(f"quantization scale must be a positive finite number, got {scale!r}")
    if int(zero_point) != zero_point or not -128 <= int(zero_point) <= 127:
        raise ValueError(f"int8 zero point must be an integer in [-128, 127], got {zero_point!r}")


def quantize_int8(x, scale: float, zero_point: int) -> np.ndarray:
    """Quantize a float array to int8 with TFLite's rule (see the module docstring); returns an int8 array."""
    check_quantization(scale, zero_point)
    return quantize_float(x, scale, zero_point, np.int8)
