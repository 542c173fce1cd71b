"""int8 unary operators that run as a 256-entry lookup table (te_lut_s8): RELU, RELU6, RELU_N1_TO_1,
RELU_0_TO_1, LEAKY_RELU, HARD_SWISH, TANH, ELU, RSQRT.

Each output is a function of the one int8 input value, so the compiler computes the table by emulating, for
every input value, the integer arithmetic of the chosen reference kernel (ctx.reference) exactly:
- RELU family: requantize by input_scale / output_scale (MultiplyByQuantizedMultiplier), clamp to the
  activation's range in the output scale. LiteRT forms the multiplier as a float32 quotient; TFLM in double.
  TFLM's RELU6 does not requantize: it clamps the raw input to [input zero point, quantized 6] (it assumes
  the input and output quantization are equal, as the converter makes them).
- LEAKY_RELU: reference_ops::QuantizeLeakyRelu: two multipliers (identity and alpha), chosen by the sign of
  the input minus its zero point; LiteRT forms them in float32, TFLM in double.
- HARD_SWISH: reference_ops::HardSwish, int16 fixed point (both references run it).
- TANH: LiteRT's reference resolver fills a table in float32 (tanh of the dequantized input, rounded);
  TFLM runs reference_integer_ops::Tanh, gemmlowp's fixed-point tanh on a Q4.27 input.
- ELU: both fill a table in float32: expm1 below zero, the identity above.
- RSQRT: elementwise.cc's quantized Rsqrt: GetInvSqrtQuantizedMultiplierExp of the input minus its zero
  point, then two MultiplyByQuantizedMultiplier; a zero input gives the maximum. Negative inputs (undefined,
  the references stop with an error) give the minimum."""
from __future__ import annotations

import math

import numpy as np

from ..layers import Const, InPlace, Layer
from ..lower import lowering
from ..quant import quantize_multiplier, round_half_away
from .activation import (_INT32_MAX, _exp_on_negative_values, _newton_half_reciprocal, _rounding_divide_by_pot,
                         _sat_rounding_doubling_high_mul, _sat_shift_left, _unary_io, _wrap32,
                         tflm_logistic_params)

F32 = np.float32
VALUES = np.arange(-128, 128)


def mbqm(x: int, multiplier: int, shift: int) -> int:
    """TFLite MultiplyByQuantizedMultiplier (double rounding), int32 wrap-around as in C."""
    return _rounding_divide_by_pot(_sat_rounding_doubling_high_mul(_wrap32(x << max(shift, 0)), multiplier),
                                   max(-shift, 0))


def _table(fn) -> np.ndarray:
    """Entry k of the table is fn(v) for the int8 value v whose bit pattern is k, clamped to int8."""
    table = np.zeros(256, dtype=np.int8)
    for v in range(-128, 128):
        table[v & 0xFF] = max(-128, min(127, int(fn(v))))
    return table


def float_table(fn, in_scale, in_zp, out_scale, out_zp) -> np.ndarray:
    """TFLite's LUTPopulate / TFLM's PopulateLookupTable: fn of the float32 dequantized input, times the float32
    inverse output scale, rounded half away from zero, plus the zero point."""
    inverse_scale = F32(1.0) / F32(out_scale)

    def one(v):
        y = F32(fn(F32(in_scale) * F32(v - in_zp)))
        return int(F32(round_half_away(float(y * inverse_scale))) + F32(out_zp))
    with np.errstate(over="ignore", invalid="ignore"):
        return _table(one)


def _f32(fn):
    """A float32 function from a double one: the result correctly rounded to float32."""
    return lambda x: F32(fn(float(x)))


# --- RELU family -----------------------------------------------------------------------------------------
RELU_RANGES = {"RELU": (0.0, None), "RELU6": (0.0, 6.0), "RELU_N1_TO_1": (-1.0, 1.0), "RELU_0_TO_1": (0.0, 1.0)}


def relu_table(name, reference, in_scale, in_zp, out_scale, out_zp) -> np.ndarray:
    lo_f, hi_f = RELU_RANGES[name]
    if name == "RELU6" and reference == "tflm":
        six = round_half_away(6.0 / float(F32(in_scale))) + in_zp
        return _table(lambda v: min(max(v, in_zp), six))
    if reference == "tflm":
        real = float(F32(in_scale)) / float(F32(out_scale))
    else:
        real = float(F32(in_scale) / F32(out_scale))
    mult, shift = quantize_multiplier(real)

    def bound(x):
        return out_zp + round_half_away(float(F32(x) / F32(out_scale)))
    lo = max(-128, bound(lo_f))
    hi = 127 if hi_f is None else min(127, bound(hi_f))
    return _table(lambda v: min(max(out_zp + mbqm(v - in_zp, mult, shift), lo), hi))


