"""TRANSPOSE_CONV: int8 activations, int8 per-channel weights [out_c, k_h, k_w, in_c], optional int32 bias
(te_transpose_conv_s8). TFLite pads as for a convolution from the output back to the input (its
ComputePaddingHeightWidth with the output's size, dilation 1) and requantizes per channel as the convolutions
do, in both references."""
from __future__ import annotations

import numpy as np

from ..layers import Const, Layer
from ..lower import lowering
from .common import const_input, nhwc, out_size, padding_name, same_padding
from .conv import _requant, _weights
from .shape import int_values


@lowering("TRANSPOSE_CONV")
def lower_transpose_conv(ctx, op):
    if len(op.inputs) not in (3, 4) or len(op.outputs) != 1:
        raise ctx.error(op, f"expects 3 or 4 inputs and 1 output, has {len(op.inputs)} and {len(op.outputs)}")
    in_t, out_t = op.inputs[2], op.outputs[0]
    ih, iw, ic = nhwc(ctx, op, in_t, "input")
    oh, ow, oc = nhwc(ctx, op, out_t, "output")
    requested = [int(v) for v in int_values(ctx, op, op.inputs[0], "the output shape").reshape(-1)]
    if requested != [1, oh, ow, oc]:
        raise ctx.error(op, f"output shape {requested} differs from the output tensor's {[1, oh, ow, oc]}")
    filt, fscales = _weights(ctx, op)
    if filt.ndim != 4 or filt.shape[0] != oc or filt.shape[3] != ic:
        raise ctx.error(op, f"filter shape {list(filt.shape)} does not map {ic} input to {oc} output channels")
    kh, kw = int(filt.shape[1]), int(filt.shape[2])
    o = op.options
    stride = (int(o.get("stride_h", 1)), int(o.get("stride_w", 1)))
    pad = padding_name(o.get("padding", 1))
    if pad not in ("SAME", "VALID") or min(stride) < 1:
        raise ctx.error(op, f"padding {pad} with strides {list(stride)} is not supported", unsupported=True)
    pads = []
    for d, (i, n, k) in enumerate(((ih, oh, kh), (iw, ow, kw))):
        if out_size(pad, n, k, stride[d]) != i:
            raise ctx.error(op, f"input size {i} does not match output size {n} with {pad} padding, kernel {k} and "
                                f"stride {stride[d]}")
        pads.append(same_padding(n, k, stride[d], 1, i))
    in_zp, out_zp, mult, shift, amin, amax = _requant(ctx, op, in_t, out_t, fscales, oc)
    bias = np.zeros(oc, dtype=np.int64)
    if len(op.inputs) > 3 and op.inputs[3] >= 0:
        if ctx.tensor(op.inputs[3]).dtype != "int32":
            raise ctx.error(op, f"bias is {ctx.tensor(op.inputs[3]).dtype}; int32 is required", unsupported=True)
        bias = const_input(ctx, op, op.inputs[3], "bias").astype(np.int64).reshape(-1)
        if bias.size != oc:
            raise ctx.error(op, f"bias has {bias.size} values for {oc} output channels")
    ctx.add(Layer(op.name, op.index, "te_transpose_conv_s8", "te_transpose_conv_params",
                  dict(in_h=ih, in_w=iw, in_c=ic, out_h=oh, out_w=ow, out_c=oc, k_h=kh, k_w=kw,
                       stride_h=stride[0], stride_w=stride[1], pad_top=pads[0], pad_left=pads[1],
                       input_offset=-in_zp, output_offset=out_zp, act_min=amin, act_max=amax),
                  [ctx.buffer_of(op, in_t)], [ctx.new_buffer(out_t)],
                  [Const.of("filter", filt, "int8"), Const.of("bias", bias, "int32"),
                   Const.of("mult", mult, "int32"), Const.of("shift", shift, "int32")],
                  macs=ih * iw * ic * kh * kw * oc))
