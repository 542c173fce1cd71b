"""SOFTMAX and LOGISTIC, int8 -> int8 with output scale 1/256 and zero point -128.

SOFTMAX follows TFLite's reference int8 kernel, which both LiteRT's BUILTIN_REF resolver and TFLM run:
PreprocessSoftmaxScaling (beta * input_scale * 2^26 as a multiplier greater than one, in double),
diff_min = -CalculateInputRadius(5, left_shift), then gemmlowp fixed-point exp and reciprocal (in C).
Where a row's exps sum to 512 or more, TFLite's kernels stop on a failed check (their final shift would
exceed 31); the engine writes -128 there, the correctly rounded result (every probability is below 1/512).

LOGISTIC runs as a 256-entry table, computed here at compile time as the chosen reference (ctx.reference)
computes each int8 input value. The two references can differ by one LSB:
- "litert" (default): LiteRT's reference resolver builds the table in float32 (LUTPopulate: dequantize,
  1 / (1 + exp(-x)), * 256, round half away from zero, - 128).
- "tflm": TFLM runs reference_integer_ops::Logistic: the input minus its zero point, saturated outside
  +-input_range_radius, is rescaled to Q4.27 by MultiplyByQuantizedMultiplier (multiplier and left shift from
  frexp(input_scale * 2^27)), goes through gemmlowp's fixed-point logistic (exp_on_negative_values, then the
  Newton-Raphson 1 / (1 + x)), and the Q0.31 result is rounded to 1/256 steps. tflm_logistic_table emulates
  it in exact integer arithmetic."""
from __future__ import annotations

import math

import numpy as np

from ..layers import Const, InPlace, Layer
from ..lower import lowering
from ..quant import round_half_away
from .common import qparams

SCALED_DIFF_INTEGER_BITS = 5


def _unary_io(ctx, op):
    if len(op.inputs) != 1 or len(op.outputs) != 1:
        raise ctx.error(op, f"expects 1 input and 1 output, has {len(op.inputs)} and {len(op.outputs)}")
    in_t, out_t = op.inputs[0], op.outputs[0]
    src, dst = ctx.tensor(in_t), ctx.tensor(out_t)
    if src.dtype != "int8" or dst.dtype != "int8":
        raise ctx.error(op, f"{src.dtype} -> {dst.dtype} is not supported; int8 -> int8 is", unsupported=True)
    if tuple(src.shape) != tuple(dst.shape):
        raise ctx.error(op, f"output shape {list(dst.shape)} differs from the input shape {list(src.shape)}")
    if ctx.value(in_t) is not None:
        raise ctx.error(op, "a constant input is not supported (a converter folds this)", unsupported=True)
    in_scale, in_zp = qparams(ctx, op, in_t, "input")
    out_scale, out_zp = qparams(ctx, op, out_t, "output")
    return in_t, out_t, in_scale, in_zp, out_scale, out_zp


def _quantize_multiplier_unclamped(real: float) -> tuple[int, int]:
    """TFLite QuantizeMultiplier as the double-rounding build does it (no clamp of shifts above 30)."""
    frac, shift = math.frexp(real)
    q = round_half_away(frac * (1 << 31))
    if q == (1 << 31):
        q //= 2
        shift += 1
    return q, shift


def softmax_params(beta: float, input_scale: float) -> tuple[int, int, int]:
    """(input multiplier, input left shift, diff_min) of the reference int8 softmax."""
    real = min(float(beta) * float(np.float32(input_scale)) * float(1 << (31 - SCALED_DIFF_INTEGER_BITS)),
               float((1 << 31) - 1))
    mult, shift = _quantize_multiplier_unclamped(real)
    radius = math.floor(float((1 << SCALED_DIFF_INTEGER_BITS) - 1) *
                        float(1 << (31 - SCALED_DIFF_INTEGER_BITS)) / float(1 << shift))
    return mult, shift, -radius


@lowering("SOFTMAX")
def lower_softmax(ctx, op):
    in_t, out_t, in_scale, in_zp, out_scale, out_zp = _unary_io(ctx, op)
    if out_zp != -128 or abs(out_scale - 1.0 / 256) > 0.001 / 256:
        raise ctx.error(op, f"output quantization (scale {out_scale:g}, zero point {out_zp}) must be 1/256 and -128",
                        unsupported=True)
    shape = tuple(ctx.tensor(in_t).shape)
    if len(shape) < 1:
        raise ctx.error(op, "the input must have at least one dimension")
    beta = float(op.options.get("beta", 1.0))
    if not beta * float(np.float32(in_scale)) * float(1 << (31 - SCALED_DIFF_INTEGER_BITS)) > 1.0:
        raise ctx.error(op, f"beta * input scale ({beta:g} * {in_scale:g}) is too small for TFLite's "
                            "fixed-point softmax", unsupported=True)
    mult, shift, diff_min = softmax_params(beta, in_scale)
    if shift > 30:
        # Then diff_min is 0: only the row maximum (difference 0) takes part, and its rescaled difference is
        # 0 whatever the multiplier, so the multiplier need not be representable by the kernel.
        assert diff_min == 0
        mult, shift = 0, 0
    depth = int(shape[-1])
    outer = int(np.prod(shape[:-1], dtype=np.int64))
    layer = ctx.add(Layer(op.name, op.index, "te_softmax_s8", "te_softmax_params",
                          dict(outer=outer, depth=depth, input_mult=mult, input_left_shift=shift, diff_min=diff_min),
                          [ctx.buffer_of(op, in_t)], [ctx.new_buffer(out_t)], macs=outer * depth))
    layer.inplace = InPlace("te_softmax_s8", 0)