# --- LEAKY_RELU ------------------------------------------------------------------------------------------
def leaky_relu_table(alpha, reference, in_scale, in_zp, out_scale, out_zp) -> np.ndarray:
    if reference == "tflm":
        identity = quantize_multiplier(float(F32(in_scale)) / float(F32(out_scale)))
        negative = quantize_multiplier(float(F32(in_scale)) * float(F32(alpha)) / float(F32(out_scale)))
    else:
        identity = quantize_multiplier(float(F32(in_scale) / F32(out_scale)))
        negative = quantize_multiplier(float(F32(in_scale) * F32(alpha) / F32(out_scale)))
    return _table(lambda v: out_zp + mbqm(v - in_zp, *(identity if v >= in_zp else negative)))


# --- HARD_SWISH: int16 fixed point -------------------------------------------------------------------------
_INT16_MIN, _INT16_MAX = -(1 << 15), (1 << 15) - 1


def _sat16(x: int) -> int:
    return max(_INT16_MIN, min(_INT16_MAX, x))


def _wrap16(x: int) -> int:
    return (x + (1 << 15)) % (1 << 16) - (1 << 15)


def _srdhm16(a: int, b: int) -> int:
    return _sat_rounding_doubling_high_mul(a, b, 16)


def _sdhm16(a: int, b: int) -> int:
    """TFLite's SaturatingDoublingHighMul on int16: a * b / 2^15, truncated toward zero."""
    if a == b == _INT16_MIN:
        return _INT16_MAX
    ab = a * b
    return _wrap16(abs(ab) >> 15 if ab >= 0 else -(abs(ab) >> 15))


def _int16_multiplier(real: float) -> tuple[int, int]:
    """QuantizeMultiplier, then DownScaleInt32ToInt16Multiplier."""
    m, e = quantize_multiplier(real)
    return (_INT16_MAX if m >= _INT32_MAX - (1 << 15) else (m + (1 << 15)) >> 16), e


def hard_swish_params(in_scale, out_scale):
    hires = F32(1.0 / 128.0) * F32(in_scale)
    out_m, out_e = _int16_multiplier(float(hires / F32(out_scale)))
    relu_m, relu_e = _int16_multiplier(float(hires / F32(3.0 / 32768.0)))
    return out_m, out_e, relu_m, relu_e


def hard_swish_table(in_scale, in_zp, out_scale, out_zp) -> np.ndarray:
    out_m, out_e, relu_m, relu_e = hard_swish_params(in_scale, out_scale)

    def one(v):
        hires = _wrap16((v - in_zp) * 128)
        preshift_out = _srdhm16(hires, out_m)
        reluish = hires
        if relu_e > 0:
            reluish = _sat16(reluish * (1 << (relu_e - 1)))
        reluish = _srdhm16(reluish, relu_m)
        if relu_e > 0:
            reluish = _sat16(reluish * 2)
        if relu_e < 0:
            reluish = _rounding_divide_by_pot(reluish, -relu_e)
        reluish = _wrap16((reluish + (1 << 15)) >> 1)
        return _rounding_divide_by_pot(_sdhm16(reluish, preshift_out), -out_e) + out_zp
    return _table(one)


# --- TANH ------------------------------------------------------------------------------------------------
def _fixed_point_tanh(a: int, integer_bits: int) -> int:
    """gemmlowp tanh: a with `integer_bits` integer bits, result in Q0.31:
    (1 - e) / (1 + e) with e = exp(-2|a|), the sign restored."""
    if a == 0:
        return 0
    x = _newton_half_reciprocal(_exp_on_negative_values(-abs(a), integer_bits + 1))
    t = _sat_shift_left(_wrap32(x - (1 << 29)), 2)
    return t if a > 0 else -t


def tflm_tanh_table(in_scale, in_zp) -> np.ndarray:
    """TFLM reference_integer_ops::Tanh (output scale 1/128, zero point 0). ValueError for input scales outside
    what its parameters handle."""
    multiplier, left_shift, radius = tflm_logistic_params(in_scale)

    def one(v):
        x = v - in_zp
        if x <= -radius:
            return -128
        if x >= radius:
            return 127
        return _rounding_divide_by_pot(_fixed_point_tanh(mbqm(x, multiplier, left_shift), 4), 31 - 7)
    return _table(one)


