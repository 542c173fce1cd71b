"""SUB, SQUARED_DIFFERENCE, MAXIMUM, MINIMUM and PRELU: int8, with ADD's broadcasting and operand handling
(ops/elementwise.py: a constant operand is a kernel const argument and goes second, an operand that dies
here goes first so the kernel can write in place).

Parameters follow the references' Prepare (LiteRT's sub.cc / squared_difference.cc / prelu.cc /
maximum_minimum.cc, and TFLM's):
- SUB: ADD's scheme (inputs scaled to 2^20 * input / (2 * max input scale), output multiplier
  2 * max scale / (2^20 * output scale)), the difference instead of the sum. Where the lowering puts the
  second input first, the kernel negates the difference: requantization is odd-symmetric, so that is exact.
- SQUARED_DIFFERENCE: the same with a left shift of 7 and the square of the difference, requantized by
  (2 * max scale)^2 / (2^14 * output scale) (may exceed one).
- MAXIMUM / MINIMUM compare the raw int8 values (both references do; they assume equal quantization).
- PRELU: input_scale / output_scale where the input is at or above its zero point, else
  input_scale * alpha_scale / output_scale times (alpha - its zero point). LiteRT forms the multipliers in
  float32, TFLM in double (ctx.reference)."""
from __future__ import annotations

import numpy as np

from ..lower import lowering
from ..quant import quantize_multiplier
from .common import qparams
from .elementwise import _layer, _operands, add_sub_kernel, add_sub_params

SUB_LEFT_SHIFT = 20
SQUARED_DIFFERENCE_LEFT_SHIFT = 7


@lowering("SUB")
def lower_sub(ctx, op):
    operands, out_shape = _operands(ctx, op)
    params = add_sub_params(ctx, op, operands, SUB_LEFT_SHIFT)
    params["negate"] = int(operands[0][0] != op.inputs[0])
    _layer(ctx, op, add_sub_kernel(params, "te_sub_s8"), "te_sub_params", operands, out_shape, params)


@lowering("SQUARED_DIFFERENCE")
def lower_squared_difference(ctx, op):
    operands, out_shape = _operands(ctx, op)
    params = add_sub_params(ctx, op, operands, SQUARED_DIFFERENCE_LEFT_SHIFT, squared=True)
    params["negate"] = 0
    _layer(ctx, op, "te_squared_difference_s8", "te_sub_params", operands, out_shape, params, macs_per_elem=1)


@lowering("MAXIMUM", "MINIMUM")
def lower_maximum_minimum(ctx, op):
    operands, out_shape = _operands(ctx, op)
    _layer(ctx, op, f"te_{op.name.lower()}_s8", "te_minmax_params", operands, out_shape, {}, macs_per_elem=0)


def prelu_multipliers(in_scale, alpha_scale, out_scale, reference: str):
    """((positive multiplier, shift), (negative multiplier, shift)) as the reference's Prepare forms them."""
    f32 = np.float32
    if reference == "tflm":
        pos = float(f32(in_scale)) / float(f32(out_scale))
        neg = float(f32(in_scale)) * float(f32(alpha_scale)) / float(f32(out_scale))
    else:
        pos = float(f32(in_scale) / f32(out_scale))
        neg = float(f32(in_scale) * f32(alpha_scale) / f32(out_scale))
    return quantize_multiplier(pos), quantize_multiplier(neg)


@lowering("PRELU")
def lower_prelu(ctx, op):
    in_t = op.inputs[0] if len(op.inputs) == 2 else None
    operands, out_shape = _operands(ctx, op)
    if operands[0][0] != in_t or operands[0][1] != out_shape:
        raise ctx.error(op, "only an input of the output's shape with a broadcast (or constant) alpha is supported",
                        unsupported=True)
    out_scale, out_zp = qparams(ctx, op, op.outputs[0], "output")
    (_, _, s_in, zp_in, _), (_, _, s_alpha, zp_alpha, _) = operands
    (mp, sp), (mn, sn) = prelu_multipliers(s_in, s_alpha, out_scale, ctx.reference)
    _layer(ctx, op, "te_prelu_s8", "te_prelu_params", operands, out_shape,
           dict(input_offset=-zp_in, alpha_offset=-zp_alpha, output_offset=out_zp, mult_pos=mp, shift_pos=sp,
                mult_neg=mn, shift_neg=sn))
