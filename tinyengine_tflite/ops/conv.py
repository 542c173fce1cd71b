"""CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED: int8 activations, int8 per-channel weights, int32 bias.

The lowering specializes each layer at compile time: it picks the kernel variant (a 1x1 convolution without
im2col, depthwise kernels unrolled for 3x3 / 5x5 / 7x7), rearranges the weights into the layout the kernels
read (pair-packed for convolutions and fully-connected layers, see te_conv.h; depthwise: te_depthwise.h) and
sizes the scratch with the same formulas as the kernels' _get_buffer_size functions (tests check the two agree).
The input zero point is folded into the bias at compile time (bias - zp * sum(filter)); the kernels fill
padding with the input zero point so the fold stays exact at the borders. The multipliers are
formed in double (per tensor as per channel, in both references). FULLY_CONNECTED requantizes with one rounding
as LiteRT's reference kernel does, or with two (TFLite's MultiplyByQuantizedMultiplier, as the convolutions) as
TFLM's does when ctx.reference is "tflm"."""
from __future__ import annotations

import numpy as np

from ..layers import Const, Faster, InPlace, Layer
from ..lower import lowering
from ..quant import conv_multipliers
from .common import const_input, fused_range, nhwc, out_size, padding_name, qparams, same_padding


def _weights(ctx, op, what="filter"):
    f_t = op.inputs[1]
    filt = const_input(ctx, op, f_t, what)
    ft = ctx.tensor(f_t)
    if ft.dtype != "int8":
        raise ctx.error(op, f"{what} tensor {f_t} is {ft.dtype}; int8 weights are required", unsupported=True)
    if ft.scale is None:
        raise ctx.error(op, f"{what} tensor {f_t} has no quantization parameters")
    if np.any(ft.zero_point != 0):
        raise ctx.error(op, f"{what} tensor {f_t} has a non-zero zero point; weights must be symmetric")
    return filt.astype(np.int32), ft.scale


def _bias(ctx, op, n: int) -> np.ndarray:
    if len(op.inputs) < 3 or op.inputs[2] < 0:
        return np.zeros(n, dtype=np.int64)
    b = const_input(ctx, op, op.inputs[2], "bias").astype(np.int64).reshape(-1)
    if ctx.tensor(op.inputs[2]).dtype != "int32":
        raise ctx.error(op, f"bias is {ctx.tensor(op.inputs[2]).dtype}; int32 is required", unsupported=True)
    if b.size != n:
        raise ctx.error(op, f"bias has {b.size} values for {n} output channels")
    return b


def _requant(ctx, op, in_t, out_t, filter_scales, n):
    in_scale, in_zp = qparams(ctx, op, in_t, "input")
    out_scale, out_zp = qparams(ctx, op, out_t, "output")
    scales = np.broadcast_to(np.asarray(filter_scales, dtype=np.float32), (n,)) if len(filter_scales) in (1, n) \
        else None
    if scales is None:
        raise ctx.error(op, f"filter has {len(filter_scales)} scales for {n} output channels")
    mult, shift = conv_multipliers(in_scale, scales, out_scale)
    # A zero multiplier (a zero or vanishing scale) makes every value 0 whatever its shift: give it shift -2,
    # one that te_quant_fast serves, so that the channel keeps its layer on the kernels' fast requantization.
    shift = np.where(mult == 0, -2, shift).astype(np.int32)
    act_min, act_max = fused_range(ctx, op, out_t)
    return in_zp, out_zp, mult, shift, act_min, act_max


def constant_channels(filt: np.ndarray, bias: np.ndarray, mult: np.ndarray, shift: np.ndarray, out_zp: int,
                      act_min: int, act_max: int) -> tuple[np.ndarray, np.ndarray]:
    """(mask, values): the output channels whose every output is one value whatever the int8 input, and that
    value (filt: (channels, depth) weights; bias: with the input zero point folded in, so acc = bias + filt . x
    for int8 x, padding included). A non-negative multiplier with a right shift makes the requantization
    monotone in the accumulator, so a channel is constant where the accumulator's two extremes requantize to
    the same value. Real models carry such dead channels with a bias near +-2^30 and shifts down to -31 (MLPerf
    Tiny's person detection), which kept whole layers off the kernels' fast requantization."""
    from .lut import mbqm   # one TFLite MultiplyByQuantizedMultiplier
    w = filt.astype(np.int64)
    lo = bias.astype(np.int64) + np.minimum(-128 * w, 127 * w).sum(axis=1)
    hi = bias.astype(np.int64) + np.maximum(-128 * w, 127 * w).sum(axis=1)
    mask = np.zeros(len(bias), dtype=bool)
    values = np.zeros(len(bias), dtype=np.int64)
    for c in range(len(bias)):
        if mult[c] < 0 or shift[c] > 0 or lo[c] < -2 ** 31 or hi[c] >= 2 ** 31:
            continue
        ends = [min(max(mbqm(int(a), int(mult[c]), int(shift[c])) + out_zp, act_min), act_max) for a in (lo[c], hi[c])]
        mask[c], values[c] = ends[0] == ends[1], ends[0]
    return mask, values


