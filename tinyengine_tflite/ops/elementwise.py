"""ADD and MUL: int8, NumPy-style broadcasting (up to four merged dimensions), a constant operand passed as a
const array, fused RELU / RELU6 / RELU_N1_TO_1.

Parameters follow the references' Prepare (LiteRT's add.cc / mul.cc, TFLM's add_common.cc / mul_common.cc):
- ADD scales both inputs to 2^20 * (input / (2 * max input scale)) (per-input multipliers with shift <= 0,
  formed in double from the float32 scales), sums, and requantizes with 2 * max scale / (2^20 * output scale).
- MUL's multiplier is input1_scale * input2_scale / output_scale. LiteRT multiplies the float32 scales before
  widening to double, TFLM (mul_common.cc) forms it in double, so the two can differ by one LSB for some scale
  triples: the lowering forms it as the chosen reference does (ctx.reference, "litert" by default).
Both operations are commutative to the bit, so the lowering may swap the operands: a constant operand always
goes second (it is a kernel const argument), and an operand that dies here and has the output's shape goes
first, so that the kernel can write its output over it in place."""
from __future__ import annotations

import numpy as np

from ..layers import Const, InPlace, Layer
from ..lower import lowering
from ..quant import quantize_multiplier
from .common import fused_range, qparams

MAX_MERGED_DIMS = 4
ADD_LEFT_SHIFT = 20


def broadcast_dims(out_shape, shapes, max_dims: int = MAX_MERGED_DIMS):
    """Merge the output's dimensions into at most `max_dims` (outermost first, padded with 1s in front) and
    give each operand its element strides over them (0 along a broadcast dimension). Returns
    (dims, [strides per operand]) or None when more than `max_dims` merged dimensions remain."""
    out_shape = tuple(int(d) for d in out_shape)
    rank = len(out_shape)
    padded = [(1,) * (rank - len(s)) + tuple(int(d) for d in s) for s in shapes]
    merged: list[tuple[int, tuple[bool, ...]]] = []
    for d, n in enumerate(out_shape):
        if n == 1:
            continue
        full = tuple(p[d] == n for p in padded)
        if merged and merged[-1][1] == full:
            merged[-1] = (merged[-1][0] * n, full)
        else:
            merged.append((n, full))
    if not merged:
        merged = [(1, (True,) * len(shapes))]
    if len(merged) > max_dims:
        return None
    strides = []
    for k in range(len(shapes)):
        acc, st = 1, []
        for n, full in reversed(merged):
            st.append(acc if full[k] else 0)
            if full[k]:
                acc *= n
        st.reverse()
        strides.append([0] * (max_dims - len(merged)) + st)
    dims = [1] * (max_dims - len(merged)) + [n for n, _ in merged]
    return dims, strides


def _used_after(ctx, op, t: int) -> bool:
    return t in ctx.graph.outputs or any(t in o.inputs for o in ctx.graph.operators[op.index + 1:])


def _operands(ctx, op):
    """Validated operands [(tensor, shape, scale, zero point, constant or None)] in kernel order, and the
    output shape."""
    if len(op.inputs) != 2 or len(op.outputs) != 1:
        raise ctx.error(op, f"expects 2 inputs and 1 output, has {len(op.inputs)} and {len(op.outputs)}")
    out_t = op.outputs[0]
    out = ctx.tensor(out_t)
    if out.dtype != "int8":
        raise ctx.error(op, f"output is {out.dtype}; only int8 is supported", unsupported=True)
    operands = []
    for k, t in enumerate(op.inputs):
        tt = ctx.tensor(t)
        if tt.dtype != "int8":
            raise ctx.error(op, f"input {k} (tensor {t}) is {tt.dtype}; only int8 is supported", unsupported=True)
        scale, zp = qparams(ctx, op, t, f"input {k}")
        operands.append((t, tuple(int(d) for d in tt.shape), scale, zp, ctx.value(t)))
    try:
        expect = tuple(int(d) for d in np.broadcast_shapes(operands[0][1], operands[1][1]))
    except ValueError:
        raise ctx.error(op, f"input shapes {list(operands[0][1])} and {list(operands[1][1])} do not broadcast") \
            from None
    if expect != tuple(out.shape):
        raise ctx.error(op, f"output shape {list(out.shape)} is not the broadcast of the input shapes "
                            f"{list(operands[0][1])} and {list(operands[1][1])}")
    const = [c is not None for *_, c in operands]
    if all(const):
        raise ctx.error(op, "both inputs are constant (a converter folds this; the engine does not)",
                        unsupported=True)
    n_out = int(np.prod(out.shape, dtype=np.int64))

    def in_place_candidate(o):
        return o[4] is None and int(np.prod(o[1], dtype=np.int64)) == n_out and not _used_after(ctx, op, o[0])

    if const[0] or (not in_place_candidate(operands[0]) and in_place_candidate(operands[1])):
        operands.reverse()
    return operands, tuple(out.shape)


