"""ARG_MAX and ARG_MIN of an int8 tensor along one constant axis (negative counts from the end): the index of
the first largest / smallest value, in the output's type (int32 or int64), as TFLite's reference kernels compute
it; te_arg_{max,min}_s8_{s32,s64} over the input viewed as [outer, axis, inner]. Of a constant, folded."""
from __future__ import annotations

import numpy as np

from ..layers import Layer
from ..lower import lowering
from .shape import data_input, fold, int_values

_INDEX_TYPES = {"int32": "s32", "int64": "s64"}


@lowering("ARG_MAX", "ARG_MIN")
def lower_arg_min_max(ctx, op):
    if len(op.inputs) != 2 or len(op.outputs) != 1:
        raise ctx.error(op, f"expects 2 inputs and 1 output, has {len(op.inputs)} and {len(op.outputs)}")
    in_t, out_t = op.inputs[0], op.outputs[0]
    shape = tuple(int(d) for d in ctx.tensor(in_t).shape)
    axis = int_values(ctx, op, op.inputs[1], "the axis").reshape(-1)
    if axis.size != 1:
        raise ctx.error(op, f"the axis has {axis.size} values; one is expected")
    a = int(axis[0]) + (len(shape) if int(axis[0]) < 0 else 0)
    if not 0 <= a < len(shape):
        raise ctx.error(op, f"axis {int(axis[0])} is out of range for rank {len(shape)}")
    out_type = ctx.tensor(out_t).dtype
    if out_type not in _INDEX_TYPES:
        raise ctx.error(op, f"output type {out_type} is not supported; int32 or int64 is", unsupported=True)
    expect = shape[:a] + shape[a + 1:]
    if tuple(ctx.tensor(out_t).shape) != expect:
        raise ctx.error(op, f"output shape {list(ctx.tensor(out_t).shape)} is not {list(shape)} without axis {a}: "
                            f"expected {list(expect)}")
    if shape[a] == 0:
        raise ctx.error(op, "the reduced axis is empty", unsupported=True)
    value = ctx.value(in_t)
    if value is not None:   # NumPy's argmax / argmin also keep the first of equal values
        pick = np.argmax if op.name == "ARG_MAX" else np.argmin
        fold(ctx, op, out_t, pick(np.asarray(value), axis=a))
        return
    data_input(ctx, op, in_t)
    kernel = f"te_arg_{'max' if op.name == 'ARG_MAX' else 'min'}_s8_{_INDEX_TYPES[out_type]}"
    params = dict(outer=int(np.prod(shape[:a], dtype=np.int64)), axis_size=shape[a],
                  inner=int(np.prod(shape[a + 1:], dtype=np.int64)))
    ctx.add(Layer(op.name, op.index, kernel, "te_arg_min_max_params", params, [ctx.buffer_of(op, in_t)],
                  [ctx.new_buffer(out_t, dtype=out_type)], macs=int(np.prod(shape, dtype=np.int64))))
