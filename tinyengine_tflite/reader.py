"""Read a .tflite flatbuffer into the IR (tinyengine_tflite.ir), validating as it goes."""
from __future__ import annotations

import os
import re

import numpy as np

from .errors import ConversionError, UnsupportedOperatorError
from . import validate
from .ir import Graph, Operator, Tensor
from .schema import BUILTIN_NAMES, NUMPY_DTYPES, TENSOR_TYPE_NAMES, unpack_model

_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def load_model_bytes(model) -> tuple[bytes, str]:
    """`model` is a path or the flatbuffer bytes; returns (bytes, a name for messages)."""
    if isinstance(model, (bytes, bytearray, memoryview)):
        return bytes(model), "<bytes>"
    path = os.fspath(model)
    try:
        with open(path, "rb") as f:
            return f.read(), path
    except OSError as e:
        raise ConversionError(f"cannot read the model file: {e.strerror}", model=path) from None


def _options_dict(options) -> dict:
    if options is None:
        return {}
    out = {}
    for key, value in vars(options).items():
        if isinstance(value, np.ndarray):
            value = value.tolist()
        out[_CAMEL.sub("_", key).lower()] = value
    return out


def _op_name(opcode) -> str:
    code = max(opcode.builtinCode, opcode.deprecatedBuiltinCode)
    name = BUILTIN_NAMES.get(code, f"BUILTIN_{code}")
    if name == "CUSTOM":
        custom = opcode.customCode.decode("utf-8", "replace") if isinstance(opcode.customCode, bytes) else opcode.customCode
        return f"CUSTOM:{custom}"
    return name


def _tensor_name(t) -> str:
    return t.name.decode("utf-8", "replace") if isinstance(t.name, bytes) else str(t.name)


def _read_tensor(i, t, buffers, buf, model_name) -> Tensor:
    type_name = TENSOR_TYPE_NAMES.get(t.type, str(t.type))
    dtype = NUMPY_DTYPES.get(type_name)
    name = _tensor_name(t)

    def error(message):
        return ConversionError(message, model=model_name, tensor_index=i, tensor_name=name)

    if dtype is None:
        raise error(f"has type {type_name}, which the engine does not support")
    shape = validate.check_shape(i, name, t.shape if t.shape is not None else (), model_name)
    validate.check_tensor_size(i, name, shape, dtype, model_name)
    if t.sparsity is not None:
        raise error("is sparse; the engine reads dense tensors only")
    if not 0 <= t.buffer < len(buffers):
        raise error(f"names buffer {t.buffer}, which does not exist")
    b = buffers[t.buffer]
    raw = None
    if b.data is not None and len(b.data):
        raw = np.asarray(b.data, dtype=np.uint8).tobytes()
    elif b.offset > 1:
        if b.offset + b.size > len(buf):
            raise error("has data past the end of the file (truncated?)")
        raw = buf[b.offset:b.offset + b.size]
    data = None
    if raw is not None:
        need = validate.tensor_bytes(shape, dtype)
        if len(raw) != need:
            raise error(f"has {len(raw)} bytes of data, its shape {list(shape)} of {dtype} needs {need}")
        data = np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
    else:
        validate.check_tensor_size(i, name, shape, dtype, model_name, constant=False)
    scale = zero_point = None
    qdim = 0
    q = t.quantization
    tensor = Tensor(i, name, shape, dtype, None, None, 0, data, bool(t.isVariable))
    if q is not None and q.scale is not None and len(q.scale):
        validate.check_quantization(tensor, q.scale, q.zeroPoint, int(q.quantizedDimension), model_name)
        scale = np.asarray(q.scale, dtype=np.float32)
        zero_point = np.asarray(q.zeroPoint, dtype=np.int64)
        qdim = int(q.quantizedDimension)
    tensor.scale, tensor.zero_point, tensor.quantized_dimension = scale, zero_point, qdim
    if data is not None:
        validate.check_constant(tensor, model_name)
    return tensor


def _index_list(values, what: str, model_name: str) -> list[int]:
    if values is None:
        raise ConversionError(f"the graph has no {what} list", model=model_name)
    return [int(x) for x in values]


