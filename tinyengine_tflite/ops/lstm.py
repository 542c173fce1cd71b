"""UNIDIRECTIONAL_SEQUENCE_LSTM: TFLite's integer LSTM (8x8_16: int8 input, weights and hidden state, int16 cell
state, int32 biases), as a Keras LSTM converts with full-integer quantization: 24 inputs, no peephole,
projection, layer norm or CIFG, TANH activation (kernels/te_lstm.c). The hidden state (input 18) and the cell
state (input 19) are variable tensors: they become the layer's States (RAM outside the arena, kept across
invokes; the hidden state starts at its zero point, as TFLite resets int8 variable tensors).

The references form the same integers differently (te_lstm.h):
- "litert" (lstm_eval.cc): the gate multipliers are float32 products of the scales over Q3.12, the hidden
  multiplier 2^-30 over the scale of the operator's fifth intermediate tensor (its zero point is the hidden
  state's) formed in double and rounded to float32;
- "tflm" (lstm_eval_common.cc): the same ratios in double, the hidden state tensor's own scale and zero point,
  and the cell products requantized by multipliers (2^-15, 2^-30 / cell scale)."""
from __future__ import annotations

import math

import numpy as np

from ..layers import Const, Layer, State
from ..lower import lowering
from ..quant import quantize_multiplier
from .common import const_input, qparams

TANH = 4                                    # the fused activation: the cell gate's and the output's
GATE_SCALE = 2.0 ** -12                     # the gates before their activations are Q3.12
# Inputs by gate (input, forget, cell, output): input weights, recurrent weights, bias.
INPUT_WEIGHTS, RECURRENT_WEIGHTS, BIASES = (1, 2, 3, 4), (5, 6, 7, 8), (12, 13, 14, 15)
HIDDEN_STATE, CELL_STATE = 18, 19
VARIANTS = {"peephole": (9, 10, 11), "projection": (16, 17), "layer norm": (20, 21, 22, 23)}


def _tensor(ctx, op, t: int, what: str, dtype: str, shape: tuple) -> None:
    tt = ctx.tensor(t)
    if tt.dtype != dtype or tuple(tt.shape) != shape:
        raise ctx.error(op, f"{what} (tensor {t}) is {tt.dtype} of shape {list(tt.shape)}; {dtype} of shape "
                            f"{list(shape)} is expected", unsupported=True)


def _weight(ctx, op, t: int, what: str, shape: tuple) -> tuple[np.ndarray, float]:
    """A constant int8 weight matrix, symmetric per-tensor quantized: (values, scale)."""
    _tensor(ctx, op, t, what, "int8", shape)
    scale, zp = qparams(ctx, op, t, what)
    if zp != 0:
        raise ctx.error(op, f"{what} (tensor {t}) has zero point {zp}; TFLite's integer LSTM needs 0",
                        unsupported=True)
    return const_input(ctx, op, t, what).astype(np.int64), scale


def _multiplier(ctx, op, real: float, what: str) -> tuple[int, int]:
    mult, shift = quantize_multiplier(real)
    if shift < -31:
        raise ctx.error(op, f"the {what} multiplier {real:g} is too small", unsupported=True)
    return mult, shift


def _gate_multiplier(reference: str, in_scale: float, weight_scale: float) -> float:
    f32 = np.float32
    if reference == "tflm":
        return float(in_scale) * float(weight_scale) / float(f32(GATE_SCALE))
    return float(f32(f32(weight_scale) * f32(in_scale)) / f32(GATE_SCALE))


def _cell_clip(reference: str, clip: float, cell_scale: float) -> int:
    """The clip in cell-state units, truncated to int16 as static_cast does (float32 or double division)."""
    if clip <= 0:
        return 0
    q = float(np.float32(clip) / np.float32(cell_scale)) if reference == "litert" else float(clip) / cell_scale
    return int(max(-32768.0, min(32767.0, q)))


