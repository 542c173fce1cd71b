"""Validation of an untrusted model, in one place, before any arithmetic.

The reader calls `check_shape`, `check_tensor_size`, `check_quantization` and `check_constant` on each tensor as it
reads it, and `check_graph` on the whole graph (indices, arities, options, operand shapes TFLite fixes, limits,
int32 accumulators). The rules are the schema's and TFLite's own (InterpreterBuilder::ParseQuantization, the
kernels' NumInputs/NumOutputs checks), plus the engine's limits: what cannot fit any microcontroller or the C
types of the generated code is refused.
Operator lowerings (ops/) keep only the checks specific to one operator. Every failure is a ConversionError naming
the model and the operator (TFLite name and index) or the tensor (index and name)."""
from __future__ import annotations

import math

import numpy as np

from .errors import ConversionError, UnsupportedOperatorError
from .ir import DTYPE_BYTES, Graph, Operator, Tensor
from .schema import NUMPY_DTYPES, TENSOR_TYPE_NAMES

# The engine's limits: the generated C indexes tensors and the arena with 32-bit signed ints, and its kernels sum
# int8 values over a whole activation in int32 (MEAN, AVERAGE_POOL_2D): 2^24 of them cannot overflow.
MAX_TENSOR_BYTES = 2**31 - 1
MAX_ACTIVATION_BYTES = 2**24     # one activation tensor (16 MiB: beyond any microcontroller's SRAM)
# All activation tensors together (64 MiB; the largest suite model has 8.5 MiB): beyond any microcontroller, and
# it bounds the conversion's time and memory (a TRANSPOSE of 16 MiB takes seconds to plan).
MAX_ACTIVATIONS_BYTES = 2**26
INT32_MAX = 2**31 - 1
MAX_RANK = 8
MAX_WINDOW = 65535               # strides, dilations and pooling windows

# Zero points an activation of each type can hold (TFLite's kernels check these ranges or assume them).
_ZERO_POINT_RANGE = {"int8": (-128, 127), "uint8": (0, 255), "int16": (-32768, 32767)}

# Required and optional input counts, and output counts (ANY_OUTPUTS: one or more), of the builtins the engine
# lowers (TFLite's NumInputs/NumOutputs checks in each kernel's Prepare). An optional input may be -1 (omitted).
ANY_OUTPUTS = -1
_ARITY: dict[str, tuple[int, int, int]] = {
    **{name: (1, 0, 1) for name in (
        "AVERAGE_POOL_2D", "MAX_POOL_2D", "SOFTMAX", "LOGISTIC", "QUANTIZE", "DEQUANTIZE", "SQUEEZE", "SHAPE",
        "ELU", "HARD_SWISH", "L2_NORMALIZATION", "LEAKY_RELU", "LOG_SOFTMAX", "RELU", "RELU6", "RELU_0_TO_1",
        "RELU_N1_TO_1", "RSQRT", "TANH", "CAST", "ONES_LIKE", "ZEROS_LIKE", "DEPTH_TO_SPACE", "SPACE_TO_DEPTH",
        "ABS")},
    **{name: (2, 0, 1) for name in (
        "MEAN", "ADD", "MUL", "SUB", "MAXIMUM", "MINIMUM", "SQUARED_DIFFERENCE", "PRELU", "EXPAND_DIMS", "PAD",
        "TRANSPOSE", "RESIZE_NEAREST_NEIGHBOR", "RESIZE_BILINEAR", "FILL", "GATHER", "REDUCE_MAX", "REDUCE_MIN",
        "SUM", "ARG_MAX", "ARG_MIN", "GATHER_ND", "MIRROR_PAD", "REVERSE_V2", "BROADCAST_TO", "BATCH_MATMUL",
        "DIV")},
    **{name: (3, 0, 1) for name in ("SLICE", "SPACE_TO_BATCH_ND", "BATCH_TO_SPACE_ND")},
    "CONV_2D": (2, 1, 1), "DEPTHWISE_CONV_2D": (2, 1, 1), "FULLY_CONNECTED": (2, 1, 1), "RESHAPE": (1, 1, 1),
    "PADV2": (2, 1, 1), "STRIDED_SLICE": (4, 0, 1), "TRANSPOSE_CONV": (3, 1, 1),
    "SPLIT": (2, 0, ANY_OUTPUTS), "SPLIT_V": (3, 0, ANY_OUTPUTS), "UNPACK": (1, 0, ANY_OUTPUTS),
}
_VARIADIC = {"CONCATENATION", "PACK"}     # one input or more, one output
# Options that count the operator's inputs or outputs (TFLite checks them against NumInputs/NumOutputs).
_COUNT_OPTIONS = {("PACK", "values_count"): "inputs", ("SPLIT", "num_splits"): "outputs",
                  ("SPLIT_V", "num_splits"): "outputs", ("UNPACK", "num"): "outputs"}