def read_model(model, supported_ops=None) -> Graph:
    """Parse and validate a TFLite flatbuffer (tinyengine_tflite.validate). `supported_ops`, when given, is the set
    of TFLite operator names the caller can compile; any other operator is refused here, by name and index."""
    buf, model_name = load_model_bytes(model)
    if len(buf) < 8:
        raise ConversionError(f"not a TFLite flatbuffer: only {len(buf)} bytes", model=model_name)
    if buf[4:8] != b"TFL3":
        raise ConversionError("not a TFLite flatbuffer: the file identifier is not 'TFL3'", model=model_name)
    try:
        m = unpack_model(buf)
    except Exception as e:  # the bindings raise whatever struct/IndexError a bad offset causes
        raise ConversionError(f"corrupt or truncated flatbuffer ({type(e).__name__}: {e})", model=model_name) from None
    subgraphs = m.subgraphs or []
    if len(subgraphs) != 1:
        raise ConversionError(f"the model has {len(subgraphs)} subgraphs; the engine compiles exactly one "
                              "(control flow such as WHILE/IF is not supported)", model=model_name)
    sg = subgraphs[0]
    buffers = m.buffers or []
    opcodes = m.operatorCodes or []
    # Every unsupported operator and tensor type is reported at once (_refuse), not only the first.
    unsupported_ops = []
    operators = []
    for i, op in enumerate(sg.operators or []):
        if op.opcodeIndex >= len(opcodes):
            raise ConversionError(f"operator {i} names opcode {op.opcodeIndex}, which does not exist", model=model_name)
        name = _op_name(opcodes[op.opcodeIndex])
        ins = [int(x) for x in (op.inputs if op.inputs is not None else [])]
        outs = [int(x) for x in (op.outputs if op.outputs is not None else [])]
        if supported_ops is not None and name not in supported_ops:
            unsupported_ops.append((name, i))
        options = _options_dict(op.builtinOptions)
        if op.intermediates is not None and len(op.intermediates):   # the integer LSTM's gate scales
            options["intermediates"] = [int(x) for x in op.intermediates]
        operators.append(Operator(i, name, ins, outs, options))
    bad_types = [ConversionError(f"has type {TENSOR_TYPE_NAMES.get(t.type, t.type)}, which the engine does not "
                                 "support", model=model_name, tensor_index=i, tensor_name=_tensor_name(t))
                 for i, t in enumerate(sg.tensors or []) if TENSOR_TYPE_NAMES.get(t.type) not in NUMPY_DTYPES]
    if bad_types:
        _refuse(model_name, unsupported_ops, bad_types, supported_ops)
    tensors = [_read_tensor(i, t, buffers, buf, model_name) for i, t in enumerate(sg.tensors or [])]

    graph = Graph(os.path.splitext(os.path.basename(model_name))[0] if model_name != "<bytes>" else "model",
                  tensors, operators, _index_list(sg.inputs, "inputs", model_name),
                  _index_list(sg.outputs, "outputs", model_name))
    validate.check_graph(graph, model_name)
    _check_variables(graph, model_name)
    not_int8 = _not_int8(graph, model_name)
    if unsupported_ops or not_int8:
        _refuse(model_name, unsupported_ops, not_int8, supported_ops)
    return graph


# The inputs that hold a stateful operator's state: the only place a variable tensor may appear.
STATE_INPUTS = {"SVDF": (4,), "UNIDIRECTIONAL_SEQUENCE_LSTM": (18, 19)}


def _check_variables(graph: Graph, model_name: str) -> None:
    """A variable tensor (is_variable) is refused unless it is an activation read only as the state input of
    a stateful operator (STATE_INPUTS), by exactly one operator."""
    uses: dict[int, list[bool]] = {}
    for op in graph.operators:
        for k, t in enumerate(op.inputs):
            if t >= 0:
                uses.setdefault(t, []).append(k in STATE_INPUTS.get(op.name, ()))
        for t in op.outputs:
            uses.setdefault(t, []).append(False)
    for t in graph.tensors:
        if t.is_variable and (t.is_const or t.index in graph.inputs or t.index in graph.outputs
                              or uses.get(t.index, []) != [True]):
            raise ConversionError("is a variable tensor (is_variable) that is not the state input of one "
                                  f"stateful operator ({', '.join(sorted(STATE_INPUTS))}); the engine keeps "
                                  "state only for those", model=model_name, tensor_index=t.index,
                                  tensor_name=t.name)