@lowering("UNIDIRECTIONAL_SEQUENCE_LSTM")
def lower_lstm(ctx, op):
    if len(op.inputs) != 24 or len(op.outputs) != 1:
        raise ctx.error(op, f"has {len(op.inputs)} inputs and {len(op.outputs)} outputs; the integer LSTM takes "
                            "24 and 1", unsupported=True)
    for variant, inputs in VARIANTS.items():
        if any(op.inputs[k] >= 0 for k in inputs):
            raise ctx.error(op, f"is a {variant} LSTM; only the standard LSTM (a Keras LSTM's) is supported",
                            unsupported=True)
    if op.inputs[INPUT_WEIGHTS[0]] < 0:
        raise ctx.error(op, "is a CIFG LSTM (no input gate); only the standard LSTM (a Keras LSTM's) is supported",
                        unsupported=True)
    missing = [k for k in (0, *INPUT_WEIGHTS, *RECURRENT_WEIGHTS, *BIASES, HIDDEN_STATE, CELL_STATE)
               if op.inputs[k] < 0]
    if missing:
        raise ctx.error(op, f"lacks the required inputs {missing}")
    if op.options.get("fused_activation_function", 0) != TANH:
        raise ctx.error(op, f"has activation {op.options.get('fused_activation_function')}; TFLite's integer LSTM "
                            "uses TANH", unsupported=True)
    in_t, out_t = op.inputs[0], op.outputs[0]
    shape = tuple(int(d) for d in ctx.tensor(in_t).shape)
    if ctx.tensor(in_t).dtype != "int8" or len(shape) != 3:
        raise ctx.error(op, f"the input (tensor {in_t}) is {ctx.tensor(in_t).dtype} of shape {list(shape)}; a 3-D "
                            "int8 sequence is expected", unsupported=True)
    time_major = bool(op.options.get("time_major", False))
    (time_steps, batches, input_size) = shape if time_major else (shape[1], shape[0], shape[2])
    weight_shape = ctx.tensor(op.inputs[INPUT_WEIGHTS[1]]).shape
    units = int(weight_shape[0]) if len(weight_shape) == 2 else 0
    if min(time_steps, batches, input_size, units) < 1:
        raise ctx.error(op, f"has an empty dimension (input {list(shape)}, {units} units)")
    _tensor(ctx, op, out_t, "the output", "int8", shape[:2] + (units,))
    s_in, zp_in = qparams(ctx, op, in_t, "input")

    hidden, cell = ctx.tensor(op.inputs[HIDDEN_STATE]), ctx.tensor(op.inputs[CELL_STATE])
    for t, what, dtype in ((hidden, "the hidden state", "int8"), (cell, "the cell state", "int16")):
        if not t.is_variable or t.is_const:
            raise ctx.error(op, f"{what} (tensor {t.index}) is not a variable tensor")
        if t.dtype != dtype or int(np.prod(t.shape)) != batches * units:
            raise ctx.error(op, f"{what} (tensor {t.index}) is {t.dtype} of shape {list(t.shape)}; {dtype} with "
                                f"{batches} x {units} values is expected", unsupported=True)
    s_h, zp_h = qparams(ctx, op, hidden.index, "hidden state")
    s_c, zp_c = qparams(ctx, op, cell.index, "cell state")
    frac, exp = math.frexp(s_c)
    cell_shift = exp - 1
    if zp_c != 0 or frac != 0.5 or not -15 <= cell_shift <= -9:
        raise ctx.error(op, f"the cell state (tensor {cell.index}) has scale {s_c:g} and zero point {zp_c}; "
                            "TFLite's integer LSTM needs a power of two from 2^-15 to 2^-9 and zero point 0",
                            unsupported=True)

    reference = ctx.reference
    if reference == "litert":
        # LiteRT takes the hidden requantization from the fifth intermediate tensor.
        inter = op.options.get("intermediates", [])
        if len(inter) != 5 or not 0 <= inter[4] < len(ctx.graph.tensors) or ctx.tensor(inter[4]).scale is None:
            raise ctx.error(op, "has no quantized fifth intermediate tensor (the hidden state's scale), which "
                                "LiteRT's integer LSTM requires", unsupported=True)
        s_hidden, zp_hidden = qparams(ctx, op, inter[4], "the fifth intermediate")
        hidden_real = float(np.float32(2.0 ** -15 / float(np.float32(s_hidden)) * 2.0 ** -15))
    else:
        zp_hidden = zp_h
        hidden_real = float(np.float32(2.0 ** -15)) * float(np.float32(2.0 ** -15)) / float(s_h)

    in_w, rec_w, in_bias, rec_bias, quant = [], [], [], [], []
    for g in range(4):
        w, s_w = _weight(ctx, op, op.inputs[INPUT_WEIGHTS[g]], f"input weights {g}", (units, input_size))
        r, s_r = _weight(ctx, op, op.inputs[RECURRENT_WEIGHTS[g]], f"recurrent weights {g}", (units, units))
        bias_t = op.inputs[BIASES[g]]
        _tensor(ctx, op, bias_t, f"gate bias {g}", "int32", (units,))
        bias = const_input(ctx, op, bias_t, f"gate bias {g}").astype(np.int64)
        # The zero points folded into the biases: the references' accumulators exactly.
        in_w.append(w)
        rec_w.append(r)
        in_bias.append(bias - zp_in * w.sum(axis=1))
        rec_bias.append(-zp_h * r.sum(axis=1))
        quant += [*_multiplier(ctx, op, _gate_multiplier(reference, s_in, s_w), "input gate"),
                  *_multiplier(ctx, op, _gate_multiplier(reference, s_h, s_r), "recurrent gate")]
    if max(np.abs(np.concatenate(in_bias + rec_bias)).max(), 0) >= 2 ** 31:
        raise ctx.error(op, "the biases with the zero points folded in overflow int32", unsupported=True)
    hidden_mult, hidden_shift = _multiplier(ctx, op, hidden_real, "hidden state")
    f32 = np.float32
    fc_mult, fc_shift = quantize_multiplier(float(f32(2.0 ** -15)) * float(f32(s_c)) / float(f32(s_c)))
    ig_mult, ig_shift = quantize_multiplier(float(f32(2.0 ** -15)) * float(f32(2.0 ** -15)) / float(f32(s_c)))
    consts = [Const.of("weights", np.concatenate([np.concatenate(in_w).ravel(), np.concatenate(rec_w).ravel()]),
                       "int8"),
              Const.of("input_bias", np.concatenate(in_bias), "int32"),
              Const.of("recurrent_bias", np.concatenate(rec_bias), "int32"),
              Const.of("gate_quant", np.array(quant), "int32")]
    ctx.add(Layer(op.name, op.index, "te_lstm_s8_s16", "te_lstm_params",
                  dict(batches=batches, time_steps=time_steps, input_size=input_size, units=units,
                       time_major=int(time_major), cell_shift=cell_shift,
                       cell_clip=_cell_clip(reference, float(op.options.get("cell_clip", 0.0)), s_c),
                       hidden_mult=hidden_mult, hidden_shift=hidden_shift, hidden_offset=zp_hidden,
                       fc_mult=fc_mult, fc_shift=fc_shift, ig_mult=ig_mult, ig_shift=ig_shift,
                       tflm=int(reference == "tflm")),
                  [ctx.buffer_of(op, in_t)], [ctx.new_buffer(out_t)], consts,
                  macs=batches * time_steps * 4 * units * (input_size + units),
                  states=[State(hidden.name, "int8", batches * units, initial=zp_h),
                          State(cell.name, "int16", batches * units)]))