# Options that size a window or a step: at least 1 (TFLite divides by strides and multiplies by dilations).
_WINDOW_OPTIONS = ("stride_h", "stride_w", "dilation_h_factor", "dilation_w_factor", "filter_height",
                   "filter_width", "block_size")


def tensor_error(t: Tensor, message: str, model: str) -> ConversionError:
    return ConversionError(message, model=model, tensor_index=t.index, tensor_name=t.name)


def op_error(op: Operator, message: str, model: str, unsupported: bool = False) -> ConversionError:
    cls = UnsupportedOperatorError if unsupported else ConversionError
    return cls(message, model=model, op_name=op.name, op_index=op.index)


def check_shape(index: int, name: str, shape, model: str) -> tuple[int, ...]:
    """The shape as ints: no negative dimension, a bounded rank and element count."""
    shape = tuple(int(d) for d in shape)
    if len(shape) > MAX_RANK:
        raise ConversionError(f"rank {len(shape)} is above the engine's limit of {MAX_RANK}", model=model,
                              tensor_index=index, tensor_name=name)
    if any(d < 0 for d in shape):
        raise ConversionError(f"shape {list(shape)} has a negative dimension", model=model, tensor_index=index,
                              tensor_name=name)
    return shape


def tensor_bytes(shape, dtype: str) -> int:
    """The byte size, in Python ints (never wraps)."""
    return math.prod(shape) * DTYPE_BYTES[dtype]


def check_tensor_size(index: int, name: str, shape, dtype: str, model: str, constant: bool = True) -> None:
    """Any tensor within 2^31 - 1 bytes (the C types); an activation (constant False) within 16 MiB."""
    n = tensor_bytes(shape, dtype)
    limit, why = ((MAX_TENSOR_BYTES, "2 GiB: no microcontroller holds it, and its byte count would not fit the "
                                     "generated C's int") if constant else
                  (MAX_ACTIVATION_BYTES, "16 MiB for one activation: no microcontroller's SRAM holds it, and the "
                                         "kernels' int32 sums over it could overflow"))
    if n > limit:
        raise ConversionError(f"shape {list(shape)} of {dtype} is {n} bytes, more than the engine's limit of "
                              f"{limit} bytes ({why})", model=model, tensor_index=index, tensor_name=name)


def check_quantization(t: Tensor, scale, zero_point, qdim: int, model: str) -> None:
    """TFLite's ParseQuantization rules, and scales the fixed-point arithmetic can use."""
    if zero_point is None:
        raise tensor_error(t, "has scales but no zero points", model)
    if len(zero_point) != len(scale):
        raise tensor_error(t, f"has {len(scale)} scales and {len(zero_point)} zero points; the counts must match",
                           model)
    rank = len(t.shape)
    if qdim < 0 or (rank and qdim >= rank):
        raise tensor_error(t, f"quantized_dimension {qdim} is outside [0, {rank})", model)
    if len(scale) != 1 and rank and len(scale) != t.shape[qdim]:
        raise tensor_error(t, f"has {len(scale)} scales; per-axis quantization needs one per element of "
                              f"dimension {qdim} ({t.shape[qdim]})", model)
    scale = np.asarray(scale, dtype=np.float32)
    bad = scale[~(np.isfinite(scale) & (scale > 0))]
    if bad.size:
        raise tensor_error(t, f"has scale {bad[0]}; scales must be finite and positive", model)
    limits = _ZERO_POINT_RANGE.get(t.dtype)
    zp = np.asarray(zero_point, dtype=np.int64)
    if limits is not None and (zp.min() < limits[0] or zp.max() > limits[1]):
        out = zp[(zp < limits[0]) | (zp > limits[1])][0]
        raise tensor_error(t, f"has zero point {out}, outside {t.dtype}'s range [{limits[0]}, {limits[1]}]", model)


