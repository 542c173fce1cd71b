"""SPLIT, SPLIT_V and UNPACK: every output is a slice of the input along one axis, copied with
te_strided_copy_s8 (shape.gather). TFLite copies the raw int8 values whatever the outputs' quantization, and so
does the engine; of a constant input every output is folded."""
from __future__ import annotations

import numpy as np

from ..lower import lowering
from .shape import fold_or_gather, int_values, source_of


def _operands(ctx, op, n_inputs: int, in_pos: int, axis_pos: int | None) -> tuple[int, int, int]:
    """(input tensor, axis, the axis' size) after checking the operand count; the axis is input axis_pos, or the
    `axis` option when axis_pos is None."""
    if len(op.inputs) != n_inputs or not op.outputs:
        raise ctx.error(op, f"expects {n_inputs} input(s) and outputs, has {len(op.inputs)} and {len(op.outputs)}")
    in_t = op.inputs[in_pos]
    axis = int(op.options.get("axis", 0))
    if axis_pos is not None:
        v = int_values(ctx, op, op.inputs[axis_pos], "the axis").reshape(-1)
        if v.size != 1:
            raise ctx.error(op, f"the axis has {v.size} values; one is expected")
        axis = int(v[0])
    shape = ctx.tensor(in_t).shape
    a = axis + len(shape) if axis < 0 else axis
    if not 0 <= a < len(shape):
        raise ctx.error(op, f"axis {axis} is out of range for rank {len(shape)}")
    return in_t, a, int(shape[a])


def slice_outputs(ctx, op, in_t: int, axis: int, sizes: list[int], squeeze: bool = False) -> None:
    """Output k is the input's slice [start_k, start_k + sizes[k]) along axis (with that axis dropped when
    squeeze, as UNPACK does)."""
    shape = tuple(int(d) for d in ctx.tensor(in_t).shape)
    if len(sizes) != len(op.outputs):
        raise ctx.error(op, f"{len(sizes)} slices for {len(op.outputs)} outputs")
    if sum(sizes) != shape[axis] or min(sizes) < 0:
        raise ctx.error(op, f"slice sizes {sizes} do not split dimension {axis} of {list(shape)}")
    source = source_of(ctx, in_t)
    start = 0
    for out_t, n in zip(op.outputs, sizes):
        part = np.take(source, np.arange(start, start + n), axis=axis)
        start += n
        if squeeze:
            part = np.squeeze(part, axis=axis)
        if out_t < 0:
            continue
        out_shape = tuple(int(d) for d in ctx.tensor(out_t).shape)
        if out_shape != part.shape:
            raise ctx.error(op, f"output tensor {out_t} has shape {list(out_shape)}; the slice is {list(part.shape)}")
        fold_or_gather(ctx, op, in_t, out_t, part)


@lowering("SPLIT")
def lower_split(ctx, op):
    in_t, axis, dim = _operands(ctx, op, 2, 1, 0)
    n = int(op.options.get("num_splits", len(op.outputs)))
    if n != len(op.outputs) or n < 1 or dim % n:
        raise ctx.error(op, f"cannot split dimension {axis} of size {dim} into {n} equal parts "
                            f"({len(op.outputs)} outputs)")
    slice_outputs(ctx, op, in_t, axis, [dim // n] * n)


@lowering("SPLIT_V")
def lower_split_v(ctx, op):
    in_t, axis, dim = _operands(ctx, op, 3, 0, 2)
    sizes = [int(s) for s in int_values(ctx, op, op.inputs[1], "the split sizes").reshape(-1)]
    unknown = [k for k, s in enumerate(sizes) if s == -1]
    if len(unknown) > 1:
        raise ctx.error(op, f"split sizes {sizes} have more than one -1")
    if unknown:
        sizes[unknown[0]] = dim - (sum(sizes) + 1)
    slice_outputs(ctx, op, in_t, axis, sizes)


@lowering("UNPACK")
def lower_unpack(ctx, op):
    in_t, axis, dim = _operands(ctx, op, 1, 0, None)
    if dim != len(op.outputs):
        raise ctx.error(op, f"dimension {axis} has size {dim}; UNPACK has {len(op.outputs)} outputs")
    slice_outputs(ctx, op, in_t, axis, [1] * dim, squeeze=True)
