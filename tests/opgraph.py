"""Small TFLite graphs written directly with the schema object API: any tensor types and quantization, any
operators (for variants the converter does not make, such as uint8 or int16 edges or chosen scales)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from modelgen import pack_model

from tinyengine_tflite.schema import fb

# Operator -> its options table (object API name), for the operators these tests write.
OPTIONS = {"ADD": "AddOptions", "SUB": "SubOptions", "MUL": "MulOptions", "MAXIMUM": "MaximumMinimumOptions",
           "MINIMUM": "MaximumMinimumOptions", "SQUARED_DIFFERENCE": "SquaredDifferenceOptions",
           "LEAKY_RELU": "LeakyReluOptions", "HARD_SWISH": "HardSwishOptions", "QUANTIZE": "QuantizeOptions",
           "L2_NORMALIZATION": "L2NormOptions", "LOG_SOFTMAX": "LogSoftmaxOptions", "SHAPE": "ShapeOptions",
           "GATHER": "GatherOptions", "PACK": "PackOptions", "CAST": "CastOptions", "FILL": "FillOptions",
           "SLICE": "SliceOptions", "ARG_MAX": "ArgMaxOptions", "ARG_MIN": "ArgMinOptions",
           "MIRROR_PAD": "MirrorPadOptions", "BATCH_MATMUL": "BatchMatMulOptions",
           "DIV": "DivOptions"}


@dataclass
class T:
    """A tensor: shape, type name (fb.TensorType member), per-tensor quantization, constant data or None."""
    shape: tuple
    dtype: str = "INT8"
    scale: float | None = None
    zero_point: int = 0
    data: np.ndarray | None = None


@dataclass
class Op:
    name: str
    inputs: list[int]
    outputs: list[int]
    options: dict = field(default_factory=dict)


# Operator versions the int8 kernels are registered under where version 1 is not (LiteRT).
VERSIONS = {}

_NP = {"INT8": np.int8, "UINT8": np.uint8, "INT16": np.int16, "INT32": np.int32, "INT64": np.int64,
       "FLOAT32": np.float32}


def graph_model(tensors: list[T], ops: list[Op], inputs: list[int], outputs: list[int]) -> bytes:
    """The flatbuffer of one subgraph with these tensors (indices into `tensors`), operators, inputs and
    outputs."""
    m = fb.ModelT()
    m.version = 3
    m.buffers = [fb.BufferT()]
    names = sorted({o.name for o in ops})
    m.operatorCodes = []
    for n in names:
        code = fb.OperatorCodeT()
        code.builtinCode = getattr(fb.BuiltinOperator, n)
        code.deprecatedBuiltinCode = min(code.builtinCode, 127)
        code.version = VERSIONS.get(n, 1)
        m.operatorCodes.append(code)
    sg = fb.SubGraphT()
    sg.tensors = []
    for k, spec in enumerate(tensors):
        t = fb.TensorT()
        t.name = f"t{k}"
        t.shape = list(spec.shape)
        t.type = getattr(fb.TensorType, spec.dtype)
        if spec.scale is not None:
            t.quantization = fb.QuantizationParametersT()
            t.quantization.scale = [float(spec.scale)]
            t.quantization.zeroPoint = [int(spec.zero_point)]
        buf = fb.BufferT()
        if spec.data is not None:
            buf.data = np.asarray(spec.data, dtype=_NP[spec.dtype]).reshape(-1).view(np.uint8).tolist()
        m.buffers.append(buf)
        t.buffer = len(m.buffers) - 1
        sg.tensors.append(t)
    sg.operators = []
    for op in ops:
        o = fb.OperatorT()
        o.opcodeIndex = names.index(op.name)
        o.inputs = list(op.inputs)
        o.outputs = list(op.outputs)
        if op.name in OPTIONS:
            o.builtinOptionsType = getattr(fb.BuiltinOptions, OPTIONS[op.name])
            o.builtinOptions = getattr(fb, OPTIONS[op.name] + "T")()
            for k, v in op.options.items():
                setattr(o.builtinOptions, k, v)
        sg.operators.append(o)
    sg.inputs = list(inputs)
    sg.outputs = list(outputs)
    m.subgraphs = [sg]
    return pack_model(m)


def unary_model(op: str, shape, in_q, out_q, options=None, dtype: str = "INT8") -> bytes:
    """One unary operator: in_q and out_q are (scale, zero point)."""
    return graph_model([T(shape, dtype, *in_q), T(shape, dtype, *out_q)], [Op(op, [0], [1], options or {})],
                       [0], [1])


def all_int8_values(shape=(1, 16, 16)) -> np.ndarray:
    """Every int8 value once (then repeated to fill `shape`): a unary operator's whole table in one run."""
    n = int(np.prod(shape))
    return np.resize(np.arange(-128, 128, dtype=np.int8), n).reshape(shape)
