"""Fixed-point parameters computed exactly as TFLite computes them (kernels/internal/quantization_util.cc),
so that the generated C reproduces the reference kernels to the bit."""
from __future__ import annotations

import math

import numpy as np

from .errors import ConversionError

# Below 2^-31 a multiplier rounds to 0 (TFLite returns 0, 0); from 2^31 up TFLite's fixed point saturates it to
# (2^31 - 1, 30), which no model converted by TFLite needs: the engine refuses it rather than compute a clamped
# value. The errors name no operator: the lowering that asked adds it (lower.lower_graph).
_MAX_SHIFT = 30


def round_half_away(x: float) -> int:
    """std::round: halves go away from zero (Python's round() goes to even)."""
    return int(math.floor(x + 0.5)) if x >= 0 else -int(math.floor(-x + 0.5))


def quantize_multiplier(real: float) -> tuple[int, int]:
    """TFLite QuantizeMultiplier: real ~= q * 2^(shift - 31), q in [2^30, 2^31). A multiplier that is not finite,
    is negative, or is too large for the fixed point (shift above 30) is a ConversionError."""
    if not math.isfinite(real) or real < 0:
        raise ConversionError(f"the requantization multiplier {real} (a ratio of scales) is not a finite "
                              "non-negative number")
    if real == 0.0:
        return 0, 0
    frac, shift = math.frexp(real)
    q = round_half_away(frac * (1 << 31))
    if q == (1 << 31):
        q //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    if shift > _MAX_SHIFT:
        raise ConversionError(f"the requantization multiplier {real:.6g} (a ratio of scales) is too large: the "
                              f"fixed point holds multipliers below 2^{_MAX_SHIFT}, TFLite would saturate it")
    return q, shift


def conv_multipliers(input_scale: float, filter_scales, output_scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel (multiplier, shift) of CONV_2D / DEPTHWISE_CONV_2D / per-channel FULLY_CONNECTED
    (PopulateConvolutionQuantizationParams: the product is formed in double)."""
    mults, shifts = [], []
    for fs in np.asarray(filter_scales, dtype=np.float32):
        m, s = quantize_multiplier(float(np.float32(input_scale)) * float(fs) / float(np.float32(output_scale)))
        mults.append(m)
        shifts.append(s)
    return np.array(mults, dtype=np.int32), np.array(shifts, dtype=np.int32)


def activation_range(activation: int | str, scale: float, zero_point: int) -> tuple[int, int]:
    """CalculateActivationRangeQuantized for int8: clamp bounds of a fused activation."""
    names = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6"}
    act = names.get(activation, activation) if isinstance(activation, int) else activation
    qmin, qmax = -128, 127

    def q(v):
        # a bound beyond int32 (a tiny scale) clamps to qmin / qmax below either way
        r = float(np.float32(v) / np.float32(scale))
        return zero_point + (round_half_away(r) if abs(r) < 2.0**31 else int(math.copysign(2**31, r)))

    if act == "NONE":
        return qmin, qmax
    if act == "RELU":
        return max(qmin, q(0.0)), qmax
    if act == "RELU6":
        return max(qmin, q(0.0)), min(qmax, q(6.0))
    if act == "RELU_N1_TO_1":
        return max(qmin, q(-1.0)), min(qmax, q(1.0))
    raise ValueError(f"fused activation {act} is not supported")


def quantize_float(x: np.ndarray, scale: float, zero_point: int, dtype=np.int8) -> np.ndarray:
    """TFLite AffineQuantize: round(x / scale) + zp with float32 division, halves away from zero, clamped.
    NaN (undefined in TFLite) maps to the zero point, as in the generated C."""
    v = np.asarray(x, dtype=np.float32) / np.float32(scale)
    v = np.where(np.isnan(v), np.float32(0), v)
    v = np.clip(v, np.float32(-65536), np.float32(65536))  # far outside int8/int16 either way; casts stay exact
    t = np.trunc(v)
    r = t + np.where(np.abs(v - t) >= np.float32(0.5), np.sign(v), np.float32(0))
    info = np.iinfo(dtype)
    return np.clip(r.astype(np.int64) + int(zero_point), info.min, info.max).astype(dtype)


def dequantize(q: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """TFLite Dequantize: float(double(scale) * (q - zp))."""
    return (np.float64(np.float32(scale)) * (np.asarray(q, dtype=np.int64) - int(zero_point))).astype(np.float32)
