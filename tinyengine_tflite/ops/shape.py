"""Data movement over int8 tensors: RESHAPE / SQUEEZE / EXPAND_DIMS (no kernel: the output aliases the input
buffer), PAD / PADV2, TRANSPOSE, CONCATENATION, RESIZE_NEAREST_NEIGHBOR.

These operators copy bytes, so they are exact by construction; the references copy raw int8 values whatever
the output's quantization, and so does the engine, except where TFLite requires equal quantization
(CONCATENATION's int8 operands, PADV2's constant value), which is checked. When every input is constant the
operator is folded at compile time with NumPy (ctx.set_value), so a later operator reads the result as a
constant."""
from __future__ import annotations

import math

import numpy as np

from ..layers import Const, Layer
from ..lower import lowering
from ..quant import round_half_away


def _numel(shape) -> int:
    return int(np.prod(tuple(shape), dtype=np.int64))


def _shape(ctx, t: int) -> tuple[int, ...]:
    return tuple(int(d) for d in ctx.tensor(t).shape)


def data_input(ctx, op, t: int, what: str = "input") -> None:
    """An int8 activation (constants are folded before this is called)."""
    tt = ctx.tensor(t)
    if tt.dtype != "int8":
        raise ctx.error(op, f"{what} (tensor {t}, {tt.name!r}) is {tt.dtype}; only int8 activations are supported",
                        unsupported=True)


def int_values(ctx, op, t: int, what: str) -> np.ndarray:
    """A constant integer tensor (from the file or folded)."""
    v = ctx.value(t)
    if v is None:
        raise ctx.error(op, f"{what} (tensor {t}) must be a constant (or computed from static shapes)",
                        unsupported=True)
    v = np.asarray(v)
    if v.dtype.kind not in "iu":
        raise ctx.error(op, f"{what} (tensor {t}) is {v.dtype}; an integer tensor is expected")
    return v.astype(np.int64)


def fold(ctx, op, out_t: int, value) -> None:
    """The output is a compile-time constant of the output tensor's type and shape."""
    tt = ctx.tensor(out_t)
    value = np.asarray(value)
    if value.size != _numel(tt.shape):
        raise ctx.error(op, f"folded value has {value.size} elements, the output shape {list(tt.shape)} holds "
                            f"{_numel(tt.shape)}")
    ctx.set_value(out_t, value.astype(tt.dtype).reshape(tt.shape))


def quant_equal(ctx, a: int, b: int) -> bool:
    ta, tb = ctx.tensor(a), ctx.tensor(b)
    sa, za = ta.qparams()
    sb, zb = tb.qparams()
    return np.float32(sa) == np.float32(sb) and za == zb


# --- RESHAPE, SQUEEZE, EXPAND_DIMS ------------------------------------------------------------------------

def _resolve_new_shape(ctx, op, new_shape, n: int) -> tuple[int, ...]:
    new_shape = [int(d) for d in np.asarray(new_shape).reshape(-1)]
    unknown = [k for k, d in enumerate(new_shape) if d == -1]
    if len(unknown) > 1 or any(d < -1 for d in new_shape):
        raise ctx.error(op, f"new shape {new_shape} is invalid")
    if unknown:
        rest = _numel([d for d in new_shape if d != -1])
        if rest == 0 or n % rest:
            raise ctx.error(op, f"new shape {new_shape} does not fit {n} elements")
        new_shape[unknown[0]] = n // rest
    return tuple(new_shape)


@lowering("RESHAPE", "SQUEEZE", "EXPAND_DIMS")
def lower_reshape(ctx, op):
    if not op.inputs or len(op.outputs) != 1:
        raise ctx.error(op, f"expects an input and 1 output, has {len(op.inputs)} and {len(op.outputs)}")
    in_t, out_t = op.inputs[0], op.outputs[0]
    in_shape, out_shape = _shape(ctx, in_t), _shape(ctx, out_t)
    n = _numel(in_shape)
    if _numel(out_shape) != n:
        raise ctx.error(op, f"output shape {list(out_shape)} does not hold the {n} elements of {list(in_shape)}")
    if op.name == "RESHAPE":
        if len(op.inputs) > 1 and op.inputs[1] >= 0:
            requested = int_values(ctx, op, op.inputs[1], "the new shape")
        else:
            requested = op.options.get("new_shape")
        if requested is not None and len(np.asarray(requested).reshape(-1)) > 0:
            resolved = _resolve_new_shape(ctx, op, requested, n)
            if resolved != out_shape:
                raise ctx.error(op, f"new shape {list(resolved)} differs from the output shape {list(out_shape)}")
    value = ctx.value(in_t)
    if value is not None:
        fold(ctx, op, out_t, np.asarray(value).reshape(out_shape))
        return
    data_input(ctx, op, in_t)
    if ctx.tensor(out_t).dtype != "int8":
        raise ctx.error(op, f"output is {ctx.tensor(out_t).dtype}; int8 is expected", unsupported=True)
    ctx.alias(out_t, in_t, op)


