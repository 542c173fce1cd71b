"""GATHER_ND (constant indices): output[i..., :] = params[indices[i..., :k], :] for int8 params. The first k
dimensions of params act as one axis of their product, so the copy is a strided copy when the rows it takes
are evenly spaced, and else te_gather_s8 of the rows' linear indices; constant params are folded. The bytes
move unchanged (no requantization), as in both references."""
from __future__ import annotations

import numpy as np

from ..layers import Const, Layer
from ..lower import lowering
from .shape import affine_dims, data_input, fold, gather, int_values, source_of


@lowering("GATHER_ND")
def lower_gather_nd(ctx, op):
    in_t, out_t = op.inputs[0], op.outputs[0]
    shape = tuple(int(d) for d in ctx.tensor(in_t).shape)
    idx = int_values(ctx, op, op.inputs[1], "the indices")
    k = int(idx.shape[-1]) if idx.ndim else 0
    if not 1 <= k <= len(shape):
        raise ctx.error(op, f"indices of shape {list(idx.shape)} do not index a rank-{len(shape)} input")
    lead, rest = shape[:k], shape[k:]
    rows = idx.reshape(-1, k)
    if rows.size and ((rows < 0).any() or (rows >= np.array(lead)).any()):
        raise ctx.error(op, f"indices {rows.tolist()} are outside the input shape {list(shape)}")
    out_shape = tuple(int(d) for d in idx.shape[:-1]) + rest
    if tuple(int(d) for d in ctx.tensor(out_t).shape) != out_shape:
        raise ctx.error(op, f"output shape {list(ctx.tensor(out_t).shape)} is not {list(out_shape)}")
    linear = np.ravel_multi_index(tuple(rows.T), lead) if rows.size else np.zeros(0, dtype=np.int64)
    part = source_of(ctx, in_t).reshape((-1,) + rest)[linear].reshape(out_shape)
    if ctx.value(in_t) is not None:
        fold(ctx, op, out_t, part)
    elif part.size and affine_dims(part) is not None:
        gather(ctx, op, in_t, out_t, part)
    else:
        data_input(ctx, op, in_t)
        if ctx.tensor(out_t).dtype != "int8" or not part.size:
            raise ctx.error(op, f"output is {ctx.tensor(out_t).dtype} of {part.size} values; a non-empty int8 "
                                "output is expected", unsupported=True)
        ctx.add(Layer(op.name, op.index, "te_gather_s8", "te_gather_params",
                      dict(outer=1, axis_size=int(np.prod(lead)), count=int(linear.size),
                           inner=int(np.prod(rest, dtype=np.int64))),
                      [ctx.buffer_of(op, in_t)], [ctx.new_buffer(out_t)], [Const.of("index", linear, "int32")],
                      macs=0))
