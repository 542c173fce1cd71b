"""Lowering: the reader's Graph becomes a LoweredModel (buffers + kernel calls), one operator at a time.

Each operator family lives in tinyengine_tflite/ops/<family>.py and registers its lowering with @lowering.
A lowering reads the operator's tensors through the context, validates them (errors name the operator), and
either adds a Layer, makes its output an alias of its input (RESHAPE), or folds it into a constant."""
from __future__ import annotations

from typing import Callable

import numpy as np

from .errors import ConversionError, UnsupportedOperatorError
from .ir import DTYPE_BYTES, Graph, Operator, Tensor
from .layers import Buffer, IOSpec, Layer, LoweredModel

LOWERINGS: dict[str, Callable[["LoweringContext", Operator], None]] = {}

# Integer model input/output types besides int8: the QUANTIZE at the model's edge converts them (in the arena).
EDGE_DTYPES = ("uint8", "int16")

# The bit-exact reference the generated code reproduces. The two disagree on three operators:
# - "litert": LiteRT's reference kernels (BUILTIN_REF): FULLY_CONNECTED requantizes with single rounding, MUL's
#   multiplier is formed in float32, int8 LOGISTIC is a table computed in float32.
# - "tflm": TensorFlow Lite Micro's reference kernels: FULLY_CONNECTED requantizes with double rounding (TFLite's
#   MultiplyByQuantizedMultiplier), MUL's multiplier is formed in double, LOGISTIC is gemmlowp's fixed point.
REFERENCES = ("litert", "tflm")


def check_reference(reference) -> str:
    """The reference name, or a ValueError naming the allowed values."""
    if reference not in REFERENCES:
        raise ValueError(f"reference must be one of {', '.join(repr(r) for r in REFERENCES)}; got {reference!r}")
    return reference


def lowering(*names: str):
    def register(fn):
        for n in names:
            LOWERINGS[n] = fn
        return fn
    return register


def supported_ops() -> set[str]:
    from . import ops  # noqa: F401  (registers every lowering)
    return set(LOWERINGS)


class LoweringContext:
    def __init__(self, graph: Graph, model_name: str, reference: str = "litert"):
        self.graph = graph
        self.model_name = model_name
        self.reference = check_reference(reference)   # "litert" or "tflm": which reference kernels to follow
        self.buffers: list[Buffer] = []
        self.layers: list[Layer] = []
        self.tensor_buffer: dict[int, int] = {}
        self.values: dict[int, np.ndarray] = {t.index: t.data for t in graph.tensors if t.data is not None}
        self.inputs: list[IOSpec] = []
        self.outputs: list[IOSpec] = []
        self.float_inputs = {i for i in graph.inputs if graph.tensors[i].dtype == "float32"}

    # --- errors -------------------------------------------------------------------------------------
    def error(self, op: Operator, message: str, unsupported: bool = False) -> ConversionError:
        cls = UnsupportedOperatorError if unsupported else ConversionError
        return cls(message, model=self.model_name, op_name=op.name, op_index=op.index)

    # --- tensors ------------------------------------------------------------------------------------
    def tensor(self, i: int) -> Tensor:
        return self.graph.tensors[i]

    def value(self, i: int) -> np.ndarray | None:
        """The constant value of tensor i (from the file or folded), or None for an activation."""
        return self.values.get(i)

    def set_value(self, i: int, value: np.ndarray) -> None:
        self.values[i] = np.asarray(value)

    def buffer_of(self, op: Operator, t: int) -> int:
        if t in self.tensor_buffer:
            return self.tensor_buffer[t]
        tt = self.tensor(t)
        raise self.error(op, f"input tensor {t} ({tt.name!r}) is neither computed by an earlier operator "
                             "nor a constant")

    def new_buffer(self, t: int, shape=None, dtype: str = "int8") -> int:
        tt = self.tensor(t)
        shape = tuple(tt.shape if shape is None else shape)
        b = Buffer(len(self.buffers), tt.name, shape, int(np.prod(shape, dtype=np.int64)) * DTYPE_BYTES[dtype], dtype)
        self.buffers.append(b)
        self.tensor_buffer[t] = b.id
        return b.id

    def alias(self, out_t: int, in_t: int, op: Operator) -> None:
        self.tensor_buffer[out_t] = self.buffer_of(op, in_t)

    def add(self, layer: Layer) -> Layer:
        self.layers.append(layer)
        return layer

    # --- model I/O ----------------------------------------------------------------------------------
    def add_input(self, t_api: int, buffer: int, quant_tensor: Tensor) -> None:
        scale, zp = quant_tensor.qparams()
        api = self.tensor(t_api)
        self.inputs.append(IOSpec(buffer, t_api, api.name, tuple(api.shape), api.dtype, scale, zp))