# --- PAD, PADV2 -------------------------------------------------------------------------------------------

@lowering("PAD", "PADV2")
def lower_pad(ctx, op):
    if len(op.inputs) < 2 or len(op.outputs) != 1:
        raise ctx.error(op, f"expects 2 or 3 inputs and 1 output, has {len(op.inputs)} and {len(op.outputs)}")
    in_t, out_t = op.inputs[0], op.outputs[0]
    in_shape, out_shape = _shape(ctx, in_t), _shape(ctx, out_t)
    rank = len(in_shape)
    paddings = int_values(ctx, op, op.inputs[1], "paddings")
    if paddings.shape != (rank, 2):
        raise ctx.error(op, f"paddings have shape {list(paddings.shape)}; [{rank}, 2] is expected")
    if (paddings < 0).any():
        raise ctx.error(op, f"negative paddings {paddings.tolist()} are not supported")
    expect = tuple(int(n + l + r) for n, (l, r) in zip(in_shape, paddings.tolist()))
    if out_shape != expect:
        raise ctx.error(op, f"output shape {list(out_shape)} is not the padded input shape {list(expect)}")
    if ctx.tensor(out_t).dtype != "int8" or ctx.tensor(in_t).dtype != "int8":
        raise ctx.error(op, f"{ctx.tensor(in_t).dtype} -> {ctx.tensor(out_t).dtype} is not supported; int8 is",
                        unsupported=True)
    has_value = len(op.inputs) > 2 and op.inputs[2] >= 0
    if has_value:
        v_t = op.inputs[2]
        v = ctx.value(v_t)
        if v is None or np.asarray(v).size != 1 or ctx.tensor(v_t).dtype != "int8":
            raise ctx.error(op, "the pad value must be a constant int8 scalar", unsupported=True)
        if ctx.tensor(v_t).scale is not None and not quant_equal(ctx, v_t, out_t):
            raise ctx.error(op, "the pad value's quantization differs from the output's (TFLite requires them "
                                "equal)", unsupported=True)
        pad_value = int(np.asarray(v).reshape(-1)[0])
    else:
        pad_value = ctx.tensor(out_t).qparams()[1]   # the output zero point (0 without quantization)
        if not -128 <= pad_value <= 127:
            raise ctx.error(op, f"output zero point {pad_value} is outside the int8 range")
    value = ctx.value(in_t)
    if value is not None:
        fold(ctx, op, out_t, np.pad(value, paddings.tolist(), constant_values=pad_value))
        return
    data_input(ctx, op, in_t)
    # Merge each unpadded dimension into the one outside it: the inner loop then copies whole runs.
    dims: list[list[int]] = []
    for n, (l, r) in zip(in_shape, paddings.tolist()):
        if dims and l == 0 and r == 0:
            dims[-1] = [dims[-1][0] * n, dims[-1][1] * n, dims[-1][2] * n]
        else:
            dims.append([int(n), int(l), int(r)])
    if not dims:
        dims = [[1, 0, 0]]
    if all(l == 0 and r == 0 for _, l, r in dims):
        ctx.alias(out_t, in_t, op)
        return
    if len(dims) > 5:
        raise ctx.error(op, f"padding {len(dims)} separate dimension groups is not supported (at most 5)",
                        unsupported=True)
    dims = [[1, 0, 0]] * (5 - len(dims)) + dims
    params = {f"in{i}": n for i, (n, _, _) in enumerate(dims)}
    params.update({f"out{i}": n + l + r for i, (n, l, r) in enumerate(dims)})
    params.update({f"left{i}": l for i, (_, l, _) in enumerate(dims)})
    params["pad_value"] = pad_value
    ctx.add(Layer(op.name, op.index, "te_pad_s8", "te_pad_params", params,
                  [ctx.buffer_of(op, in_t)], [ctx.new_buffer(out_t)], macs=0))