def _layer(ctx, op, kernel, struct, operands, out_shape, params, macs_per_elem=1):
    out_t = op.outputs[0]
    bd = broadcast_dims(out_shape, [o[1] for o in operands])
    if bd is None:
        raise ctx.error(op, f"broadcasting {list(operands[0][1])} with {list(operands[1][1])} needs more than "
                            f"{MAX_MERGED_DIMS} merged dimensions", unsupported=True)
    first, second = operands
    inputs = [ctx.buffer_of(op, first[0])]
    consts = []
    if second[4] is None:
        inputs.append(ctx.buffer_of(op, second[0]))
    else:
        consts.append(Const.of("operand", second[4].astype(np.int8), "int8"))
    return ctx.add(binary_layer(op.name, op.index, kernel, struct, bd, params, inputs, consts, ctx.new_buffer(out_t),
                                out_shape, first[1], macs_per_elem))


def binary_layer(op_name, op_index, kernel, struct, dims_strides, params, inputs, consts, out_buf, out_shape,
                 first_shape, macs_per_elem=1) -> Layer:
    """An ADD/MUL kernel call; shared by the TFLite lowering and abstract graphs (the NAS profiler)."""
    dims, (sa, sb) = dims_strides
    fields = {f"shape.{name}{i}": v for name, values in (("n", dims), ("a_s", sa), ("b_s", sb))
              for i, v in enumerate(values)}       # a te_broadcast, set with C99 nested designators
    fields.update(params)
    n_out = int(np.prod(out_shape, dtype=np.int64))
    layer = Layer(op_name, op_index, kernel, struct, fields, inputs, [out_buf], consts, macs=n_out * macs_per_elem)
    if int(np.prod(first_shape, dtype=np.int64)) == n_out:
        layer.inplace = InPlace(kernel, 0)
    return layer


def add_layer(op_index, inputs, out_buf, shape) -> Layer:
    """A same-shape ADD of two activation buffers (a residual connection), for abstract graphs: the operand
    order is the converter's (the block's output first), which the lowering keeps when both operands die."""
    params = dict(input1_offset=0, input2_offset=0, output_offset=0, left_shift=ADD_LEFT_SHIFT,
                  input1_mult=0, input1_shift=0, input2_mult=0, input2_shift=0, output_mult=0, output_shift=0,
                  act_min=-128, act_max=127)
    return binary_layer("ADD", op_index, "te_add_s8", "te_add_params", broadcast_dims(shape, [shape, shape]),
                        params, list(inputs), [], out_buf, shape, shape)


def _smaller_than_one(ctx, op, real: float, what: str) -> tuple[int, int]:
    if not 0.0 <= real < 1.0:
        raise ctx.error(op, f"the {what} multiplier {real:g} is not in [0, 1) (TFLite requires it)",
                        unsupported=True)
    return quantize_multiplier(real)


