"""SOFTMAX and LOGISTIC, int8 -> int8 with output scale 1/256 and zero point -128.

SOFTMAX follows TFLite's reference int8 kernel, which both LiteRT's BUILTIN_REF resolver and TFLM run:
PreprocessSoftmaxScaling (beta * input_scale * 2^26 as a multiplier greater than one, in double),
diff_min = -CalculateInputRadius(5, left_shift), then gemmlowp fixed-point exp and reciprocal (in C).
Where a row's exps sum to 512 or more, TFLite's kernels stop on a failed check (their final shift would
exceed 31); the engine writes -128 there, the correctly rounded result (every probability is below 1/512).

LOGISTIC follows LiteRT's reference resolver, which evaluates int8 LOGISTIC through a 256-entry table built
in float32 (LUTPopulate: dequantize, 1 / (1 + exp(-x)), * 256, round half away from zero, - 128). TFLM
computes it differently (gemmlowp's fixed-point logistic after a Q4.27 rescale): the two references can
differ by one LSB, and the engine follows LiteRT. The table is computed here at compile time."""
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


@lowering("LOGISTIC")
def lower_logistic(ctx, op):
    in_t, out_t, in_scale, in_zp, out_scale, out_zp = _unary_io(ctx, op)
    if np.float32(out_scale) != np.float32(1.0 / 256) or out_zp != -128:
        raise ctx.error(op, f"output quantization (scale {out_scale:g}, zero point {out_zp}) must be 1/256 and -128",
                        unsupported=True)
    n = int(ctx.tensor(in_t).nbytes)
    layer = ctx.add(Layer(op.name, op.index, "te_lut_s8", "te_lut_params", dict(size=n),
                          [ctx.buffer_of(op, in_t)], [ctx.new_buffer(out_t)],
                          [Const.of("lut", logistic_table(in_scale, in_zp, out_scale, out_zp), "int8")], macs=0))
    layer.inplace = InPlace("te_lut_s8", 0)
