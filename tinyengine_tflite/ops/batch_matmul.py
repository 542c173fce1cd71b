"""BATCH_MATMUL (int8): lhs [..., M, K] x rhs [..., K, N] -> [..., M, N] (adj_x / adj_y transpose the last two
dimensions of an operand), the batch dimensions broadcast as NumPy's; the rhs an activation or a constant. Both
references accumulate (lhs - lhs_zp) * (rhs - rhs_zp) in int32 and requantize with one multiplier
(lhs_scale * rhs_scale / output_scale, QuantizeMultiplier of the double) through MultiplyByQuantizedMultiplier
(rounding twice, in LiteRT's reference as in TFLM), clamped to int8 (no fused activation). te_batch_matmul_s8
reads the operands through strides, so the transpositions and broadcasts copy nothing."""
from __future__ import annotations

import numpy as np

from ..layers import Const, Layer
from ..lower import lowering
from ..quant import conv_multipliers
from .common import activation_and_operand, qparams

MAX_RANK = 5     # LiteRT's limit (TFLM's is 4: its Prepare refuses more)


def _strides(shape: tuple[int, ...]) -> list[int]:
    return [int(np.prod(shape[d + 1:], dtype=np.int64)) for d in range(len(shape))]


@lowering("BATCH_MATMUL")
def lower_batch_matmul(ctx, op):
    lhs_t, rhs_t, out_t = activation_and_operand(ctx, op, ("lhs", "rhs"))
    lhs_shape, rhs_shape = (tuple(int(d) for d in ctx.tensor(t).shape) for t in (lhs_t, rhs_t))
    if not (2 <= len(lhs_shape) <= MAX_RANK and 2 <= len(rhs_shape) <= MAX_RANK):
        raise ctx.error(op, f"operands of shapes {list(lhs_shape)} and {list(rhs_shape)}: ranks 2 to {MAX_RANK} "
                            "are supported")
    adj_x, adj_y = bool(op.options.get("adj_x", False)), bool(op.options.get("adj_y", False))
    rows, depth = (lhs_shape[-1], lhs_shape[-2]) if adj_x else (lhs_shape[-2], lhs_shape[-1])
    rhs_depth, cols = (rhs_shape[-1], rhs_shape[-2]) if adj_y else (rhs_shape[-2], rhs_shape[-1])
    if depth != rhs_depth:
        raise ctx.error(op, f"the lhs {list(lhs_shape)} (adj_x {adj_x}) and rhs {list(rhs_shape)} (adj_y {adj_y}) "
                            f"do not share the inner dimension ({depth} != {rhs_depth})")
    try:
        batch = np.broadcast_shapes(lhs_shape[:-2], rhs_shape[:-2])
    except ValueError:
        raise ctx.error(op, f"the batch dimensions of {list(lhs_shape)} and {list(rhs_shape)} do not "
                            "broadcast") from None
    out_shape = tuple(batch) + (rows, cols)
    if tuple(int(d) for d in ctx.tensor(out_t).shape) != out_shape:
        raise ctx.error(op, f"output shape {list(ctx.tensor(out_t).shape)} is not {list(out_shape)}")
    lhs_s, lhs_zp = qparams(ctx, op, lhs_t, "lhs")
    rhs_s, rhs_zp = qparams(ctx, op, rhs_t, "rhs")
    out_s, out_zp = qparams(ctx, op, out_t, "output")
    mult, shift = conv_multipliers(lhs_s, [rhs_s], out_s)
    params = {}
    for name, shape in (("lhs", lhs_shape), ("rhs", rhs_shape)):
        lead = (1,) * (len(batch) - len(shape) + 2) + shape[:-2]
        strides = [0 if n == 1 else s for n, s in zip(lead, _strides(lead + shape[-2:]))]
        strides = [0] * (3 - len(strides)) + strides
        params.update({f"{name}_b{i}": s for i, s in enumerate(strides)})
    bdims = (1,) * (3 - len(batch)) + tuple(batch)
    params = {**{f"b{i}": n for i, n in enumerate(bdims)}, **params,
              "rows": rows, "cols": cols, "depth": depth,
              "lhs_row": 1 if adj_x else depth, "lhs_depth": rows if adj_x else 1,
              "rhs_depth": 1 if adj_y else cols, "rhs_col": depth if adj_y else 1,
              "lhs_offset": -lhs_zp, "rhs_offset": -rhs_zp, "output_offset": out_zp,
              "multiplier": int(mult[0]), "shift": int(shift[0])}
    rhs_value = ctx.value(rhs_t)
    inputs, consts = [ctx.buffer_of(op, lhs_t)], []
    if rhs_value is None:
        inputs.append(ctx.buffer_of(op, rhs_t))
    else:
        consts.append(Const.of("rhs", np.asarray(rhs_value), "int8"))
    macs = int(np.prod(out_shape, dtype=np.int64)) * depth
    ctx.add(Layer(op.name, op.index, "te_batch_matmul_s8", "te_batch_matmul_params", params, inputs,
                  [ctx.new_buffer(out_t)], consts, macs=macs))