def add_sub_params(ctx, op, operands, left_shift: int, squared: bool = False) -> dict:
    """te_add_params / te_sub_params fields (but the shape) for operands in kernel order: the inputs scaled to
    2^left_shift * input / (2 * max input scale), the output multiplier 2 * max scale / (2^left_shift * output
    scale); squared (SQUARED_DIFFERENCE): (2 * max scale)^2 / (2^(2 left_shift) * output scale), which may exceed
    one, and no fused activation."""
    out_scale, out_zp = qparams(ctx, op, op.outputs[0], "output")
    amin, amax = (-128, 127) if squared else fused_range(ctx, op, op.outputs[0])
    (_, _, s1, zp1, _), (_, _, s2, zp2, _) = operands
    twice_max = 2.0 * float(max(np.float32(s1), np.float32(s2)))
    m1, sh1 = _smaller_than_one(ctx, op, float(np.float32(s1)) / twice_max, "input 1")
    m2, sh2 = _smaller_than_one(ctx, op, float(np.float32(s2)) / twice_max, "input 2")
    if squared:
        mo, sho = quantize_multiplier(twice_max * twice_max /
                                      float(np.float32(1 << (2 * left_shift)) * np.float32(out_scale)))
    else:
        mo, sho = _smaller_than_one(ctx, op, twice_max / (float(1 << left_shift) * float(np.float32(out_scale))),
                                    "output")
    return dict(input1_offset=-zp1, input2_offset=-zp2, output_offset=out_zp, left_shift=left_shift,
                input1_mult=m1, input1_shift=sh1, input2_mult=m2, input2_shift=sh2, output_mult=mo,
                output_shift=sho, act_min=amin, act_max=amax)


def add_sub_kernel(params: dict, kernel: str) -> str:
    """`kernel` (te_add_s8 / te_sub_s8) where its preconditions hold (kernels/te_elementwise.h: a left shift of
    ADD_LEFT_SHIFT, one input's rescaling exactly 1/2, the other's right shift at most ADD_LEFT_SHIFT + 1, an
    output shift in [-24, -2], te_quant_fast's range), else its _general variant."""
    halved = [(params[f"input{k}_mult"], params[f"input{k}_shift"]) == (1 << 30, 0) for k in (1, 2)]
    other_shift = params["input2_shift"] if halved[0] else params["input1_shift"]
    fast = any(halved) and params["left_shift"] == ADD_LEFT_SHIFT and -other_shift <= ADD_LEFT_SHIFT + 1 and \
        -24 <= params["output_shift"] <= -2
    return kernel if fast else kernel + "_general"


@lowering("ADD")
def lower_add(ctx, op):
    operands, out_shape = _operands(ctx, op)
    params = add_sub_params(ctx, op, operands, ADD_LEFT_SHIFT)
    _layer(ctx, op, add_sub_kernel(params, "te_add_s8"), "te_add_params", operands, out_shape, params)


def mul_multiplier(s1: float, s2: float, s_out: float, reference: str = "litert") -> float:
    """input1_scale * input2_scale / output_scale of the float32 scales: in float32, then widened to double, as
    LiteRT's mul.cc does (reference "litert"), or in double, as TFLM's mul_common.cc does ("tflm")."""
    if reference == "tflm":
        return float(np.float32(s1)) * float(np.float32(s2)) / float(np.float32(s_out))
    return float(np.float32(s1) * np.float32(s2) / np.float32(s_out))


@lowering("MUL")
def lower_mul(ctx, op):
    operands, out_shape = _operands(ctx, op)
    out_scale, out_zp = qparams(ctx, op, op.outputs[0], "output")
    amin, amax = fused_range(ctx, op, op.outputs[0])
    (_, _, s1, zp1, _), (_, _, s2, zp2, _) = operands
    mult, shift = quantize_multiplier(mul_multiplier(s1, s2, out_scale, ctx.reference))
    _layer(ctx, op, "te_mul_s8", "te_mul_params", operands, out_shape,
           dict(input1_offset=-zp1, input2_offset=-zp2, output_offset=out_zp,
                output_mult=mult, output_shift=shift, act_min=amin, act_max=amax))