def _expf(x: np.float32) -> np.float32:
    """exp of a float32, rounded to float32 (through double: correctly rounded except in astronomically rare
    double-rounding cases)."""
    try:
        return np.float32(math.exp(float(x)))
    except OverflowError:
        return np.float32(np.inf)


def logistic_table(in_scale: float, in_zp: int, out_scale: float, out_zp: int) -> np.ndarray:
    """LiteRT LUTPopulate<int8_t> for 1 / (1 + exp(-x)), in float32; entry k is for the input bit pattern k."""
    f32 = np.float32
    scale = f32(in_scale)
    inverse_scale = f32(1.0) / f32(out_scale)
    table = np.zeros(256, dtype=np.int8)
    with np.errstate(over="ignore", divide="ignore"):
        for val in range(-128, 128):
            x = scale * f32(val - in_zp)
            y = f32(1.0) / (f32(1.0) + _expf(-x))
            r = y * inverse_scale
            rounded = f32(round_half_away(float(r)))
            q = int(rounded + f32(out_zp))
            table[val & 0xFF] = max(-128, min(127, q))
    return table


# --- TFLM's int8 logistic: gemmlowp fixed point on int32, emulated with Python integers -------------------
_INT32_MIN, _INT32_MAX = -(1 << 31), (1 << 31) - 1
LOGISTIC_INPUT_INTEGER_BITS = 4


def _wrap32(x: int) -> int:
    return (x + (1 << 31)) % (1 << 32) - (1 << 31)


def _sat_rounding_doubling_high_mul(a: int, b: int, bits: int = 32) -> int:
    """gemmlowp SaturatingRoundingDoublingHighMul on int`bits` (C division truncates toward zero)."""
    if a == b == -(1 << (bits - 1)):
        return (1 << (bits - 1)) - 1
    ab = a * b
    n = ab + ((1 << (bits - 2)) if ab >= 0 else 1 - (1 << (bits - 2)))
    q = abs(n) >> (bits - 1)
    return q if n >= 0 else -q


def _rounding_divide_by_pot(x: int, exponent: int) -> int:
    mask = (1 << exponent) - 1
    threshold = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> exponent) + (1 if (x & mask) > threshold else 0)


def _sat_shift_left(x: int, exponent: int) -> int:
    """gemmlowp SaturatingRoundingMultiplyByPOT with a positive exponent."""
    threshold = (1 << (31 - exponent)) - 1
    if x > threshold:
        return _INT32_MAX
    if x < -threshold:
        return _INT32_MIN
    return x << exponent


def _exp_on_interval_between_negative_one_quarter_and_0_excl(a: int) -> int:
    """exp(a) for a in [-1/4, 0), Q0.31: gemmlowp's Taylor expansion around -1/8."""
    constant_term, one_third = 1895147668, 715827883
    x = _wrap32(a + (1 << 28))
    x2 = _sat_rounding_doubling_high_mul(x, x)
    x3 = _sat_rounding_doubling_high_mul(x2, x)
    x4 = _sat_rounding_doubling_high_mul(x2, x2)
    x4_over_4 = _rounding_divide_by_pot(x4, 2)
    poly = _rounding_divide_by_pot(
        _wrap32(_sat_rounding_doubling_high_mul(_wrap32(x4_over_4 + x3), one_third) + x2), 1)
    return _wrap32(constant_term + _sat_rounding_doubling_high_mul(constant_term, _wrap32(x + poly)))


_EXP_BARREL = ((-2, 1672461947), (-1, 1302514674), (0, 790015084), (1, 290630308), (2, 39332535), (3, 720401),
               (4, 242))   # exp(-2^k) in Q0.31


def _exp_on_negative_values(a: int, integer_bits: int) -> int:
    """gemmlowp exp_on_negative_values: a <= 0 with `integer_bits` <= 5 integer bits (gemmlowp clamps below -32
    for more), result in Q0.31."""
    assert integer_bits <= 5
    fractional_bits = 31 - integer_bits
    one_quarter = 1 << (fractional_bits - 2)
    a_mod_quarter_minus_one_quarter = _wrap32((a & (one_quarter - 1)) - one_quarter)
    result = _exp_on_interval_between_negative_one_quarter_and_0_excl(
        _sat_shift_left(a_mod_quarter_minus_one_quarter, integer_bits))
    remainder = _wrap32(a_mod_quarter_minus_one_quarter - a)
    for exponent, multiplier in _EXP_BARREL:
        if integer_bits > exponent and remainder & (1 << (fractional_bits + exponent)):
            result = _sat_rounding_doubling_high_mul(result, multiplier)
    return _INT32_MAX if a == 0 else result