# A constant channel's requantization: multiplier 1/2 with shift -16 scales a bias of d 2^17 to d exactly
# (|d| <= 255 keeps the bias far inside what every fast form takes).
CONSTANT_MULT, CONSTANT_SHIFT, CONSTANT_BIAS_SHIFT = 1 << 30, -16, 17


def fold_constant_channels(weights: np.ndarray, bias, mult, shift, out_zp: int, act_min: int, act_max: int):
    """(weights, bias, mult, shift) with each constant channel (constant_channels; weights: (channels, depth))
    as zero weights and the bias that requantizes to its value (CONSTANT_*): the same outputs, and the layer's
    requantization stays on the kernels' fast forms."""
    const, value = constant_channels(weights, bias, mult, shift, out_zp, act_min, act_max)
    return (np.where(const[:, None], 0, weights), np.where(const, (value - out_zp) << CONSTANT_BIAS_SHIFT, bias),
            np.where(const, CONSTANT_MULT, mult).astype(np.int32),
            np.where(const, CONSTANT_SHIFT, shift).astype(np.int32))


def _geometry(ctx, op, in_hw, k_hw, out_hw):
    o = op.options
    stride = (o.get("stride_h", 1), o.get("stride_w", 1))
    dil = (o.get("dilation_h_factor", 1), o.get("dilation_w_factor", 1))
    pad = padding_name(o.get("padding", 1))
    if pad not in ("SAME", "VALID"):
        raise ctx.error(op, f"padding {pad} is not supported", unsupported=True)
    if "explicit_padding" in o:
        # a fused PAD (tinyengine_tflite.fuse): VALID over the padded input; the kernels treat the rows and
        # columns past the input as the zero point, so only the top/left amounts are passed
        top, bottom, left, right = o["explicit_padding"]
        for d, (size, lo, hi) in enumerate(((in_hw[0], top, bottom), (in_hw[1], left, right))):
            expect = out_size("VALID", size + lo + hi, k_hw[d], stride[d], dil[d])
            if expect != out_hw[d]:
                raise ctx.error(op, f"output size {out_hw[d]} does not match the fused padding (expected {expect})")
        return stride, dil, [top, left]
    pads = []
    for d in range(2):
        expect = out_size(pad, in_hw[d], k_hw[d], stride[d], dil[d])
        if expect != out_hw[d]:
            raise ctx.error(op, f"output size {out_hw[d]} does not match {pad} padding (expected {expect})")
        pads.append(same_padding(in_hw[d], k_hw[d], stride[d], dil[d], out_hw[d]) if pad == "SAME" else 0)
    return stride, dil, pads


def _conv_operands(ctx, op):
    """(input tensor, output tensor, input (h, w, c), output (h, w, c), filter, filter scales) of CONV_2D or
    DEPTHWISE_CONV_2D."""
    in_t, out_t = op.inputs[0], op.outputs[0]
    in_hwc, out_hwc = nhwc(ctx, op, in_t, "input"), nhwc(ctx, op, out_t, "output")
    return (in_t, out_t, in_hwc, out_hwc, *_weights(ctx, op))


