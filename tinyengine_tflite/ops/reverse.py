"""REVERSE_V2: the input reversed along constant axes. Of an int8 activation, a strided copy with negative
strides (te_strided_copy_s8); of a constant, folded. The bytes move unchanged, as in both references (no
requantization). A Keras Bidirectional or go_backwards LSTM converts to REVERSE_V2 around the LSTM."""
from __future__ import annotations

from ..lower import lowering
from .fold import slice_or_fold
from .shape import int_values


@lowering("REVERSE_V2")
def lower_reverse(ctx, op):
    in_t, out_t = op.inputs[0], op.outputs[0]
    rank = len(ctx.tensor(in_t).shape)
    axes = int_values(ctx, op, op.inputs[1], "axis").reshape(-1).tolist()
    if not axes or any(not -rank <= a < rank for a in axes) or len({a % rank for a in axes}) != len(axes):
        raise ctx.error(op, f"the axes {axes} are not distinct axes of a rank-{rank} input")
    flipped = {a % rank for a in axes}
    slice_or_fold(ctx, op, in_t, out_t, tuple(slice(None, None, -1) if d in flipped else slice(None)
                                              for d in range(rank)))
