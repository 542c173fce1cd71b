"""GATHER with compile-time indices, DEPTH_TO_SPACE, SPACE_TO_DEPTH, and SPACE_TO_BATCH_ND / BATCH_TO_SPACE_ND
without padding or cropping (around a convolution they are fused away first: fuse_dilation.py): raw int8
copies (TFLite copies the values whatever the output's quantization, and so does the engine). An output
whose element map is a strided copy of the input runs te_strided_copy_s8 (shape.gather); GATHER's other index
lists run te_gather_s8. All of them fold when their input is a constant."""
from __future__ import annotations

import numpy as np

from ..layers import Const, Layer
from ..lower import lowering
from .shape import affine_dims, data_input, fold, gather, int_values


def _shape(ctx, t: int) -> tuple[int, ...]:
    return tuple(int(d) for d in ctx.tensor(t).shape)


def _check_shape(ctx, op, out_t: int, expect) -> None:
    if _shape(ctx, out_t) != tuple(expect):
        raise ctx.error(op, f"output shape {list(_shape(ctx, out_t))} is not {list(expect)}")


def copy_or_fold(ctx, op, in_t: int, out_t: int, move, out_shape) -> None:
    """The output is move(x) of the input x (a NumPy rearrangement, before its final reshape to out_shape):
    folded for a constant, else a strided copy of the input's element indices."""
    _check_shape(ctx, op, out_t, out_shape)
    value = ctx.value(in_t)
    if value is not None:
        fold(ctx, op, out_t, move(np.asarray(value)).reshape(out_shape))
        return
    shape = _shape(ctx, in_t)
    gather(ctx, op, in_t, out_t, move(np.arange(int(np.prod(shape, dtype=np.int64))).reshape(shape)))


@lowering("GATHER")
def lower_gather(ctx, op):
    if len(op.inputs) != 2 or len(op.outputs) != 1:
        raise ctx.error(op, f"expects 2 inputs and 1 output, has {len(op.inputs)} and {len(op.outputs)}")
    in_t, out_t = op.inputs[0], op.outputs[0]
    shape = _shape(ctx, in_t)
    if int(op.options.get("batch_dims", 0)) != 0:
        raise ctx.error(op, f"batch_dims {op.options['batch_dims']} is not supported (0 is)", unsupported=True)
    axis = int(op.options.get("axis", 0))
    axis = axis + len(shape) if axis < 0 else axis
    if not 0 <= axis < len(shape):
        raise ctx.error(op, f"axis {op.options.get('axis', 0)} is out of range for rank {len(shape)}")
    idx = int_values(ctx, op, op.inputs[1], "the indices")
    if idx.size and (idx.min() < 0 or idx.max() >= shape[axis]):
        raise ctx.error(op, f"indices {idx.reshape(-1).tolist()} are outside [0, {shape[axis]})")
    _check_shape(ctx, op, out_t, shape[:axis] + idx.shape + shape[axis + 1:])
    value = ctx.value(in_t)
    if value is not None:
        fold(ctx, op, out_t, np.take(np.asarray(value), idx, axis=axis))
        return
    source = np.take(np.arange(int(np.prod(shape, dtype=np.int64))).reshape(shape), idx, axis=axis)
    if source.size and affine_dims(source) is not None:
        gather(ctx, op, in_t, out_t, source)
        return
    data_input(ctx, op, in_t)
    if ctx.tensor(out_t).dtype != "int8":
        raise ctx.error(op, f"output is {ctx.tensor(out_t).dtype}; int8 is expected", unsupported=True)
    params = dict(outer=int(np.prod(shape[:axis], dtype=np.int64)), axis_size=shape[axis], count=int(idx.size),
                  inner=int(np.prod(shape[axis + 1:], dtype=np.int64)))
    ctx.add(Layer(op.name, op.index, "te_gather_s8", "te_gather_params", params,
                  [ctx.buffer_of(op, in_t)], [ctx.new_buffer(out_t)], [Const.of("index", idx.reshape(-1), "int32")],
                  macs=0))


