"""BROADCAST_TO (constant shape): the input repeated along its size-1 and missing leading dimensions, NumPy's
broadcasting as TFLite's. Of an int8 activation, a strided copy with zero strides (te_strided_copy_s8); of a
constant, folded. The bytes move unchanged (no requantization), as in both references."""
from __future__ import annotations

import numpy as np

from ..lower import lowering
from .shape import fold_or_gather, int_values, source_of


@lowering("BROADCAST_TO")
def lower_broadcast_to(ctx, op):
    in_t, out_t = op.inputs[0], op.outputs[0]
    shape = tuple(int(d) for d in int_values(ctx, op, op.inputs[1], "shape").reshape(-1))
    in_shape = tuple(int(d) for d in ctx.tensor(in_t).shape)
    if shape != tuple(int(d) for d in ctx.tensor(out_t).shape):
        raise ctx.error(op, f"the shape {list(shape)} is not the output's {list(ctx.tensor(out_t).shape)}")
    try:
        part = np.broadcast_to(source_of(ctx, in_t), shape)
    except ValueError:
        raise ctx.error(op, f"cannot broadcast the input shape {list(in_shape)} to {list(shape)}") from None
    fold_or_gather(ctx, op, in_t, out_t, part)
