"""MIRROR_PAD (constant paddings, REFLECT or SYMMETRIC): the input padded with its own reflection, edge
excluded (REFLECT) or included (SYMMETRIC), as NumPy's np.pad modes "reflect" and "symmetric". Of an int8
activation, te_axis_map_copy_s8 through one index map per dimension group (unpadded neighbouring dimensions
merged, the trailing ones copied as contiguous runs); of a constant, folded. The bytes move unchanged (no
requantization), as in both references."""
from __future__ import annotations

import numpy as np

from ..layers import Const, Layer
from ..lower import lowering
from .shape import data_input, fold, int_values

MODES = {0: "reflect", 1: "symmetric"}   # tflite MirrorPadMode


def _groups(shape: tuple[int, ...], pads: np.ndarray) -> list[tuple[int, int, tuple[int, int]]]:
    """(input size, input stride, (left, right)) per dimension group: runs of unpadded dimensions merged."""
    strides = [int(np.prod(shape[d + 1:], dtype=np.int64)) for d in range(len(shape))]
    groups: list[tuple[int, int, tuple[int, int]]] = []
    for d, n in enumerate(shape):
        lr = (int(pads[d, 0]), int(pads[d, 1]))
        if groups and lr == (0, 0) and groups[-1][2] == (0, 0):
            groups[-1] = (groups[-1][0] * n, strides[d], (0, 0))
        else:
            groups.append((n, strides[d], lr))
    return groups


@lowering("MIRROR_PAD")
def lower_mirror_pad(ctx, op):
    in_t, out_t = op.inputs[0], op.outputs[0]
    shape = tuple(int(d) for d in ctx.tensor(in_t).shape)
    mode = MODES.get(int(op.options.get("mode", 0)))
    if mode is None:
        raise ctx.error(op, f"mode {op.options.get('mode')} is neither REFLECT (0) nor SYMMETRIC (1)")
    pads = int_values(ctx, op, op.inputs[1], "the paddings")
    if pads.shape != (len(shape), 2):
        raise ctx.error(op, f"paddings (tensor {op.inputs[1]}) of shape {list(pads.shape)} do not pad a "
                            f"rank-{len(shape)} input (shape [{len(shape)}, 2] expected)")
    limit = np.array(shape)[:, None] - (1 if mode == "reflect" else 0)
    if (pads < 0).any() or (pads > limit).any():
        bound = "size - 1" if mode == "reflect" else "size"
        raise ctx.error(op, f"paddings {pads.tolist()} are not within [0, {bound}] of the input shape {list(shape)} "
                            f"({mode.upper()} mode)")
    out_shape = tuple(n + int(p.sum()) for n, p in zip(shape, pads))
    if tuple(int(d) for d in ctx.tensor(out_t).shape) != out_shape:
        raise ctx.error(op, f"output shape {list(ctx.tensor(out_t).shape)} is not {list(out_shape)}")
    value = ctx.value(in_t)
    if value is not None:
        fold(ctx, op, out_t, np.pad(np.asarray(value), pads.tolist(), mode=mode))
        return
    data_input(ctx, op, in_t)
    if ctx.tensor(out_t).dtype != "int8":
        raise ctx.error(op, f"output (tensor {out_t}) is {ctx.tensor(out_t).dtype}; int8 is expected",
                        unsupported=True)
    groups = _groups(shape, pads)
    inner = groups.pop()[0] if len(groups) > 1 and groups[-1][2] == (0, 0) else 1
    if len(groups) > 5:
        raise ctx.error(op, f"paddings {pads.tolist()} alternate over {len(groups)} dimension groups (at most 5 "
                            "are supported)", unsupported=True)
    groups = [(1, 0, (0, 0))] * (5 - len(groups)) + groups
    maps = [np.pad(np.arange(n), lr, mode=mode) * stride for n, stride, lr in groups]
    params = {f"n{i}": int(m.size) for i, m in enumerate(maps)}
    params["inner"] = inner
    ctx.add(Layer(op.name, op.index, "te_axis_map_copy_s8", "te_axis_map_params", params,
                  [ctx.buffer_of(op, in_t)], [ctx.new_buffer(out_t)],
                  [Const.of("map", np.concatenate(maps), "int32")], macs=0))