@lowering("CONV_2D")
def lower_conv2d(ctx, op):
    in_t, out_t, (ih, iw, ic), (oh, ow, oc), filt, fscales = _conv_operands(ctx, op)
    if filt.ndim != 4 or filt.shape[0] != oc:
        raise ctx.error(op, f"filter shape {list(filt.shape)} does not match {oc} output channels")
    kh, kw, fic = filt.shape[1:]
    if fic != ic:
        raise ctx.error(op, f"filter has {fic} input channels, input has {ic} (grouped convolution is not supported)",
                        unsupported=True)
    stride, dil, pads = _geometry(ctx, op, (ih, iw), (kh, kw), (oh, ow))
    in_zp, out_zp, mult, shift, amin, amax = _requant(ctx, op, in_t, out_t, fscales, oc)
    bias = _bias(ctx, op, oc) - in_zp * filt.reshape(oc, -1).sum(axis=1)
    weights, bias, mult, shift = fold_constant_channels(filt.reshape(oc, -1), bias, mult, shift, out_zp, amin, amax)
    filt = weights.reshape(filt.shape)
    ctx.add(conv_layer(op.index, ctx.buffer_of(op, in_t), ctx.new_buffer(out_t), (ih, iw, ic), (oh, ow, oc),
                       (kh, kw), stride, dil, pads,
                       dict(input_offset=-in_zp, output_offset=out_zp, act_min=amin, act_max=amax),
                       [Const.of("filter", pair_packed(filt.reshape(oc, -1)), "int8"), Const.of("bias", bias, "int32"),
                        Const.of("mult", mult, "int32"), Const.of("shift", shift, "int32")]))


def _pad4(n: int) -> int:
    return (n + 3) // 4 * 4