def check_constant(t: Tensor, model: str) -> None:
    if t.dtype == "float32" and not np.all(np.isfinite(t.data)):
        raise tensor_error(t, "is a float constant holding NaN or infinity", model)


def check_graph(graph: Graph, model: str) -> None:
    """The graph's inputs and outputs, every operator's tensor references, arity and options, and the size of
    all activations together."""
    n = len(graph.tensors)
    for what, indices in (("input", graph.inputs), ("output", graph.outputs)):
        seen = set()
        for i in indices:
            if not 0 <= i < n:
                raise ConversionError(f"the graph's {what} list names tensor {i}, but the model has {n} tensors",
                                      model=model)
            if i in seen:
                raise ConversionError(f"the graph's {what} list names tensor {i} ({graph.tensors[i].name!r}) twice",
                                      model=model)
            seen.add(i)
    if not graph.outputs:
        raise ConversionError("the graph has no outputs", model=model)
    written = {}
    for op in graph.operators:
        _check_operator(op, graph, model)
        for t in op.outputs:
            if t in written or t in graph.inputs:
                by = f"operator {written[t]}" if t in written else "the graph's input list"
                raise op_error(op, f"writes tensor {t} ({graph.tensors[t].name!r}), which {by} already provides",
                               model)
            written[t] = op.index
    for op in graph.operators:
        if op.name in _ACCUMULATING:
            _check_accumulator(op, graph, model)
    activations = sum(tensor_bytes(t.shape, t.dtype) for t in graph.tensors if t.data is None)
    if activations > MAX_ACTIVATIONS_BYTES:
        raise ConversionError(f"the activation tensors total {activations} bytes, more than the engine's limit of "
                              f"{MAX_ACTIVATIONS_BYTES} bytes (64 MiB)", model=model)


def _check_operator(op: Operator, graph: Graph, model: str) -> None:
    n = len(graph.tensors)
    for what, indices in (("input", op.inputs), ("output", op.outputs)):
        for t in indices:
            if t == -1 and what == "input":
                continue
            if not 0 <= t < n:
                raise op_error(op, f"{what} refers to tensor {t}, but the model has {n}", model)
    if len(set(op.outputs)) != len(op.outputs):
        raise op_error(op, f"lists output tensor {op.outputs} more than once", model)
    for t in op.outputs:
        if graph.tensors[t].data is not None:
            raise op_error(op, f"output tensor {t} ({graph.tensors[t].name!r}) is a constant", model)
    arity = _ARITY.get(op.name)
    if arity is not None:
        required, optional, outputs = arity
        if not required <= len(op.inputs) <= required + optional:
            count = f"{required}" if not optional else f"{required} to {required + optional}"
            raise op_error(op, f"has {len(op.inputs)} inputs; {op.name} takes {count}", model)
        if len(op.outputs) != outputs and not (outputs == ANY_OUTPUTS and op.outputs):
            raise op_error(op, f"has {len(op.outputs)} outputs; {op.name} has "
                               f"{'one or more' if outputs == ANY_OUTPUTS else outputs}", model)
        for k, t in enumerate(op.inputs[:required]):
            if t < 0:
                raise op_error(op, f"input {k} is omitted (-1), but {op.name} requires it", model)
    elif op.name in _VARIADIC and (not op.inputs or len(op.outputs) != 1 or min(op.inputs) < 0):
        raise op_error(op, f"has inputs {op.inputs} and outputs {op.outputs}; {op.name} takes one or more "
                           "inputs and has one output", model)
    elif not op.outputs:
        raise op_error(op, "has no outputs", model)
    if op.name in ("PAD", "PADV2"):
        _check_paddings(op, graph, model)
    for (name, key), what in _COUNT_OPTIONS.items():
        count = len(op.inputs if what == "inputs" else op.outputs)
        if op.name == name and op.options.get(key, count) != count:
            raise op_error(op, f"option {key} is {op.options[key]}, but the operator has {count} {what}", model)
    for key in _WINDOW_OPTIONS:
        value = op.options.get(key)
        if value is not None and not 1 <= value <= MAX_WINDOW:
            raise op_error(op, f"option {key} is {value}; it must be in [1, {MAX_WINDOW}]", model)
    _check_bias_type(op, graph, model)
    if op.options.get("weights_format", 0) != 0:
        raise op_error(op, f"weights format {op.options['weights_format']} is not supported (only DEFAULT)", model,
                       unsupported=True)
    padding = op.options.get("padding")
    if padding is not None and padding not in (0, 1):
        raise op_error(op, f"padding {padding} is neither SAME (0) nor VALID (1)", model)


