"""The schedule IR: what the planner and the code generator see. A model, or an abstract network from the
NAS profiler, becomes activation buffers and a list of kernel calls (layers) over them."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .ir import DTYPE_BYTES

CTYPES = {"int8": "int8_t", "uint8": "uint8_t", "int16": "int16_t", "int32": "int32_t", "float32": "float"}


@dataclass
class Buffer:
    """An activation tensor in the arena. Aliases (RESHAPE) share one Buffer."""
    id: int
    name: str
    shape: tuple[int, ...]
    nbytes: int
    dtype: str = "int8"


@dataclass
class Const:
    """A constant array in flash. `data` is None in abstract graphs (only the size matters there)."""
    name: str
    dtype: str                      # key of CTYPES
    count: int
    data: np.ndarray | None = None

    @property
    def nbytes(self) -> int:
        return self.count * DTYPE_BYTES[self.dtype]

    @classmethod
    def of(cls, name: str, array, dtype: str) -> "Const":
        a = np.ascontiguousarray(np.asarray(array).astype(dtype)).reshape(-1)
        return cls(name, dtype, int(a.size), a)


@dataclass
class State:
    """A stateful operator's variable tensor (SVDF's memory, LSTM's hidden and cell state): RAM outside the arena
    that keeps its contents from one invoke to the next; every element is `initial` at start and after
    {prefix}_reset_state() (TFLite resets an int8 variable tensor to its zero point, others to zero)."""
    name: str
    dtype: str                      # key of CTYPES
    count: int
    initial: int = 0

    @property
    def nbytes(self) -> int:
        return self.count * DTYPE_BYTES[self.dtype]


@dataclass
class InPlace:
    """How a layer runs when its output may overwrite its first input (the input dies at this layer)."""
    kernel: str
    scratch_bytes: int


@dataclass
class Faster:
    """A faster kernel for a layer that needs more scratch: the schedule gives it to the layer only where the
    planned arena has room for that scratch at that layer, so peak SRAM never grows."""
    kernel: str
    scratch_bytes: int


@dataclass
class Layer:
    """One kernel call: kernel(&params, inputs..., consts..., outputs..., states..., [scratch]).
    `inplace` is the in-place variant, when the kernel has one."""
    op: str                               # TFLite operator name, for reports and errors
    op_index: int                         # index in the TFLite graph (-1 for abstract graphs)
    kernel: str                           # C function
    param_struct: str                     # C struct type of `params`
    params: dict[str, int | float]        # field -> literal, in declaration order
    inputs: list[int]                     # buffer ids
    outputs: list[int]
    consts: list[Const] = field(default_factory=list)
    scratch_bytes: int = 0
    takes_scratch: bool = False           # the kernel's last argument is a scratch pointer (NULL when 0 bytes)
    inplace: InPlace | None = None        # (in-place variants always take a scratch pointer)
    array_inputs: bool = False            # inputs passed as one array of pointers (CONCATENATION)
    macs: int = 0
    faster: Faster | None = None          # (never combined with the in-place variant)
    states: list[State] = field(default_factory=list)


@dataclass
class IOSpec:
    """A model input or output as the API presents it."""
    buffer: int
    tensor_index: int                     # the TFLite tensor index users address it by
    name: str
    shape: tuple[int, ...]
    dtype: str                            # "int8", "uint8", "int16", "int32", "int64" (the buffer's type) or
    #                                       "float32" (float I/O is (de)quantized around the int8 buffer)
    scale: float                          # the buffer's quantization (0.0 and 0 for int32 / int64)
    zero_point: int


@dataclass
class LoweredModel:
    name: str
    buffers: list[Buffer]
    layers: list[Layer]
    inputs: list[IOSpec]
    outputs: list[IOSpec]

    @property
    def const_bytes(self) -> int:
        return sum(c.nbytes for layer in self.layers for c in layer.consts)

    @property
    def state_bytes(self) -> int:
        """RAM of the stateful operators' state, outside the arena."""
        return sum(s.nbytes for layer in self.layers for s in layer.states)