@lowering("DEPTH_TO_SPACE", "SPACE_TO_DEPTH")
def lower_depth_space(ctx, op):
    if len(op.inputs) != 1 or len(op.outputs) != 1:
        raise ctx.error(op, f"expects 1 input and 1 output, has {len(op.inputs)} and {len(op.outputs)}")
    shape = _shape(ctx, op.inputs[0])
    b = int(op.options.get("block_size", 0))
    if len(shape) != 4 or b < 1:
        raise ctx.error(op, f"block size {b} over a {list(shape)} tensor: a positive block and 4-D NHWC expected")
    n, h, w, c = shape
    if op.name == "DEPTH_TO_SPACE":
        if c % (b * b):
            raise ctx.error(op, f"{c} channels are not divisible by block size {b} squared")
        # channel (dy, dx, k) of pixel (y, x) moves to channel k of pixel (y * b + dy, x * b + dx)
        copy_or_fold(ctx, op, op.inputs[0], op.outputs[0],
                     lambda x: x.reshape(n, h, w, b, b, -1).transpose(0, 1, 3, 2, 4, 5), (n, h * b, w * b, c // b // b))
    else:
        if h % b or w % b:
            raise ctx.error(op, f"height {h} and width {w} are not divisible by block size {b}")
        copy_or_fold(ctx, op, op.inputs[0], op.outputs[0],
                     lambda x: x.reshape(n, h // b, b, w // b, b, c).transpose(0, 1, 3, 2, 4, 5),
                     (n, h // b, w // b, b * b * c))


@lowering("SPACE_TO_BATCH_ND", "BATCH_TO_SPACE_ND")
def lower_space_batch(ctx, op):
    """The block rearrangement without padding or cropping as a strided copy. With a convolution between them
    the pair is normally fused into a dilated convolution before lowering (fuse_dilation.py)."""
    if len(op.inputs) != 3 or len(op.outputs) != 1:
        raise ctx.error(op, f"expects 3 inputs and 1 output, has {len(op.inputs)} and {len(op.outputs)}")
    shape = _shape(ctx, op.inputs[0])
    block = int_values(ctx, op, op.inputs[1], "the block shape").reshape(-1)
    amounts = int_values(ctx, op, op.inputs[2], "the paddings" if op.name == "SPACE_TO_BATCH_ND" else "the crops")
    if len(shape) != 4 or block.size != 2 or (block < 1).any() or amounts.size != 4:
        raise ctx.error(op, f"a 4-D NHWC input with 2 positive block sizes is expected, got {list(shape)} and "
                            f"{block.tolist()}")
    if amounts.any():
        raise ctx.error(op, f"{op.name} with paddings or crops {amounts.reshape(2, 2).tolist()} is supported only "
                            "around a convolution (the dilated-convolution pattern)", unsupported=True)
    (bh, bw), (n, h, w, c) = block.tolist(), shape
    if op.name == "SPACE_TO_BATCH_ND":
        if h % bh or w % bw:
            raise ctx.error(op, f"height {h} and width {w} are not divisible by the block {[bh, bw]}")
        copy_or_fold(ctx, op, op.inputs[0], op.outputs[0],
                     lambda x: x.reshape(n, h // bh, bh, w // bw, bw, c).transpose(2, 4, 0, 1, 3, 5),
                     (n * bh * bw, h // bh, w // bw, c))
    else:
        if n % (bh * bw):
            raise ctx.error(op, f"batch {n} is not divisible by the block {[bh, bw]}")
        copy_or_fold(ctx, op, op.inputs[0], op.outputs[0],
                     lambda x: x.reshape(bh, bw, n // (bh * bw), h, w, c).transpose(2, 3, 0, 4, 1, 5),
                     (n // (bh * bw), h * bh, w * bw, c))
