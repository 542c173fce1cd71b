"""SVDF: int8 input, weights_feature and output, int16 weights_time and state, int32 bias (optional), as TFLite's
integer SVDF (LiteRT's reference kernel and TFLM's svdf_common; kernels/te_svdf.c). The state input is a variable
tensor: it becomes the layer's State (RAM outside the arena, kept across invokes, zero at start and after
model_reset_state()). Both references form the multipliers as float32 products and quotients of the scales,
then QuantizeMultiplier; the integer kernels apply no fused activation."""
from __future__ import annotations

import numpy as np

from ..layers import Const, Layer, State
from ..lower import lowering
from ..quant import quantize_multiplier
from .common import const_input, qparams


def _check(ctx, op, t: int, what: str, dtype: str, rank: int) -> tuple:
    tt = ctx.tensor(t)
    if tt.dtype != dtype or len(tt.shape) != rank:
        raise ctx.error(op, f"{what} (tensor {t}) is {tt.dtype} of shape {list(tt.shape)}; a {rank}-D {dtype} "
                            "tensor is expected", unsupported=True)
    return tuple(int(d) for d in tt.shape)


@lowering("SVDF")
def lower_svdf(ctx, op):
    if len(op.inputs) != 5 or len(op.outputs) != 1:
        raise ctx.error(op, f"has {len(op.inputs)} inputs and {len(op.outputs)} outputs; SVDF takes 5 and 1")
    in_t, wf_t, wt_t, bias_t, state_t = op.inputs
    out_t = op.outputs[0]
    batches, input_size = _check(ctx, op, in_t, "the input", "int8", 2)
    filters, wf_depth = _check(ctx, op, wf_t, "weights_feature", "int8", 2)
    wt_filters, memory = _check(ctx, op, wt_t, "weights_time", "int16", 2)
    rank = int(op.options.get("rank", 0))
    if rank <= 0 or filters % rank:
        raise ctx.error(op, f"rank {rank} does not divide the {filters} filters")
    units = filters // rank
    if wf_depth != input_size or wt_filters != filters or memory < 1:
        raise ctx.error(op, f"weights_feature {[filters, wf_depth]} and weights_time {[wt_filters, memory]} do not "
                            f"fit the input {[batches, input_size]}")
    if _check(ctx, op, out_t, "the output", "int8", 2) != (batches, units):
        raise ctx.error(op, f"the output shape {list(ctx.tensor(out_t).shape)} is not {[batches, units]}")
    state = ctx.tensor(state_t)
    if not state.is_variable or state.is_const:
        raise ctx.error(op, f"the state (tensor {state_t}) is not a variable tensor")
    if _check(ctx, op, state_t, "the state", "int16", 2) != (batches, memory * filters):
        raise ctx.error(op, f"the state shape {list(state.shape)} is not {[batches, memory * filters]}")
    s_in, zp_in = qparams(ctx, op, in_t, "input")
    s_wf, _ = qparams(ctx, op, wf_t, "weights_feature")
    s_wt, _ = qparams(ctx, op, wt_t, "weights_time")
    s_state, zp_state = qparams(ctx, op, state_t, "state")
    s_out, zp_out = qparams(ctx, op, out_t, "output")
    if zp_state != 0:
        raise ctx.error(op, f"the int16 state has zero point {zp_state}; TFLite's integer SVDF needs 0",
                        unsupported=True)
    f32 = np.float32
    feature_mult, feature_shift = quantize_multiplier(float(f32(s_in) * f32(s_wf) / f32(s_state)))
    time_mult, time_shift = quantize_multiplier(float(f32(s_state) * f32(s_wt) / f32(s_out)))
    consts = [Const.of("weights_feature", const_input(ctx, op, wf_t, "weights_feature"), "int8"),
              Const.of("weights_time", const_input(ctx, op, wt_t, "weights_time"), "int16")]
    if bias_t >= 0:
        bias = const_input(ctx, op, bias_t, "the bias")
        if ctx.tensor(bias_t).dtype != "int32" or bias.size != units:
            raise ctx.error(op, f"the bias (tensor {bias_t}) must be int32 with {units} values")
        consts.append(Const.of("bias", bias, "int32"))
    else:
        consts.append(Const("bias", "int32", 0))
    ctx.add(Layer(op.name, op.index, "te_svdf_s8_s16", "te_svdf_params",
                  dict(batches=batches, input_size=input_size, filters=filters, memory=memory, rank=rank,
                       input_offset=-zp_in, feature_mult=feature_mult, feature_shift=feature_shift,
                       time_mult=time_mult, time_shift=time_shift, output_offset=zp_out),
                  [ctx.buffer_of(op, in_t)], [ctx.new_buffer(out_t)], consts,
                  macs=batches * filters * (input_size + memory),
                  states=[State(state.name, "int16", batches * memory * filters)]))