# Operators that sum int8 products into an int32 accumulator that starts at the bias, and their filter's
# output-channel axis.
_ACCUMULATING = {"CONV_2D": 0, "DEPTHWISE_CONV_2D": -1, "FULLY_CONNECTED": 0}


def _check_accumulator(op: Operator, graph: Graph, model: str) -> None:
    """Constant filter and bias that could overflow the int32 accumulator (signed overflow: undefined in C, in
    TFLite's kernels as in ours) are refused. The bound covers TFLite's order (bias + sum((x - zp) * w), |x - zp|
    <= 255) and the engine's (the zero point folded into the bias, then sum(x * w), |x| <= 128)."""
    if len(op.inputs) < 2 or op.inputs[1] < 0:
        return
    filt, inp = graph.tensors[op.inputs[1]], graph.tensors[op.inputs[0]]
    if filt.data is None or filt.data.ndim < 1 or not np.issubdtype(filt.data.dtype, np.integer):
        return
    w = np.moveaxis(filt.data.astype(np.int64), _ACCUMULATING[op.name], 0).reshape(filt.data.shape[
        _ACCUMULATING[op.name]], -1)
    bias = np.zeros(len(w), dtype=np.int64)
    if len(op.inputs) > 2 and op.inputs[2] >= 0:
        b = graph.tensors[op.inputs[2]].data
        if b is None or b.size != len(w) or not np.issubdtype(b.dtype, np.integer):
            return                           # the lowering names what is wrong with the bias
        bias = b.astype(np.int64).reshape(-1)
    zp = int(inp.zero_point[0]) if inp.zero_point is not None and len(inp.zero_point) else 0
    sum_abs = np.abs(w).sum(axis=1)
    bound = np.maximum(np.abs(bias) + 255 * sum_abs, np.abs(bias - zp * w.sum(axis=1)) + 128 * sum_abs)
    if bound.max() > INT32_MAX:
        c = int(bound.argmax())
        raise op_error(op, f"output channel {c}: bias {bias[c]} plus the products of {w.shape[1]} weights can "
                           f"reach {bound[c]}, beyond the int32 accumulator (signed overflow)", model)


def _check_paddings(op: Operator, graph: Graph, model: str) -> None:
    """TFLite's PAD rules: paddings of shape [rank of the input, 2]; PADV2's value a single element. (The graph
    rewrites before lowering read them: tinyengine_tflite.fuse.)"""
    rank = len(graph.tensors[op.inputs[0]].shape)
    paddings = graph.tensors[op.inputs[1]].shape
    if tuple(paddings) != (rank, 2):
        raise op_error(op, f"paddings have shape {list(paddings)}; [{rank}, 2] is required for a rank-{rank} input",
                       model)
    if len(op.inputs) > 2 and op.inputs[2] >= 0 and math.prod(graph.tensors[op.inputs[2]].shape) != 1:
        raise op_error(op, "the padding value must be a single element", model)


def _check_bias_type(op: Operator, graph: Graph, model: str) -> None:
    """A quantized_bias_type option other than the default (0) must name the bias tensor's type, as TFLite checks."""
    wanted = op.options.get("quantized_bias_type", 0)
    if not wanted:
        return
    k = 3 if op.name == "TRANSPOSE_CONV" else 2
    bias = op.inputs[k] if len(op.inputs) > k else -1
    have = graph.tensors[bias].dtype if bias >= 0 else "none"
    name = TENSOR_TYPE_NAMES.get(wanted, str(wanted))
    if NUMPY_DTYPES.get(name) != have:
        raise op_error(op, f"option quantized_bias_type is {name}, but the bias is {have}", model)
