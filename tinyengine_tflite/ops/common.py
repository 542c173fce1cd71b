"""Helpers shared by the operator lowerings."""
from __future__ import annotations

import numpy as np

from ..quant import activation_range


def out_size(padding: str, in_size: int, k: int, stride: int, dilation: int = 1) -> int:
    eff = (k - 1) * dilation + 1
    return (in_size + stride - 1) // stride if padding == "SAME" else (in_size + stride - eff) // stride


def same_padding(in_size: int, k: int, stride: int, dilation: int, out: int) -> int:
    """TFLite ComputePaddingWithOffset: the top/left padding (the extra odd pixel goes bottom/right)."""
    eff = (k - 1) * dilation + 1
    return max(((out - 1) * stride + eff - in_size) // 2, 0)


def padding_name(code) -> str:
    return {0: "SAME", 1: "VALID"}.get(code, str(code))


def nhwc(ctx, op, t: int, what: str) -> tuple[int, int, int]:
    """(H, W, C) of a batch-1 4-D activation."""
    shape = ctx.tensor(t).shape
    if len(shape) != 4:
        raise ctx.error(op, f"{what} tensor {t} has shape {list(shape)}; a 4-D NHWC tensor is expected")
    if shape[0] != 1:
        raise ctx.error(op, f"{what} tensor {t} has batch {shape[0]}; only batch 1 is supported")
    return int(shape[1]), int(shape[2]), int(shape[3])


def qparams(ctx, op, t: int, what: str) -> tuple[float, int]:
    tt = ctx.tensor(t)
    if tt.scale is None:
        raise ctx.error(op, f"{what} tensor {t} ({tt.name!r}) has no quantization parameters")
    if tt.per_channel:
        raise ctx.error(op, f"{what} tensor {t} ({tt.name!r}) is quantized per channel; activations must be per tensor")
    return tt.qparams()


def fused_range(ctx, op, out_t: int) -> tuple[int, int]:
    scale, zp = qparams(ctx, op, out_t, "output")
    act = op.options.get("fused_activation_function", 0)
    try:
        return activation_range(act, scale, zp)
    except ValueError as e:
        raise ctx.error(op, str(e), unsupported=True) from None


def const_input(ctx, op, t: int, what: str) -> np.ndarray:
    v = ctx.value(t)
    if v is None:
        raise ctx.error(op, f"{what} (tensor {t}) must be a constant")
    return v


def activation_and_operand(ctx, op, names: tuple[str, str]) -> tuple[int, int, int]:
    """(input 1, input 2, output) of a two-input int8 operator whose input 1 is an activation (input 2 may be a
    constant); names name the inputs in errors (the validator checked the arity)."""
    (a, b), out = op.inputs, op.outputs[0]
    for t, what in ((a, names[0]), (b, names[1]), (out, "output")):
        if ctx.tensor(t).dtype != "int8":
            raise ctx.error(op, f"{what} tensor {t} is {ctx.tensor(t).dtype}; int8 is expected", unsupported=True)
    if ctx.value(a) is not None:
        raise ctx.error(op, f"the {names[0]} (tensor {a}) is a constant; only the {names[1]} may be one",
                        unsupported=True)
    return a, b, out
