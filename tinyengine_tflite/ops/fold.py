"""Shape arithmetic folded away at compile time: SHAPE, STRIDED_SLICE and PACK produce no kernel, nor do FILL,
ZEROS_LIKE and ONES_LIKE (their outputs are constants whatever their inputs hold), CAST of a constant, or
SLICE of a constant.

Every activation shape is static here, so SHAPE of an activation is a constant; STRIDED_SLICE and PACK of
constants (from the file or folded earlier) are computed with NumPy and stored with ctx.set_value, and later
operators (typically RESHAPE's new shape) read them through ctx.value. Of int8 activations, PACK becomes a
concatenation and STRIDED_SLICE a strided copy (te_strided_copy_s8) whose strides come from slicing the
element indices with NumPy, so TFLite's masks (begin, end, shrink, ellipsis, new axis) and offset option
follow NumPy's / TensorFlow's slicing rules; SLICE of an int8 activation is a strided copy too."""
from __future__ import annotations

import numpy as np

from ..lower import lowering
from .shape import concat_layer, fold, fold_or_gather, int_values, source_of


@lowering("SHAPE")
def lower_shape(ctx, op):
    if len(op.inputs) != 1 or len(op.outputs) != 1:
        raise ctx.error(op, f"expects 1 input and 1 output, has {len(op.inputs)} and {len(op.outputs)}")
    out_t = op.outputs[0]
    if ctx.tensor(out_t).dtype not in ("int32", "int64"):
        raise ctx.error(op, f"output type {ctx.tensor(out_t).dtype} is not supported; int32 or int64 is",
                        unsupported=True)
    fold(ctx, op, out_t, np.array(ctx.tensor(op.inputs[0]).shape, dtype=np.int64))


def _bit(mask: int, i: int) -> bool:
    return bool((int(mask) >> i) & 1)


@lowering("STRIDED_SLICE")
def lower_strided_slice(ctx, op):
    if len(op.inputs) not in (3, 4) or len(op.outputs) != 1:
        raise ctx.error(op, f"expects 3 or 4 inputs and 1 output, has {len(op.inputs)} and {len(op.outputs)}")
    in_t, out_t = op.inputs[0], op.outputs[0]
    begin = int_values(ctx, op, op.inputs[1], "begin").reshape(-1).tolist()
    end = int_values(ctx, op, op.inputs[2], "end").reshape(-1).tolist()
    strides = int_values(ctx, op, op.inputs[3], "strides").reshape(-1).tolist() \
        if len(op.inputs) > 3 and op.inputs[3] >= 0 else [1] * len(begin)
    if not len(begin) == len(end) == len(strides):
        raise ctx.error(op, f"begin, end and strides have {len(begin)}, {len(end)} and {len(strides)} values")
    if 0 in strides:
        raise ctx.error(op, "a stride is 0")
    o = op.options
    offset = bool(o.get("offset", False))
    index = []
    for i, (b, e, s) in enumerate(zip(begin, end, strides)):
        if _bit(o.get("ellipsis_mask", 0), i):
            index.append(Ellipsis)
        elif _bit(o.get("new_axis_mask", 0), i):
            index.append(None)
        elif _bit(o.get("shrink_axis_mask", 0), i):
            index.append(int(b))
        else:
            e = b + e if offset else e
            index.append(slice(None if _bit(o.get("begin_mask", 0), i) else int(b),
                               None if _bit(o.get("end_mask", 0), i) else int(e), int(s)))
    slice_or_fold(ctx, op, in_t, out_t, tuple(index))


def slice_or_fold(ctx, op, in_t: int, out_t: int, index: tuple) -> None:
    """The output is the input indexed by `index` (NumPy basic indexing): folded for a constant; of an
    activation, the slice of its element indices is the copy's source map."""
    shape = tuple(int(d) for d in ctx.tensor(in_t).shape)
    source = source_of(ctx, in_t)
    try:
        result = np.asarray(source[index])
    except (IndexError, ValueError) as e:
        raise ctx.error(op, f"cannot slice a {list(shape)} tensor with {index}: {e}") from None
    if tuple(result.shape) != tuple(ctx.tensor(out_t).shape):
        raise ctx.error(op, f"the slice has shape {list(result.shape)}, the output {list(ctx.tensor(out_t).shape)}")
    fold_or_gather(ctx, op, in_t, out_t, result)