def _refuse(model_name, unsupported_ops, tensor_errors, supported_ops):
    """One error for all of them: a lone problem keeps its own error; several are listed in one
    UnsupportedOperatorError (its `unsupported_ops`: [(name, index)], `tensor_errors`: [ConversionError])."""
    supported = f"(supported: {', '.join(sorted(supported_ops or ()))})"
    advice = f"; {INT8_ADVICE}" if any(e.op_name is not None for e in tensor_errors) else ""
    if len(unsupported_ops) + len(tensor_errors) == 1:
        if tensor_errors:
            e = tensor_errors[0]
            raise ConversionError(e.reason + advice, model=model_name, op_name=e.op_name, op_index=e.op_index,
                                  tensor_index=e.tensor_index, tensor_name=e.tensor_name)
        name, i = unsupported_ops[0]
        raise UnsupportedOperatorError(f"{name} is not supported by tinyengine_tflite {supported}",
                                       model=model_name, op_name=name, op_index=i)
    parts = []
    if unsupported_ops:
        listed = ", ".join(f"operator {i} ({name})" for name, i in unsupported_ops)
        verb = "is" if len(unsupported_ops) == 1 else "are"
        parts.append(f"{listed} {verb} not supported by tinyengine_tflite {supported}")
    if tensor_errors:
        parts.append(f"{len(tensor_errors)} tensor(s) of an unsupported type: " +
                     "; ".join(str(e).removeprefix(f"model {model_name!r}, ") for e in tensor_errors) + advice)
    err = UnsupportedOperatorError(". ".join(parts), model=model_name)
    err.unsupported_ops, err.tensor_errors = list(unsupported_ops), list(tensor_errors)
    raise err


# Operators whose activations may be float: the float edges of an int8 model.
_FLOAT_OK = {"QUANTIZE", "DEQUANTIZE"}
# Shape arithmetic and constant-only subgraphs, folded at compile time (ops/fold.py): their non-constant tensors
# may also be int32 / int64 (SHAPE's input may be any tensor: only its static shape is read), so a chain such as
# SHAPE -> GATHER / PACK -> FILL reaches the folding. A float tensor is still refused.
_SHAPE_ARITH = {"SHAPE", "STRIDED_SLICE", "PACK", "RESHAPE", "SQUEEZE", "EXPAND_DIMS", "CONCATENATION",
                "TRANSPOSE", "FILL", "ZEROS_LIKE", "ONES_LIKE", "CAST", "GATHER", "SLICE"}
_SHAPE_DTYPES = {"int32", "int64"}
# Operators whose output is an index tensor (int32 or int64) computed from an int8 input.
_INDEX_OUTPUT = {"ARG_MAX", "ARG_MIN"}


INT8_ADVICE = ("tinyengine_tflite compiles fully int8-quantized models (convert with full-integer quantization: "
               "converter.optimizations = [tf.lite.Optimize.DEFAULT] and a representative_dataset)")


def _not_int8(graph: Graph, model_name: str) -> list[ConversionError]:
    """An error for each operator of a float-only or partly float model (its first non-int8 tensor)."""
    errors = []
    for op in graph.operators:
        if op.name in _FLOAT_OK:
            continue
        tensors = op.inputs[:1] + op.outputs[:1] if op.name != "SHAPE" else op.outputs[:1]
        for t in tensors:
            if t < 0 or graph.tensors[t].data is not None or graph.tensors[t].dtype == "int8":
                continue
            if op.name in _SHAPE_ARITH and graph.tensors[t].dtype in _SHAPE_DTYPES:
                continue
            if op.name in _INDEX_OUTPUT and t in op.outputs and graph.tensors[t].dtype in _SHAPE_DTYPES:
                continue
            tt = graph.tensors[t]
            errors.append(ConversionError(f"tensor {tt.name!r} is {tt.dtype}", model=model_name, op_name=op.name,
                                          op_index=op.index))
            break
    return errors
