"""AVERAGE_POOL_2D, MAX_POOL_2D and MEAN: int8, bit-exact with TFLite's reference integer kernels.

Pools (reference_integer_ops::AveragePool / MaxPool): NHWC batch 1, any filter and stride, SAME or VALID
padding (TFLite's ComputePaddingHeightWidth). Windows are clipped to the input, so a SAME average divides by
the number of pixels inside the input; the average of the raw int8 sum rounds halves away from zero. The
input and output must share one quantization (TFLite assumes it; the engine checks it).

MEAN: LiteRT's BUILTIN_REF resolver and TFLM both evaluate every int8 MEAN (any axes, keep_dims or not, equal
or different input/output quantization) with reference_ops::QuantizedMeanOrSum in its integer form (checked
numerically against both): sum of the raw values minus input_zp * count, then
MultiplyByQuantizedMultiplier (double rounding) with QuantizeMultiplier(input_scale / output_scale) in which
1 / count is folded: shift' = min(floor(log2 count), 32, 31 + shift), mult' = (mult << shift') / count
(integer division), shift -= shift'. The kernel sums over up to four merged reduced dimensions per output."""
from __future__ import annotations

import numpy as np

from ..layers import Layer
from ..lower import lowering
from ..quant import quantize_multiplier
from .common import fused_range, nhwc, out_size, padding_name, qparams, same_padding

MAX_MEAN_COUNT = 1 << 23   # int32 sums of int8 values cannot overflow below this


def _int8_io(ctx, op, n_inputs):
    if len(op.inputs) < n_inputs or len(op.outputs) != 1:
        raise ctx.error(op, f"expects {n_inputs} input(s) and 1 output, has {len(op.inputs)} and {len(op.outputs)}")
    in_t, out_t = op.inputs[0], op.outputs[0]
    src, dst = ctx.tensor(in_t), ctx.tensor(out_t)
    if src.dtype != "int8" or dst.dtype != "int8":
        raise ctx.error(op, f"{src.dtype} -> {dst.dtype} is not supported; int8 -> int8 is", unsupported=True)
    if ctx.value(in_t) is not None:
        raise ctx.error(op, "a constant input is not supported (a converter folds this)", unsupported=True)
    return in_t, out_t


@lowering("AVERAGE_POOL_2D", "MAX_POOL_2D")
def lower_pool(ctx, op):
    in_t, out_t = _int8_io(ctx, op, 1)
    ih, iw, ic = nhwc(ctx, op, in_t, "input")
    oh, ow, oc = nhwc(ctx, op, out_t, "output")
    if ic != oc:
        raise ctx.error(op, f"output has {oc} channels, input {ic}")
    in_scale, in_zp = qparams(ctx, op, in_t, "input")
    out_scale, out_zp = qparams(ctx, op, out_t, "output")
    if np.float32(in_scale) != np.float32(out_scale) or in_zp != out_zp:
        raise ctx.error(op, f"input quantization (scale {in_scale:g}, zero point {in_zp}) differs from the output's "
                            f"(scale {out_scale:g}, zero point {out_zp}); TFLite's int8 pools require them equal",
                        unsupported=True)
    o = op.options
    k = (int(o.get("filter_height", 1)), int(o.get("filter_width", 1)))
    stride = (int(o.get("stride_h", 1)), int(o.get("stride_w", 1)))
    pad = padding_name(o.get("padding", 1))
    if pad not in ("SAME", "VALID"):
        raise ctx.error(op, f"padding {pad} is not supported", unsupported=True)
    if min(k) < 1 or min(stride) < 1:
        raise ctx.error(op, f"filter {list(k)} and stride {list(stride)} must be positive")
    pads = []
    for d, (i, n) in enumerate(((ih, oh), (iw, ow))):
        expect = out_size(pad, i, k[d], stride[d])
        if expect != n or n < 1:
            raise ctx.error(op, f"output size {n} does not match {pad} padding (expected {expect})")
        p = same_padding(i, k[d], stride[d], 1, n) if pad == "SAME" else 0
        # Every window must hold at least one input pixel (TFLite's average fails on an empty one).
        first, last = -p, (n - 1) * stride[d] - p
        if first + k[d] <= 0 or last >= i:
            raise ctx.error(op, "a pooling window lies entirely in the padding")
        pads.append(p)
    amin, amax = fused_range(ctx, op, out_t)
    kernel = "te_avg_pool_s8" if op.name == "AVERAGE_POOL_2D" else "te_max_pool_s8"
    ctx.add(Layer(op.name, op.index, kernel, "te_pool_params",
                  dict(in_h=ih, in_w=iw, channels=ic, out_h=oh, out_w=ow, k_h=k[0], k_w=k[1],
                       stride_h=stride[0], stride_w=stride[1], pad_top=pads[0], pad_left=pads[1],
                       act_min=amin, act_max=amax),
                  [ctx.buffer_of(op, in_t)], [ctx.new_buffer(out_t)], macs=oh * ow * oc * k[0] * k[1]))


def resolve_axes(ctx, op, axis_t: int, rank: int) -> list[int]:
    """TFLite ResolveAxis: negative axes count from the end, duplicates are dropped."""
    value = ctx.value(axis_t)
    if value is None:
        raise ctx.error(op, f"the axis (tensor {axis_t}) must be a constant", unsupported=True)
    axes = []
    for a in np.asarray(value).reshape(-1).tolist():
        a = int(a)
        r = a + rank if a < 0 else a
        if not 0 <= r < rank:
            raise ctx.error(op, f"axis {a} is out of range for a rank-{rank} input")
        if r not in axes:
            axes.append(r)
    return axes