# --- TRANSPOSE --------------------------------------------------------------------------------------------

@lowering("TRANSPOSE")
def lower_transpose(ctx, op):
    if len(op.inputs) != 2 or len(op.outputs) != 1:
        raise ctx.error(op, f"expects 2 inputs and 1 output, has {len(op.inputs)} and {len(op.outputs)}")
    in_t, out_t = op.inputs[0], op.outputs[0]
    in_shape, out_shape = _shape(ctx, in_t), _shape(ctx, out_t)
    perm = [int(p) for p in int_values(ctx, op, op.inputs[1], "the permutation").reshape(-1)]
    rank = len(in_shape)
    perm = [p + rank if p < 0 else p for p in perm]
    if sorted(perm) != list(range(rank)):
        raise ctx.error(op, f"{perm} is not a permutation of {rank} dimensions")
    expect = tuple(in_shape[p] for p in perm)
    if out_shape != expect:
        raise ctx.error(op, f"output shape {list(out_shape)} is not the permuted input shape {list(expect)}")
    value = ctx.value(in_t)
    if value is not None:
        fold(ctx, op, out_t, np.transpose(value, perm))
        return
    gather(ctx, op, in_t, out_t, np.transpose(np.arange(_numel(in_shape)).reshape(in_shape), perm))


def affine_dims(source: np.ndarray) -> list[list[int]] | None:
    """[size, stride] of each dimension (size-1 ones dropped, contiguous ones merged) such that source.flat[k]
    = source.flat[0] + sum(i_d * stride_d) over k's index (i_d), or None when source is not affine."""
    source = np.asarray(source, dtype=np.int64)
    offset = int(source.flat[0])
    dims: list[list[int]] = []
    for d, n in enumerate(source.shape):
        if n == 1:
            continue
        step = [0] * source.ndim
        step[d] = 1
        s = int(source[tuple(step)]) - offset
        if dims and dims[-1][1] == n * s:
            dims[-1] = [dims[-1][0] * n, s]
        else:
            dims.append([int(n), s])
    rebuilt = np.full(1, offset, dtype=np.int64)
    for n, s in dims:
        rebuilt = (rebuilt[:, None] + s * np.arange(n, dtype=np.int64)[None, :]).reshape(-1)
    return dims if np.array_equal(rebuilt, source.reshape(-1)) else None


def source_of(ctx, in_t: int) -> np.ndarray:
    """What a slice or rearrangement of the input is taken from: its constant value, or of an activation its
    element indices (np.arange in its shape), for fold_or_gather."""
    data = ctx.value(in_t)
    if data is not None:
        return np.asarray(data)
    shape = tuple(int(d) for d in ctx.tensor(in_t).shape)
    return np.arange(int(np.prod(shape, dtype=np.int64))).reshape(shape)


def fold_or_gather(ctx, op, in_t: int, out_t: int, part: np.ndarray) -> None:
    """The output is `part`, taken from source_of(in_t): folded for a constant input, else a strided copy."""
    if ctx.value(in_t) is not None:
        fold(ctx, op, out_t, part)
    else:
        gather(ctx, op, in_t, out_t, part)


def gather(ctx, op, in_t: int, out_t: int, source: np.ndarray) -> None:
    """Output element k copies input element source.flat[k], where source is an affine function of the output
    index (a transposition or strided slice of np.arange over the input): one te_strided_copy_s8 over its
    merged dimensions, or an alias when it is the input itself."""
    data_input(ctx, op, in_t)
    if ctx.tensor(out_t).dtype != "int8":
        raise ctx.error(op, f"output is {ctx.tensor(out_t).dtype}; int8 is expected", unsupported=True)
    source = np.asarray(source, dtype=np.int64)
    if source.size == 0:
        raise ctx.error(op, "the output is empty", unsupported=True)
    offset = int(source.flat[0])
    dims = affine_dims(source)
    if dims is None:
        raise ctx.error(op, "the copy is not a strided copy of the input")
    n_in = _numel(ctx.tensor(in_t).shape)
    if offset == 0 and source.size == n_in and len(dims) <= 1 and all(s == 1 for _, s in dims):
        ctx.alias(out_t, in_t, op)   # the bytes are already in order (only size-1 dimensions moved)
        return
    if len(dims) > 6:
        raise ctx.error(op, f"a copy over {len(dims)} separate dimension groups is not supported (at most 6)",
                        unsupported=True)
    dims = [[1, 0]] * (6 - len(dims)) + dims
    params = {f"n{i}": n for i, (n, _) in enumerate(dims)}
    params.update({f"s{i}": s for i, (_, s) in enumerate(dims)})
    params["offset"] = offset
    ctx.add(Layer(op.name, op.index, "te_strided_copy_s8", "te_strided_copy_params", params,
                  [ctx.buffer_of(op, in_t)], [ctx.new_buffer(out_t)], macs=0))