def lower_graph(graph: Graph, model_name: str, reference: str = "litert") -> LoweredModel:
    from . import ops  # noqa: F401  (registers every lowering)

    ctx = LoweringContext(graph, model_name, reference)
    for i in graph.inputs:
        if i not in ctx.float_inputs:
            t = graph.tensors[i]
            if t.dtype != "int8" and t.dtype not in EDGE_DTYPES:
                raise ConversionError(f"input tensor {i} ({t.name!r}) is {t.dtype}; inputs must be int8, "
                                      f"{', '.join(EDGE_DTYPES)} or float32", model=model_name)
            ctx.add_input(i, ctx.new_buffer(i, dtype=t.dtype), t)
    unsupported: list[UnsupportedOperatorError] = []
    for op in graph.operators:
        fn = LOWERINGS.get(op.name)
        try:
            if fn is None:
                raise ctx.error(op, f"{op.name} is not supported by tinyengine_tflite", unsupported=True)
            fn(ctx, op)
        except ConversionError as e:       # a helper's error (e.g. quant.py's) gets the model and the operator
            err = e if e.op_name is not None and e.model else e.located(model_name, op.name, op.index)
            if not isinstance(err, UnsupportedOperatorError):
                if unsupported:            # perhaps a consequence of an operator already refused
                    break
                raise err from None
            # Every unsupported operator variant is reported at once: the rest of the graph goes on lowering
            # over stand-in outputs.
            unsupported.append(err)
            for t in op.outputs:
                if t >= 0 and t not in ctx.tensor_buffer:
                    ctx.new_buffer(t)
        except Exception:
            if unsupported:                # the stand-ins may mislead a later lowering: report what is known
                break
            raise
    if len(unsupported) == 1:
        raise unsupported[0]
    if unsupported:
        err = UnsupportedOperatorError(f"{len(unsupported)} operators cannot be converted: " + "; ".join(
            str(e).removeprefix(f"model {model_name!r}, ") for e in unsupported), model=model_name)
        err.errors = unsupported
        raise err
    # Inputs are declared in the graph's order, whichever operator created their buffer.
    order = {t: k for k, t in enumerate(graph.inputs)}
    ctx.inputs.sort(key=lambda s: order[s.tensor_index])
    for i in graph.outputs:
        if any(o.tensor_index == i for o in ctx.outputs):
            continue
        t = graph.tensors[i]
        if i not in ctx.tensor_buffer:
            raise ConversionError(f"output tensor {i} ({t.name!r}) is not computed by any operator", model=model_name)
        scale, zp = t.qparams()
        ctx.outputs.append(IOSpec(ctx.tensor_buffer[i], i, t.name, tuple(t.shape), t.dtype, scale, zp))
    order = {t: k for k, t in enumerate(graph.outputs)}
    ctx.outputs.sort(key=lambda s: order[s.tensor_index])
    if len(ctx.inputs) != len(graph.inputs):
        missing = [graph.tensors[i].name for i in graph.inputs if all(s.tensor_index != i for s in ctx.inputs)]
        raise ConversionError(f"float input(s) {missing} are not consumed by a QUANTIZE operator", model=model_name)
    return LoweredModel(graph.name, ctx.buffers, ctx.layers, ctx.inputs, ctx.outputs)
