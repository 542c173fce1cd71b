"""L2_NORMALIZATION and LOG_SOFTMAX: int8 over the last dimension, as TFLite's reference integer kernels compute
them (LiteRT's reference resolver and TFLM run the same ones; kernels in te_activation.c).

- L2_NORMALIZATION (reference_integer_ops::L2Normalization): each row's sum of squares of the input minus its
  zero point, its inverse square root as a fixed-point multiplier; output scale 1/128, zero point 0.
- LOG_SOFTMAX (reference_integer_ops::LogSoftmax, beta 1): SOFTMAX's input rescaling (PreprocessSoftmaxScaling)
  and fixed-point exps summed in Q12.19, gemmlowp's fixed-point log of the sum, and the difference rescaled to
  the output's scale 16/256, zero point 127; differences at or below the inverse-rescaled lower limit give
  -128 (PreprocessLogSoftmaxScalingExp's reverse multiplier)."""
from __future__ import annotations

import numpy as np

from ..layers import InPlace, Layer
from ..lower import lowering
from ..quant import quantize_multiplier
from .activation import _unary_io, softmax_params
from .lut import require_output_quantization

# The row's sum of squares (at most 255^2 per value) must fit the reference's int32 accumulator.
MAX_L2NORM_DEPTH = (2 ** 31 - 1) // (255 * 255)


def _rows(ctx, op, in_t, max_depth: int, why: str) -> tuple[int, int]:
    """(rows, values per row) of a kernel over the last dimension, at most max_depth values per row."""
    shape = tuple(ctx.tensor(in_t).shape)
    if not shape:
        raise ctx.error(op, "the input must have at least one dimension")
    depth = int(shape[-1])
    if depth > max_depth:
        raise ctx.error(op, f"the last dimension ({depth}) exceeds {max_depth}: {why}", unsupported=True)
    return int(np.prod(shape[:-1], dtype=np.int64)), depth


@lowering("L2_NORMALIZATION")
def lower_l2_normalization(ctx, op):
    in_t, out_t, _, in_zp, out_scale, out_zp = _unary_io(ctx, op)
    require_output_quantization(ctx, op, out_scale, out_zp, 1.0 / 128, 0, "1/128")
    if op.options.get("fused_activation_function", 0) != 0:
        raise ctx.error(op, "a fused activation is not supported (TFLite's int8 kernel has none)", unsupported=True)
    outer, depth = _rows(ctx, op, in_t, MAX_L2NORM_DEPTH, "the sum of squares would overflow TFLite's int32 "
                                                          "accumulator")
    layer = ctx.add(Layer(op.name, op.index, "te_l2norm_s8", "te_l2norm_params",
                          dict(outer=outer, depth=depth, input_offset=-in_zp),
                          [ctx.buffer_of(op, in_t)], [ctx.new_buffer(out_t)], macs=2 * outer * depth))
    layer.inplace = InPlace("te_l2norm_s8", 0)


# The row's sum of exps in Q12.19 (at most 2^19 each) stays inside int32 for up to 4095 values.
MAX_LOG_SOFTMAX_DEPTH = 4095


@lowering("LOG_SOFTMAX")
def lower_log_softmax(ctx, op):
    in_t, out_t, in_scale, _, out_scale, out_zp = _unary_io(ctx, op)
    require_output_quantization(ctx, op, out_scale, out_zp, 16.0 / 256, 127, "16/256")
    outer, depth = _rows(ctx, op, in_t, MAX_LOG_SOFTMAX_DEPTH, "the sum of exps would overflow TFLite's Q12.19 "
                                                               "accumulator")
    mult, shift, diff_min = softmax_params(1.0, in_scale)
    reverse = float(1 << (31 - shift)) / mult if 1 <= shift <= 30 else 1.0
    if not reverse < 1.0:
        raise ctx.error(op, f"input scale {in_scale:g} is outside what TFLite's fixed-point log-softmax handles",
                        unsupported=True)
    reverse_mult, reverse_shift = quantize_multiplier(reverse)
    layer = ctx.add(Layer(op.name, op.index, "te_log_softmax_s8", "te_log_softmax_params",
                          {"softmax.outer": outer, "softmax.depth": depth, "softmax.input_mult": mult,
                           "softmax.input_left_shift": shift, "softmax.diff_min": diff_min,
                           "reverse_mult": reverse_mult, "reverse_shift": reverse_shift},
                          [ctx.buffer_of(op, in_t)], [ctx.new_buffer(out_t)], macs=outer * depth))
    layer.inplace = InPlace("te_log_softmax_s8", 0)
