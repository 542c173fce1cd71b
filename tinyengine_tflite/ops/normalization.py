"""L2_NORMALIZATION: int8 over the last dimension, as TFLite's reference integer kernel computes it (both
LiteRT's and TFLM's run reference_integer_ops::L2Normalization): each row's sum of squares of the input minus
its zero point, its inverse square root as a fixed-point multiplier, output scale 1/128 and zero point 0."""
from __future__ import annotations

import numpy as np

from ..layers import InPlace, Layer
from ..lower import lowering
from .activation import _unary_io

# The row's sum of squares (at most 255^2 per value) must fit the reference's int32 accumulator.
MAX_L2NORM_DEPTH = (2 ** 31 - 1) // (255 * 255)


@lowering("L2_NORMALIZATION")
def lower_l2_normalization(ctx, op):
    in_t, out_t, _, in_zp, out_scale, out_zp = _unary_io(ctx, op)
    if np.float32(out_scale) != np.float32(1.0 / 128) or out_zp != 0:
        raise ctx.error(op, f"output quantization (scale {out_scale:g}, zero point {out_zp}) must be 1/128 and 0",
                        unsupported=True)
    if op.options.get("fused_activation_function", 0) != 0:
        raise ctx.error(op, "a fused activation is not supported (TFLite's int8 kernel has none)", unsupported=True)
    shape = tuple(ctx.tensor(in_t).shape)
    if not shape:
        raise ctx.error(op, "the input must have at least one dimension")
    depth = int(shape[-1])
    if depth > MAX_L2NORM_DEPTH:
        raise ctx.error(op, f"the last dimension ({depth}) exceeds {MAX_L2NORM_DEPTH}: the sum of squares would "
                            "overflow TFLite's int32 accumulator", unsupported=True)
    outer = int(np.prod(shape[:-1], dtype=np.int64))
    layer = ctx.add(Layer(op.name, op.index, "te_l2norm_s8", "te_l2norm_params",
                          dict(outer=outer, depth=depth, input_offset=-in_zp),
                          [ctx.buffer_of(op, in_t)], [ctx.new_buffer(out_t)], macs=2 * outer * depth))
    layer.inplace = InPlace("te_l2norm_s8", 0)