# --- CONCATENATION (and PACK of activations) --------------------------------------------------------------

def concat_layer(ctx, op, operands: list[int], out_t: int, outer: int, rows: list[int]) -> None:
    """te_concat_s8 over the int8 operands (activations or constants) with their row sizes per outer index.
    Every operand must have the output's quantization. All-constant operands (of any type) are folded."""
    values = [ctx.value(t) for t in operands]
    if all(v is not None for v in values):
        flat = [np.asarray(v).reshape(outer, -1) for v in values]
        fold(ctx, op, out_t, np.concatenate(flat, axis=1))
        return
    out = ctx.tensor(out_t)
    if out.dtype != "int8":
        raise ctx.error(op, f"output is {out.dtype}; only int8 is supported", unsupported=True)
    for k, t in enumerate(operands):
        tt = ctx.tensor(t)
        if tt.dtype != "int8":
            raise ctx.error(op, f"input {k} (tensor {t}) is {tt.dtype}; only int8 is supported", unsupported=True)
        if not quant_equal(ctx, t, out_t):
            s, z = tt.qparams()
            so, zo = out.qparams()
            raise ctx.error(op, f"input {k} quantization (scale {s:g}, zero point {z}) differs from the output's "
                                f"(scale {so:g}, zero point {zo}); TFLite's int8 {op.name} requires them equal",
                            unsupported=True)
    buffers, src, blob = [], [], []
    blob_size = 0
    for t, v in zip(operands, values):
        if v is None:
            src.append(len(buffers))
            buffers.append(ctx.buffer_of(op, t))
        else:
            src.append(-1 - blob_size)
            a = np.asarray(v, dtype=np.int8).reshape(-1)
            blob.append(a)
            blob_size += a.size
    consts = [Const.of("rows", rows, "int32"), Const.of("src", src, "int32"),
              Const.of("blob", np.concatenate(blob) if blob else np.zeros(0, np.int8), "int8")]
    ctx.add(Layer(op.name, op.index, "te_concat_s8", "te_concat_params", dict(outer=outer, count=len(operands)),
                  buffers, [ctx.new_buffer(out_t)], consts, array_inputs=True, macs=0))


@lowering("CONCATENATION")
def lower_concatenation(ctx, op):
    if not op.inputs or len(op.outputs) != 1:
        raise ctx.error(op, f"expects inputs and 1 output, has {len(op.inputs)} and {len(op.outputs)}")
    out_t = op.outputs[0]
    out_shape = _shape(ctx, out_t)
    rank = len(out_shape)
    if op.options.get("fused_activation_function", 0) not in (0, "NONE"):
        raise ctx.error(op, "a fused activation is not supported (TFLite requires NONE)", unsupported=True)
    axis = int(op.options.get("axis", 0))
    axis = axis + rank if axis < 0 else axis
    if not 0 <= axis < rank:
        raise ctx.error(op, f"axis {op.options.get('axis', 0)} is out of range for rank {rank}")
    shapes = [_shape(ctx, t) for t in op.inputs]
    for k, s in enumerate(shapes):
        if len(s) != rank or any(s[d] != out_shape[d] for d in range(rank) if d != axis):
            raise ctx.error(op, f"input {k} shape {list(s)} does not concatenate into {list(out_shape)} "
                                f"along axis {axis}")
    if sum(s[axis] for s in shapes) != out_shape[axis]:
        raise ctx.error(op, f"inputs add up to {sum(s[axis] for s in shapes)} along axis {axis}, the output has "
                            f"{out_shape[axis]}")
    inner = _numel(out_shape[axis + 1:])
    concat_layer(ctx, op, list(op.inputs), out_t, _numel(out_shape[:axis]), [s[axis] * inner for s in shapes])


