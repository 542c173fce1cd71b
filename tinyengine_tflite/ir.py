"""The small graph IR the reader produces: tensors and operators in execution order."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

DTYPE_BYTES = {"int8": 1, "uint8": 1, "int16": 2, "int32": 4, "int64": 8, "float32": 4, "bool": 1}


@dataclass
class Tensor:
    index: int
    name: str
    shape: tuple[int, ...]
    dtype: str                                  # numpy dtype name: "int8", "int32", "float32", ...
    scale: np.ndarray | None = None             # float32, length 1 (per tensor) or per channel
    zero_point: np.ndarray | None = None        # int64, same length as scale
    quantized_dimension: int = 0
    data: np.ndarray | None = None              # constant contents (already shaped), None for activations
    is_variable: bool = False                   # a stateful operator's state (kept across invokes)

    @property
    def is_const(self) -> bool:
        return self.data is not None

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * DTYPE_BYTES[self.dtype]

    @property
    def per_channel(self) -> bool:
        return self.scale is not None and len(self.scale) > 1

    def qparams(self) -> tuple[float, int]:
        """(scale, zero_point) of a per-tensor quantized tensor."""
        if self.scale is None or len(self.scale) == 0:
            return 0.0, 0
        return float(self.scale[0]), int(self.zero_point[0])


@dataclass
class Operator:
    index: int
    name: str                                   # TFLite builtin name, e.g. "CONV_2D"
    inputs: list[int]                           # tensor indices; -1 for an omitted optional input
    outputs: list[int]
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class Graph:
    name: str
    tensors: list[Tensor]
    operators: list[Operator]
    inputs: list[int]
    outputs: list[int]

    def tensor(self, i: int) -> Tensor:
        return self.tensors[i]