# --- RSQRT -----------------------------------------------------------------------------------------------
def _inv_sqrt_multiplier(x: int) -> tuple[int, int]:
    """TFLite GetInvSqrtQuantizedMultiplierExp(x, reverse_shift = -1): 1 / sqrt(x) as (multiplier, shift)."""
    if x <= 1:
        return _INT32_MAX, 0
    shift = 11
    while x >= 1 << 29:
        x //= 4
        shift += 1
    pairs = ((32 - x.bit_length()) - 1) // 2 - 1
    shift -= pairs
    x <<= 2 * pairs
    f3_in = x >> 1
    half_in = _rounding_divide_by_pot(f3_in, 1)
    half_three = (1 << 28) + (1 << 27)
    r = 1 << 28                                    # F3 one
    for _ in range(5):
        r3 = _sat_shift_left(_sat_rounding_doubling_high_mul(_sat_rounding_doubling_high_mul(r, r), r), 6)
        r = _sat_shift_left(_wrap32(_sat_rounding_doubling_high_mul(half_three, r) -
                                    _sat_rounding_doubling_high_mul(half_in, r3)), 3)
    r = _sat_rounding_doubling_high_mul(r, 1518500250)
    if shift < 0:
        r = _wrap32(r << -shift)
        shift = 0
    return r, -shift


RSQRT_SHIFT = 20


def rsqrt_table(in_scale, in_zp, out_scale, out_zp) -> np.ndarray:
    mult, shift = quantize_multiplier(1.0 / math.sqrt(float(F32(in_scale))) / float(F32(out_scale)))

    def one(v):
        x = v - in_zp
        if x == 0:
            return 127
        if x < 0:
            return -128
        inv_m, inv_s = _inv_sqrt_multiplier(x)
        return mbqm(mbqm(1, inv_m, inv_s + RSQRT_SHIFT), mult, shift - RSQRT_SHIFT) + out_zp
    return _table(one)


# --- lowerings -------------------------------------------------------------------------------------------
def require_output_quantization(ctx, op, out_scale, out_zp, scale: float, zero_point: int, scale_text: str):
    """The fixed output quantization a TFLite kernel requires (compared as float32), or an error naming it."""
    if F32(out_scale) != F32(scale) or out_zp != zero_point:
        raise ctx.error(op, f"output quantization (scale {out_scale:g}, zero point {out_zp}) must be {scale_text} "
                            f"and {zero_point}", unsupported=True)


def _lut_layer(ctx, op, in_t, out_t, table: np.ndarray) -> None:
    layer = ctx.add(Layer(op.name, op.index, "te_lut_s8", "te_lut_params", dict(size=int(ctx.tensor(in_t).nbytes)),
                          [ctx.buffer_of(op, in_t)], [ctx.new_buffer(out_t)], [Const.of("lut", table, "int8")],
                          macs=0))
    layer.inplace = InPlace("te_lut_s8", 0)


@lowering(*RELU_RANGES)
def lower_relu(ctx, op):
    in_t, out_t, *q = _unary_io(ctx, op)
    _lut_layer(ctx, op, in_t, out_t, relu_table(op.name, ctx.reference, *q))


@lowering("LEAKY_RELU")
def lower_leaky_relu(ctx, op):
    in_t, out_t, *q = _unary_io(ctx, op)
    _lut_layer(ctx, op, in_t, out_t, leaky_relu_table(float(op.options.get("alpha", 0.2)), ctx.reference, *q))


@lowering("HARD_SWISH")
def lower_hard_swish(ctx, op):
    in_t, out_t, in_scale, in_zp, out_scale, out_zp = _unary_io(ctx, op)
    out_m, out_e, _, _ = hard_swish_params(in_scale, out_scale)
    if out_e > 0:
        raise ctx.error(op, f"input scale / output scale ({in_scale:g} / {out_scale:g}) is too large for TFLite's "
                            "hard-swish (its output multiplier exponent must be <= 0)", unsupported=True)
    _lut_layer(ctx, op, in_t, out_t, hard_swish_table(in_scale, in_zp, out_scale, out_zp))


@lowering("TANH")
def lower_tanh(ctx, op):
    in_t, out_t, in_scale, in_zp, out_scale, out_zp = _unary_io(ctx, op)
    if ctx.reference == "tflm":
        require_output_quantization(ctx, op, out_scale, out_zp, 1.0 / 128, 0, "1/128")
        try:
            table = tflm_tanh_table(in_scale, in_zp)
        except ValueError as e:
            raise ctx.error(op, str(e), unsupported=True) from None
    else:
        table = float_table(_f32(math.tanh), in_scale, in_zp, out_scale, out_zp)
    _lut_layer(ctx, op, in_t, out_t, table)


@lowering("ELU")
def lower_elu(ctx, op):
    in_t, out_t, *q = _unary_io(ctx, op)
    expm1 = _f32(math.expm1)
    _lut_layer(ctx, op, in_t, out_t, float_table(lambda x: expm1(x) if x < 0 else x, *q))


@lowering("RSQRT")
def lower_rsqrt(ctx, op):
    in_t, out_t, *q = _unary_io(ctx, op)
    _lut_layer(ctx, op, in_t, out_t, rsqrt_table(*q))