# --- RESIZE_NEAREST_NEIGHBOR ------------------------------------------------------------------------------

def nearest_indices(in_size: int, out_size: int, align_corners: bool, half_pixel_centers: bool) -> np.ndarray:
    """TFLite GetNearestNeighbor for every output index, in float32 as the reference computes it."""
    f32 = np.float32
    if align_corners and out_size > 1:
        scale = f32(in_size - 1) / f32(out_size - 1)
    else:
        scale = f32(in_size) / f32(out_size)
    offset = f32(0.5) if half_pixel_centers else f32(0.0)
    out = []
    for i in range(out_size):
        v = float((f32(i) + offset) * scale)
        j = round_half_away(v) if align_corners else math.floor(v)
        j = min(j, in_size - 1)
        if half_pixel_centers:
            j = max(0, j)
        out.append(j)
    return np.array(out, dtype=np.int32)


def resize_geometry(ctx, op) -> tuple[tuple[int, ...], list[int], bool, bool]:
    """A RESIZE_* operator's input shape, output size [height, width], align_corners and half_pixel_centers."""
    if len(op.inputs) != 2 or len(op.outputs) != 1:
        raise ctx.error(op, f"expects 2 inputs and 1 output, has {len(op.inputs)} and {len(op.outputs)}")
    in_t, out_t = op.inputs[0], op.outputs[0]
    in_shape, out_shape = _shape(ctx, in_t), _shape(ctx, out_t)
    if len(in_shape) != 4 or len(out_shape) != 4:
        raise ctx.error(op, f"4-D NHWC tensors are expected, got {list(in_shape)} -> {list(out_shape)}")
    if in_shape[0] != 1:
        raise ctx.error(op, f"input has batch {in_shape[0]}; only batch 1 is supported", unsupported=True)
    size = [int(v) for v in int_values(ctx, op, op.inputs[1], "the size").reshape(-1)]
    if len(size) != 2 or min(size) < 1:
        raise ctx.error(op, f"size {size} must hold two positive values")
    if out_shape != (1, size[0], size[1], in_shape[3]):
        raise ctx.error(op, f"output shape {list(out_shape)} does not match size {size} and {in_shape[3]} channels")
    o = op.options
    return in_shape, size, bool(o.get("align_corners", False)), bool(o.get("half_pixel_centers", False))


@lowering("RESIZE_NEAREST_NEIGHBOR")
def lower_resize_nearest(ctx, op):
    in_shape, size, align, half = resize_geometry(ctx, op)
    in_t, out_t = op.inputs[0], op.outputs[0]
    y_map = nearest_indices(in_shape[1], size[0], align, half)
    x_map = nearest_indices(in_shape[2], size[1], align, half)
    value = ctx.value(in_t)
    if value is not None:
        fold(ctx, op, out_t, np.asarray(value)[:, y_map][:, :, x_map])
        return
    resize_layer(ctx, op, "te_resize_nearest_s8", "te_resize_params", y_map, x_map)


def resize_layer(ctx, op, kernel: str, param_struct: str, y_map, x_map, macs: int = 0) -> None:
    """kernel(params {in_w, channels, out_h, out_w}, input, y_map, x_map, output) over int8 activations."""
    in_t, out_t = op.inputs[0], op.outputs[0]
    data_input(ctx, op, in_t)
    if ctx.tensor(out_t).dtype != "int8":
        raise ctx.error(op, f"output is {ctx.tensor(out_t).dtype}; int8 is expected", unsupported=True)
    _, _, in_w, channels = _shape(ctx, in_t)
    _, out_h, out_w, _ = _shape(ctx, out_t)
    ctx.add(Layer(op.name, op.index, kernel, param_struct, dict(in_w=in_w, channels=channels, out_h=out_h, out_w=out_w),
                  [ctx.buffer_of(op, in_t)], [ctx.new_buffer(out_t)],
                  [Const.of("y_map", y_map, "int32"), Const.of("x_map", x_map, "int32")], macs=macs))