def mean_multiplier(in_scale: float, out_scale: float, count: int) -> tuple[int, int]:
    """(multiplier, shift) of QuantizedMeanOrSum with 1 / count folded in (reference_ops, integer form)."""
    mult, shift = quantize_multiplier(float(np.float32(in_scale)) / float(np.float32(out_scale)))
    s = min(count.bit_length() - 1, 32, 31 + shift)
    return (mult << s) // count, shift - s


def merge_dims(shape, flags):
    """Merge adjacent dimensions with the same flag (row-major, contiguous), dropping dimensions of size 1.
    Returns [(size, input stride, flag)], outermost first."""
    strides = [int(np.prod(shape[d + 1:], dtype=np.int64)) for d in range(len(shape))]
    merged: list[list] = []
    for n, s, f in zip(shape, strides, flags):
        if n == 1:
            continue
        if merged and merged[-1][2] == f:
            merged[-1][0] *= n
            merged[-1][1] = s
        else:
            merged.append([int(n), s, f])
    return [tuple(m) for m in merged]


def reduced_shape(ctx, op, in_t: int, out_t: int, what: str) -> tuple[tuple[int, ...], list[int]]:
    """(input shape, resolved axes) of a reduction over the constant axes in op.inputs[1], after checking the
    output shape (keep_dims or not) and that no reduced dimension is empty; `what` formats the input shape as the
    result's description in the error ("the mean of {}")."""
    shape = tuple(int(d) for d in ctx.tensor(in_t).shape)
    axes = resolve_axes(ctx, op, op.inputs[1], len(shape))
    keep = bool(op.options.get("keep_dims", False))
    expect = tuple(1 if d in axes else n for d, n in enumerate(shape)) if keep else \
        tuple(n for d, n in enumerate(shape) if d not in axes)
    if tuple(ctx.tensor(out_t).shape) != expect:
        raise ctx.error(op, f"output shape {list(ctx.tensor(out_t).shape)} is not {what.format(list(shape))} over "
                            f"axes {axes} (keep_dims {keep}): expected {list(expect)}")
    if any(shape[a] == 0 for a in axes):
        raise ctx.error(op, "the reduced dimensions are empty", unsupported=True)
    return shape, axes


def reduced_count(ctx, op, shape, axes, verb: str) -> int:
    """How many values each output takes, with an error ("averaging N values ...") from MAX_MEAN_COUNT on."""
    count = int(np.prod([shape[a] for a in axes], dtype=np.int64))
    if count >= MAX_MEAN_COUNT:
        raise ctx.error(op, f"{verb} {count} values per output is not supported (at most {MAX_MEAN_COUNT - 1})",
                        unsupported=True)
    return count


def reduce_dims(shape, axes) -> dict[str, int] | None:
    """te_reduce_params / te_mean_params fields: four kept and four reduced dimension groups (padded outermost
    with size 1); None where there are more than four of either."""
    groups = merge_dims(shape, [d in axes for d in range(len(shape))])
    kept = [(n, s) for n, s, f in groups if not f]
    red = [(n, s) for n, s, f in groups if f]
    if len(kept) > 4 or len(red) > 4:
        return None
    kept = [(1, 0)] * (4 - len(kept)) + kept
    red = [(1, 0)] * (4 - len(red)) + red
    params = {f"k_n{i}": n for i, (n, _) in enumerate(kept)}
    params.update({f"k_s{i}": s for i, (_, s) in enumerate(kept)})
    params.update({f"r_n{i}": n for i, (n, _) in enumerate(red)})
    params.update({f"r_s{i}": s for i, (_, s) in enumerate(red)})
    return params


def checked_dims(ctx, op, shape, axes) -> dict[str, int]:
    """reduce_dims, with an error where the axes leave more than four kept or reduced dimension groups."""
    params = reduce_dims(shape, axes)
    if params is None:
        raise ctx.error(op, f"reducing axes {axes} of {list(shape)} leaves more than four separate kept or reduced "
                            "dimension groups", unsupported=True)
    return params


@lowering("MEAN")
def lower_mean(ctx, op):
    in_t, out_t = _int8_io(ctx, op, 2)
    shape, axes = reduced_shape(ctx, op, in_t, out_t, "the mean of {}")
    count = reduced_count(ctx, op, shape, axes, "averaging")
    in_scale, in_zp = qparams(ctx, op, in_t, "input")
    out_scale, out_zp = qparams(ctx, op, out_t, "output")
    if float(np.float32(in_scale)) / float(np.float32(out_scale)) >= float(1 << 30):
        raise ctx.error(op, f"input / output scale {in_scale:g} / {out_scale:g} is too large", unsupported=True)
    mult, shift = mean_multiplier(in_scale, out_scale, count)
    checked_dims(ctx, op, shape, axes)
    ctx.add(mean_layer(op.index, ctx.buffer_of(op, in_t), ctx.new_buffer(out_t), shape, axes,
                       dict(sum_offset=-in_zp * count, mult=mult, shift=shift, output_zp=out_zp)))


def mean_layer(op_index, in_buf, out_buf, shape, axes, quant=None) -> Layer:
    """The MEAN kernel call (at most four kept and four reduced dimension groups, which the lowering checks);
    shared by the TFLite lowering and abstract graphs (quant None)."""
    params = reduce_dims(shape, axes)
    params.update(quant or dict(sum_offset=0, mult=0, shift=0, output_zp=0))
    return Layer("MEAN", op_index, "te_mean_s8", "te_mean_params", params, [in_buf], [out_buf],
                 macs=int(np.prod(shape, dtype=np.int64)))