def _newton_half_reciprocal(a: int) -> int:
    """gemmlowp's division in one_over_one_plus_x_for_x_in_0_1 and one_minus_x_over_one_plus_x_for_x_in_0_1:
    1 / ((1 + a) / 2), a in Q0.31, three Newton-Raphson steps, result in Q2.29."""
    s = a + _INT32_MAX                              # RoundingHalfSum(a, One): (sum +- 1) / 2, truncated
    half_denominator = (s + 1) // 2 if s >= 0 else -((1 - s) // 2)
    x = _wrap32(1515870810 + _sat_rounding_doubling_high_mul(half_denominator, -1010580540))
    for _ in range(3):
        half_denominator_times_x = _sat_rounding_doubling_high_mul(half_denominator, x)
        one_minus = _wrap32((1 << 29) - half_denominator_times_x)
        x = _wrap32(x + _sat_shift_left(_sat_rounding_doubling_high_mul(x, one_minus), 2))
    return x


def _one_over_one_plus_x_for_x_in_0_1(a: int) -> int:
    """gemmlowp: 1 / (1 + a), a in Q0.31, result in Q0.31."""
    return _sat_shift_left(_newton_half_reciprocal(a), 1)


def _fixed_point_logistic(a: int, integer_bits: int) -> int:
    """gemmlowp logistic: a with `integer_bits` integer bits, result in Q0.31."""
    if a == 0:
        return 1 << 30
    positive = _one_over_one_plus_x_for_x_in_0_1(_exp_on_negative_values(-abs(a), integer_bits))
    return positive if a > 0 else _wrap32(_INT32_MAX - positive)


def tflm_logistic_params(in_scale: float) -> tuple[int, int, int]:
    """TFLM CalculateArithmeticOpDataLogistic for int8: (input multiplier, input left shift, input range
    radius) from frexp(input_scale * 2^27) and CalculateInputRadius(4, left_shift, 31)."""
    real = float(np.float32(in_scale)) * float(1 << (31 - LOGISTIC_INPUT_INTEGER_BITS))
    q, left_shift = math.frexp(real)
    if not 0 <= left_shift <= 62:   # TFLM's radius would shift by a negative amount, or by 64 or more
        raise ValueError(f"input scale {in_scale:g} is outside what TFLM's fixed-point logistic handles "
                         "(2^-28 to 2^35)")
    multiplier = round_half_away(q * (1 << 31))   # exact: q has a float32's 24 significant bits
    radius = ((1 << LOGISTIC_INPUT_INTEGER_BITS) - 1) * (1 << (31 - LOGISTIC_INPUT_INTEGER_BITS)) >> left_shift
    return multiplier, left_shift, radius


def tflm_logistic_table(in_scale: float, in_zp: int) -> np.ndarray:
    """TFLM's reference_integer_ops::Logistic of every int8 input (output scale 1/256, zero point -128);
    entry k is for the input bit pattern k. ValueError outside input scales [2^-28, 2^35)."""
    multiplier, left_shift, radius = tflm_logistic_params(in_scale)
    table = np.zeros(256, dtype=np.int8)
    for val in range(-128, 128):
        x = val - in_zp
        if x <= -radius:
            q = -128
        elif x >= radius:
            q = 127
        else:
            # MultiplyByQuantizedMultiplier (double rounding); |x| < radius keeps x * 2^left_shift in int32
            in_q4 = _sat_rounding_doubling_high_mul(_wrap32(x << left_shift), multiplier)
            out_q0 = _fixed_point_logistic(in_q4, LOGISTIC_INPUT_INTEGER_BITS)
            q = max(-128, min(127, _rounding_divide_by_pot(out_q0, 31 - 8) - 128))
        table[val & 0xFF] = q
    return table


@lowering("LOGISTIC")
def lower_logistic(ctx, op):
    in_t, out_t, in_scale, in_zp, out_scale, out_zp = _unary_io(ctx, op)
    if np.float32(out_scale) != np.float32(1.0 / 256) or out_zp != -128:
        raise ctx.error(op, f"output quantization (scale {out_scale:g}, zero point {out_zp}) must be 1/256 and -128",
                        unsupported=True)
    if ctx.reference == "tflm":
        try:
            lut = tflm_logistic_table(in_scale, in_zp)
        except ValueError as e:
            raise ctx.error(op, str(e), unsupported=True) from None
    else:
        lut = logistic_table(in_scale, in_zp, out_scale, out_zp)
    n = int(ctx.tensor(in_t).nbytes)
    layer = ctx.add(Layer(op.name, op.index, "te_lut_s8", "te_lut_params", dict(size=n),
                          [ctx.buffer_of(op, in_t)], [ctx.new_buffer(out_t)],
                          [Const.of("lut", lut, "int8")], macs=0))
    layer.inplace = InPlace("te_lut_s8", 0)
