"""Reductions of int8 tensors over constant axes (negative ones count from the end; keep_dims or not):
REDUCE_MAX and REDUCE_MIN take the raw extreme value, as TFLite's reference kernels do (te_reduce_max_s8 /
te_reduce_min_s8); SUM rescales the zero-point-corrected sum by input scale / output scale as TFLite Micro
does (its integer QuantizedMeanOrSum with compute_sum; te_mean_s8 with that multiplier), in both conversions:
LiteRT's reference SUM for int8 with rescaling gives outputs unrelated to the sums (tests/test_te_reduce.py
checks that it still does). MEAN is in pool.py. REDUCE_MAX / REDUCE_MIN of a constant are folded."""
from __future__ import annotations

import numpy as np

from ..layers import Layer
from ..lower import lowering
from ..quant import quantize_multiplier
from .common import qparams
from .pool import checked_dims, mean_layer, reduced_count, reduced_shape
from .shape import data_input, fold


def reduction(ctx, op) -> tuple[int, int, tuple[int, ...], list[int]]:
    """(input tensor, output tensor, input shape, resolved axes) of a reduction with a checked output shape."""
    if len(op.inputs) != 2 or len(op.outputs) != 1:
        raise ctx.error(op, f"expects 2 inputs and 1 output, has {len(op.inputs)} and {len(op.outputs)}")
    in_t, out_t = op.inputs[0], op.outputs[0]
    shape, axes = reduced_shape(ctx, op, in_t, out_t, "{} reduced")
    if ctx.value(in_t) is None:
        data_input(ctx, op, in_t)
        if ctx.tensor(out_t).dtype != "int8":
            raise ctx.error(op, f"output is {ctx.tensor(out_t).dtype}; int8 is expected", unsupported=True)
    return in_t, out_t, shape, axes


@lowering("REDUCE_MAX", "REDUCE_MIN")
def lower_reduce_extreme(ctx, op):
    in_t, out_t, shape, axes = reduction(ctx, op)
    pick = np.max if op.name == "REDUCE_MAX" else np.min
    value = ctx.value(in_t)
    if value is not None:
        fold(ctx, op, out_t, pick(np.asarray(value), axis=tuple(axes)) if axes else value)
        return
    kernel = "te_reduce_max_s8" if op.name == "REDUCE_MAX" else "te_reduce_min_s8"
    ctx.add(Layer(op.name, op.index, kernel, "te_reduce_params", checked_dims(ctx, op, shape, axes),
                  [ctx.buffer_of(op, in_t)], [ctx.new_buffer(out_t)], macs=int(np.prod(shape, dtype=np.int64))))


@lowering("SUM")
def lower_sum(ctx, op):
    in_t, out_t, shape, axes = reduction(ctx, op)
    if ctx.value(in_t) is not None:
        raise ctx.error(op, "a constant input is not supported (a converter folds this)", unsupported=True)
    count = reduced_count(ctx, op, shape, axes, "summing")
    in_scale, in_zp = qparams(ctx, op, in_t, "input")
    out_scale, out_zp = qparams(ctx, op, out_t, "output")
    mult, shift = quantize_multiplier(float(np.float32(in_scale)) / float(np.float32(out_scale)))
    checked_dims(ctx, op, shape, axes)
    layer = mean_layer(op.index, ctx.buffer_of(op, in_t), ctx.new_buffer(out_t), shape, axes,
                       dict(sum_offset=-in_zp * count, mult=mult, shift=shift, output_zp=out_zp))
    layer.op = op.name
    ctx.add(layer)
