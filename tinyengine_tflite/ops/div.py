"""DIV (int8, with broadcasting and a fused activation): TFLite's quantized Div (reference_ops::DivElementwise),
which LiteRT's reference kernel and TFLM both run. The multiplier input1_scale / (input2_scale * output_scale)
is formed in float32 by LiteRT and in double by TFLM (ctx.reference). The divisor's reciprocal (gemmlowp's
GetReciprocal) depends on its int8 value only, so it is tabulated here for the 256 values; te_div_s8 does the
rest per element. Both operands activations, or a constant divisor."""
from __future__ import annotations

import numpy as np

from ..layers import Const, Layer
from ..lower import lowering
from ..quant import quantize_multiplier
from .activation import _one_over_one_plus_x_for_x_in_0_1
from .common import activation_and_operand, fused_range, qparams


def div_multiplier(s1: float, s2: float, s_out: float, reference: str) -> float:
    f32 = np.float32
    if reference == "tflm":
        return float(f32(s1)) / (float(f32(s2)) * float(f32(s_out)))
    return float(f32(s1) / (f32(s2) * f32(s_out)))


def reciprocals(zero_point: int) -> tuple[np.ndarray, np.ndarray]:
    """GetReciprocal(|b - zero_point|, 31) for b = -128..127: (Q0.31 reciprocal, num_bits_over_unit). A divisor
    at its zero point gets what the references compute for 0 (the shift by 32 wraps to 0 on their hosts)."""
    recip, shifts = [], []
    for b in range(-128, 128):
        y = abs(b - zero_point)
        headroom = 32 - y.bit_length()
        shifted = ((y << headroom) if headroom < 32 else y) - (1 << 31)
        recip.append(_one_over_one_plus_x_for_x_in_0_1(shifted))
        shifts.append(31 - headroom)
    return np.array(recip, dtype=np.int32), np.array(shifts, dtype=np.int32)


def _strides(shape: tuple[int, ...], out_shape: tuple[int, ...]) -> list[int]:
    """Element strides of an operand along the 5-D output (0 where it is broadcast)."""
    full = (1,) * (5 - len(shape)) + tuple(shape)
    step = [int(np.prod(full[d + 1:], dtype=np.int64)) for d in range(5)]
    return [0 if n == 1 and o != 1 else s for n, o, s in zip(full, out_shape, step)]


@lowering("DIV")
def lower_div(ctx, op):
    a_t, b_t, out_t = activation_and_operand(ctx, op, ("dividend", "divisor"))
    shapes = [tuple(int(d) for d in ctx.tensor(t).shape) for t in (a_t, b_t)]
    try:
        out_shape = tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        raise ctx.error(op, f"the input shapes {list(shapes[0])} and {list(shapes[1])} do not broadcast") from None
    if tuple(int(d) for d in ctx.tensor(out_t).shape) != out_shape:
        raise ctx.error(op, f"output shape {list(ctx.tensor(out_t).shape)} is not {list(out_shape)}")
    if len(out_shape) > 5:
        raise ctx.error(op, f"rank {len(out_shape)}: at most 5 dimensions are supported", unsupported=True)
    (s1, z1), (s2, z2), (so, zo) = (qparams(ctx, op, t, w) for t, w in
                                    ((a_t, "dividend"), (b_t, "divisor"), (out_t, "output")))
    mult, shift = quantize_multiplier(div_multiplier(s1, s2, so, ctx.reference))
    if not -25 <= shift <= 22:
        raise ctx.error(op, f"the scale ratio input1 / (input2 * output) = {s1 / (s2 * so):.3g} is outside what "
                            "the quantized Div handles (2^-26 to 2^22)", unsupported=True)
    act_min, act_max = fused_range(ctx, op, out_t)
    full = (1,) * (5 - len(out_shape)) + out_shape
    params = {f"n{i}": n for i, n in enumerate(full)}
    params.update({f"a{i}": s for i, s in enumerate(_strides(shapes[0], full))})
    params.update({f"b{i}": s for i, s in enumerate(_strides(shapes[1], full))})
    params.update(input1_offset=-z1, input2_zero_point=z2, output_offset=zo, multiplier=mult, shift=shift,
                  act_min=act_min, act_max=act_max)
    recip, recip_shift = reciprocals(z2)
    inputs, consts = [ctx.buffer_of(op, a_t)], []
    if ctx.value(b_t) is None:
        inputs.append(ctx.buffer_of(op, b_t))
    else:
        consts.append(Const.of("divisor", np.asarray(ctx.value(b_t)), "int8"))
    consts += [Const.of("recip", recip, "int32"), Const.of("recip_shift", recip_shift, "int32")]
    ctx.add(Layer(op.name, op.index, "te_div_s8", "te_div_params", params, inputs, [ctx.new_buffer(out_t)],
                  consts, macs=0))