@lowering("PACK")
def lower_pack(ctx, op):
    if not op.inputs or len(op.outputs) != 1:
        raise ctx.error(op, f"expects inputs and 1 output, has {len(op.inputs)} and {len(op.outputs)}")
    out_t = op.outputs[0]
    shapes = {tuple(ctx.tensor(t).shape) for t in op.inputs}
    if len(shapes) != 1:
        raise ctx.error(op, f"inputs have different shapes {sorted(list(s) for s in shapes)}")
    shape = shapes.pop()
    rank = len(shape) + 1
    axis = int(op.options.get("axis", 0))
    axis = axis + rank if axis < 0 else axis
    if not 0 <= axis < rank:
        raise ctx.error(op, f"axis {op.options.get('axis', 0)} is out of range for rank {rank}")
    expect = shape[:axis] + (len(op.inputs),) + shape[axis:]
    if tuple(ctx.tensor(out_t).shape) != expect:
        raise ctx.error(op, f"output shape {list(ctx.tensor(out_t).shape)} is not the stack {list(expect)}")
    values = [ctx.value(t) for t in op.inputs]
    if all(v is not None for v in values):
        fold(ctx, op, out_t, np.stack([np.asarray(v) for v in values], axis=axis))
        return
    # Stacking activations is concatenating rows of prod(shape[axis:]) elements per outer index.
    outer = int(np.prod(shape[:axis], dtype=np.int64))
    row = int(np.prod(shape[axis:], dtype=np.int64))
    concat_layer(ctx, op, list(op.inputs), out_t, outer, [row] * len(op.inputs))


def _operands(ctx, op, n_in: int) -> None:
    if len(op.inputs) != n_in or len(op.outputs) != 1:
        raise ctx.error(op, f"expects {n_in} input(s) and 1 output, has {len(op.inputs)} and {len(op.outputs)}")


@lowering("FILL")
def lower_fill(ctx, op):
    _operands(ctx, op, 2)
    dims = int_values(ctx, op, op.inputs[0], "the dimensions").reshape(-1)
    value = ctx.value(op.inputs[1])
    if value is None or np.asarray(value).size != 1:
        raise ctx.error(op, "the fill value must be a constant scalar", unsupported=True)
    fold(ctx, op, op.outputs[0], np.full(tuple(int(d) for d in dims), np.asarray(value).reshape(-1)[0]))


@lowering("ZEROS_LIKE", "ONES_LIKE")
def lower_zeros_like(ctx, op):
    _operands(ctx, op, 1)
    # raw zeros or ones of the output's type (TFLite ignores the quantization), so no kernel is needed
    fill = 0 if op.name == "ZEROS_LIKE" else 1
    fold(ctx, op, op.outputs[0], np.full(tuple(int(d) for d in ctx.tensor(op.inputs[0]).shape), fill))


@lowering("CAST")
def lower_cast(ctx, op):
    _operands(ctx, op, 1)
    value = ctx.value(op.inputs[0])
    if value is None:
        raise ctx.error(op, f"CAST of an activation ({ctx.tensor(op.inputs[0]).dtype} -> "
                            f"{ctx.tensor(op.outputs[0]).dtype}) is not supported; of a constant it is folded",
                        unsupported=True)
    fold(ctx, op, op.outputs[0], value)   # fold() converts to the output type (floats truncate, as in C)


@lowering("SLICE")
def lower_slice(ctx, op):
    _operands(ctx, op, 3)
    in_t, out_t = op.inputs[0], op.outputs[0]
    shape = tuple(int(d) for d in ctx.tensor(in_t).shape)
    begin = int_values(ctx, op, op.inputs[1], "begin").reshape(-1).tolist()
    size = int_values(ctx, op, op.inputs[2], "size").reshape(-1).tolist()
    if not len(begin) == len(size) == len(shape):
        raise ctx.error(op, f"begin {begin} and size {size} do not address a rank-{len(shape)} input")
    index = []
    for b, n, d in zip(begin, size, shape):
        e = d if n == -1 else b + n
        if not 0 <= b <= e <= d:
            raise ctx.error(op, f"begin {begin} and size {size} are outside the input shape {list(shape)}")
        index.append(slice(b, e))
    slice_or_fold(ctx, op, in_t, out_t, tuple(index))