def pair_packed(w: np.ndarray) -> np.ndarray:
    """(channels, depth) weights in the kernels' pair-packed layout (te_conv.h): channels in pairs (a zero
    channel completes an odd count), depth zero-padded to a multiple of 4, the pair interleaved 4 values at a time."""
    n, depth = w.shape
    out = np.zeros((n + n % 2, _pad4(depth)), dtype=np.int64)
    out[:n, :depth] = w
    return out.reshape(-1, 2, out.shape[1] // 4, 4).transpose(0, 2, 1, 3).reshape(-1)


def pair_packed_count(channels: int, depth: int) -> int:
    return (channels + channels % 2) * _pad4(depth)


def conv2d_buffer_size(p: dict) -> int:
    """te_conv2d_s8_get_buffer_size: two im2col columns of the depth rounded up to 4."""
    return 2 * _pad4(p["kernel.h"] * p["kernel.w"] * p["input.c"])


def conv2d_q15_buffer_size(p: dict) -> int:
    """te_conv2d_s8_q15_get_buffer_size: two im2col columns of int16, the depth rounded up to 4, and, when
    input.c is not a multiple of 4, the two int8 columns they are sign-extended from."""
    return (4 if p["input.c"] % 4 == 0 else 6) * _pad4(p["kernel.h"] * p["kernel.w"] * p["input.c"])


def conv_params(in_shape, out_shape, k, stride, dil, pads, quant) -> dict:
    """te_conv_params (te_conv.h, built from te_common.h's te_dims / te_hw / te_activation), field by field in
    declaration order; the keys are the C designators of the nested fields."""
    fields = {}
    for struct, values in (("input", in_shape), ("output", out_shape)):
        fields.update({f"{struct}.{d}": int(v) for d, v in zip("hwc", values)})
    for struct, values in (("kernel", k), ("stride", stride), ("dilation", dil), ("padding", pads)):
        fields.update({f"{struct}.{d}": int(v) for d, v in zip("hw", values)})
    return {**fields, "input_offset": quant["input_offset"], "output_offset": quant["output_offset"],
            "activation.min": quant["act_min"], "activation.max": quant["act_max"]}


def depthwise_buffer_size(p: dict) -> int:
    """te_depthwise_conv_s8_get_buffer_size: the int16 taps (kernel.h rows of kernel.w rounded up to even) and
    kernel.h int16 input rows, each one longer than the padded width and even."""
    kh, kw = p["kernel.h"], p["kernel.w"]
    work = 2 * kh * (kw + kw % 2) + 2 * kh * _dw_row_len(p)
    return max(work, _dw_ring4_bytes(p) - _pad4(p["output.h"] * p["output.w"]))


def _dw_row_len(p: dict) -> int:
    """te_dw_row_len: int16 values of a gathered row, one more than the padded width, even."""
    width = (p["output.w"] - 1) * p["stride.w"] + (p["kernel.w"] - 1) * p["dilation.w"] + 1
    return (width + 2) // 2 * 2


def _dw_ring4_bytes(p: dict) -> int:
    """te_dw_ring4_bytes: the DSP path's channel-group ring (the taps of 4 channels as SMLAD operands, two sets
    with stride.w 1; 4 requantization constants of 3 words; kernel.h slots of 4 int16 rows) where the shape
    allows it, else 0."""
    k = p["kernel.h"]
    if (k != p["kernel.w"] or k not in (3, 5, 7) or (p["dilation.h"], p["dilation.w"]) != (1, 1)
            or p["depth_mult"] != 1 or p["stride.w"] not in (1, 2) or p["output.c"] < 4):
        return 0
    tap_words = 4 * k * ((k + 1) // 2) * (2 if p["stride.w"] == 1 else 1)
    return 4 * tap_words + 4 * 12 + 8 * k * _dw_row_len(p)


def depthwise_inplace_buffer_size(p: dict) -> int:
    """te_depthwise_conv_s8_inplace_get_buffer_size: the output.h * output.w plane (rounded up to 4), then the
    depthwise buffers."""
    return _pad4(p["output.h"] * p["output.w"]) + depthwise_buffer_size(p)


def _weight_consts(n_filter: int, n_channels: int, n_requant: int | None = None) -> list[Const]:
    """Size-only constants of a conv-family layer, for abstract graphs (the NAS profiler)."""
    n_requant = n_channels if n_requant is None else n_requant
    return [Const("filter", "int8", n_filter), Const("bias", "int32", n_channels),
            Const("mult", "int32", n_requant), Const("shift", "int32", n_requant)]


def _conv_kernel(pointwise: bool, in_c: int, out_c: int) -> str:
    if not pointwise:
        return "te_conv2d_s8"
    return "te_conv2d_1x1_s8_c4" if in_c % 4 == 0 and out_c % 2 == 0 else "te_conv2d_1x1_s8"


def conv_layer(op_index, in_buf, out_buf, in_shape, out_shape, k, stride, dil, pads, quant=None, consts=None):
    """The CONV_2D kernel call; shared by the TFLite lowering and abstract graphs (quant/consts None)."""
    (ih, iw, ic), (oh, ow, oc), (kh, kw) = in_shape, out_shape, k
    pointwise = kh == kw == 1 and tuple(stride) == (1, 1) and list(pads) == [0, 0] and (oh, ow) == (ih, iw)
    quant = quant or dict(input_offset=0, output_offset=0, act_min=-128, act_max=127)
    params = conv_params(in_shape, out_shape, k, stride, dil, pads, quant)
    layer = Layer(
        "CONV_2D", op_index, _conv_kernel(pointwise, ic, oc), "te_conv_params", params,
        [in_buf], [out_buf], consts if consts is not None else _weight_consts(pair_packed_count(oc, kh * kw * ic), oc),
        scratch_bytes=0 if pointwise else conv2d_buffer_size(params), takes_scratch=not pointwise,
        macs=oh * ow * oc * kh * kw * ic)
    if not pointwise or ic % 4 == 0:
        # where the arena has room: each input is sign-extended once per pixel pair, not once per channel pair
        layer.faster = Faster("te_conv2d_s8_q15", conv2d_q15_buffer_size(params))
    return layer


@lowering("DEPTHWISE_CONV_2D")
def lower_depthwise(ctx, op):
    in_t, out_t, (ih, iw, ic), (oh, ow, oc), filt, fscales = _conv_operands(ctx, op)
    if filt.ndim != 4 or filt.shape[0] != 1 or filt.shape[3] != oc:
        raise ctx.error(op, f"filter shape {list(filt.shape)} does not match {oc} output channels")
    kh, kw = filt.shape[1:3]
    if oc % ic:
        raise ctx.error(op, f"{oc} output channels is not a multiple of {ic} input channels")
    stride, dil, pads = _geometry(ctx, op, (ih, iw), (kh, kw), (oh, ow))
    in_zp, out_zp, mult, shift, amin, amax = _requant(ctx, op, in_t, out_t, fscales, oc)
    taps = filt[0].transpose(2, 0, 1).reshape(oc, -1)      # (channels, kh * kw)
    bias = _bias(ctx, op, oc) - in_zp * taps.sum(axis=1)
    taps, bias, mult, shift = fold_constant_channels(taps, bias, mult, shift, out_zp, amin, amax)
    ctx.add(depthwise_layer(op.index, ctx.buffer_of(op, in_t), ctx.new_buffer(out_t), (ih, iw, ic), (oh, ow, oc),
                            (kh, kw), stride, dil, pads,
                            dict(input_offset=-in_zp, output_offset=out_zp, act_min=amin, act_max=amax),
                            [Const.of("filter", taps.reshape(oc, kh, kw), "int8"), Const.of("bias", bias, "int32"),
                             Const.of("mult", mult, "int32"), Const.of("shift", shift, "int32")]))


def depthwise_layer(op_index, in_buf, out_buf, in_shape, out_shape, k, stride, dil, pads, quant=None, consts=None):
    """The DEPTHWISE_CONV_2D kernel call; shared by the TFLite lowering and abstract graphs."""
    (ih, iw, ic), (oh, ow, oc), (kh, kw) = in_shape, out_shape, k
    quant = quant or dict(input_offset=0, output_offset=0, act_min=-128, act_max=127)
    params = {**conv_params(in_shape, out_shape, k, stride, dil, pads, quant), "depth_mult": oc // ic}
    # square 3x3, 5x5 and 7x7 kernels without dilation have unrolled variants
    variant = f"_k{kh}" if kh == kw and kh in (3, 5, 7) and tuple(dil) == (1, 1) else ""
    layer = Layer(
        "DEPTHWISE_CONV_2D", op_index, "te_depthwise_conv_s8" + variant, "te_dw_params", params,
        [in_buf], [out_buf], consts if consts is not None else _weight_consts(kh * kw * oc, oc),
        scratch_bytes=depthwise_buffer_size(params), takes_scratch=True, macs=oh * ow * oc * kh * kw)
    if oc == ic:
        # MCUNet's in-place depthwise: one channel at a time through an out_h*out_w plane
        layer.inplace = InPlace("te_depthwise_conv_s8_inplace" + variant, depthwise_inplace_buffer_size(params))
    return layer


@lowering("FULLY_CONNECTED")
def lower_fully_connected(ctx, op):
    in_t, f_t, out_t = op.inputs[0], op.inputs[1], op.outputs[0]
    filt, fscales = _weights(ctx, op, "weights")
    if filt.ndim != 2:
        raise ctx.error(op, f"weights have shape {list(filt.shape)}; 2-D weights are expected")
    out_depth, in_depth = filt.shape
    n_in = int(np.prod(ctx.tensor(in_t).shape))
    if n_in % in_depth:
        raise ctx.error(op, f"input of {n_in} values is not a multiple of the weights' depth {in_depth}")
    if int(np.prod(ctx.tensor(out_t).shape)) != n_in // in_depth * out_depth:
        raise ctx.error(op, f"output shape {list(ctx.tensor(out_t).shape)} does not match "
                            f"{n_in // in_depth} x {out_depth}")
    in_zp, out_zp, mult, shift, amin, amax = _requant(ctx, op, in_t, out_t, fscales, out_depth)
    per_channel = len(fscales) > 1
    if not per_channel:
        mult, shift = mult[:1], shift[:1]
    bias = _bias(ctx, op, out_depth) - in_zp * filt.sum(axis=1)
    ctx.add(fully_connected_layer(op.index, ctx.buffer_of(op, in_t), ctx.new_buffer(out_t), n_in // in_depth,
                                  in_depth, out_depth,
                                  dict(output_offset=out_zp, act_min=amin, act_max=amax,
                                       per_channel=int(per_channel), double_rounding=int(ctx.reference == "tflm")),
                                  [Const.of("weights", pair_packed(filt), "int8"), Const.of("bias", bias, "int32"),
                                   Const.of("mult", mult, "int32"), Const.of("shift", shift, "int32")]))


def fully_connected_layer(op_index, in_buf, out_buf, batches, in_depth, out_depth, quant=None, consts=None):
    """The FULLY_CONNECTED kernel call; shared by the TFLite lowering and abstract graphs (which requantize
    as LiteRT does: single rounding)."""
    quant = quant or dict(output_offset=0, act_min=-128, act_max=127, per_channel=1, double_rounding=0)
    n_requant = out_depth if quant["per_channel"] else 1
    if consts is None:
        consts = _weight_consts(pair_packed_count(out_depth, in_depth), out_depth, n_requant)
        consts[0].name = "weights"
    params = {"batches": batches, "in_depth": in_depth, "out_depth": out_depth,
              "output_offset": quant["output_offset"], "activation.min": quant["act_min"],
              "activation.max": quant["act_max"], "per_channel": quant["per_channel"],
              "double_rounding": quant["double_rounding"]}
    return Layer("FULLY_CONNECTED", op_index, "te_fully_connected_s8", "te_fc_params", params,
                 [in_buf], [out_buf], consts, macs=batches * in_depth * out_depth)
