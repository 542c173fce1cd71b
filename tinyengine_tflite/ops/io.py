"""QUANTIZE and DEQUANTIZE at the model's float edges, and integer QUANTIZE (requantization): int8 -> int8
anywhere in the graph, uint8 <-> int8 and int16 <-> int8 (a model's uint8 or int16 input or output, converted
in the arena by TFLite's Requantize: MultiplyByQuantizedMultiplier by input_scale / output_scale)."""
from __future__ import annotations

import numpy as np

from ..layers import InPlace, IOSpec, Layer
from ..lower import lowering
from ..quant import quantize_multiplier
from .common import qparams


# (input dtype, output dtype) -> requantizing kernel; TFLite's Requantize for each pair both references run.
_REQUANTIZE = {("int8", "int8"): "te_requantize_s8", ("uint8", "int8"): "te_requantize_u8_s8",
               ("int8", "uint8"): "te_requantize_s8_u8", ("int16", "int8"): "te_requantize_s16_s8",
               ("int8", "int16"): "te_requantize_s8_s16"}
# The uint8 edges may write over their input (int8 -> int8 keeps its separate output, as before).
_SAME_SIZE_EDGES = ("te_requantize_u8_s8", "te_requantize_s8_u8")


@lowering("QUANTIZE")
def lower_quantize(ctx, op):
    in_t, out_t = op.inputs[0], op.outputs[0]
    src, dst = ctx.tensor(in_t), ctx.tensor(out_t)
    if src.dtype == "float32":
        if dst.dtype != "int8":
            raise ctx.error(op, f"float32 -> {dst.dtype} is not supported; float32 -> int8 is", unsupported=True)
        if in_t not in ctx.float_inputs:
            raise ctx.error(op, "float QUANTIZE is supported only on a model input (the model must be int8 inside)",
                            unsupported=True)
        qparams(ctx, op, out_t, "output")
        # The float input is quantized outside the arena (by the API, exactly as TFLite does).
        ctx.add_input(in_t, ctx.new_buffer(out_t), dst)
        return
    kernel = _REQUANTIZE.get((src.dtype, dst.dtype))
    if kernel is None:
        pairs = ", ".join(f"{a} -> {b}" for a, b in _REQUANTIZE)
        raise ctx.error(op, f"{src.dtype} -> {dst.dtype} is not supported (float32 -> int8, {pairs} are)",
                        unsupported=True)
    in_scale, in_zp = qparams(ctx, op, in_t, "input")
    out_scale, out_zp = qparams(ctx, op, out_t, "output")
    mult, shift = quantize_multiplier(float(in_scale) / float(out_scale))
    n = int(np.prod(dst.shape, dtype=np.int64))
    layer = ctx.add(Layer(op.name, op.index, kernel, "te_requant_params",
                          dict(size=n, input_offset=-in_zp, output_offset=out_zp, mult=mult, shift=shift),
                          [ctx.buffer_of(op, in_t)], [ctx.new_buffer(out_t, dtype=dst.dtype)], [], macs=0))
    if kernel in _SAME_SIZE_EDGES:
        layer.inplace = InPlace(kernel, 0)   # elementwise, one byte in and one out


@lowering("DEQUANTIZE")
def lower_dequantize(ctx, op):
    in_t, out_t = op.inputs[0], op.outputs[0]
    src, dst = ctx.tensor(in_t), ctx.tensor(out_t)
    if src.dtype != "int8" or dst.dtype != "float32":
        raise ctx.error(op, f"{src.dtype} -> {dst.dtype} is not supported; int8 -> float32 is", unsupported=True)
    if out_t not in ctx.graph.outputs:
        raise ctx.error(op, "DEQUANTIZE is supported only on a model output (the model must be int8 inside)",
                        unsupported=True)
    scale, zp = qparams(ctx, op, in_t, "input")
    ctx.alias(out_t, in_t, op)
    ctx.outputs.append(IOSpec(ctx.tensor_buffer[out_t], out_t, dst.name, tuple(dst.shape), "float32", scale, zp))


