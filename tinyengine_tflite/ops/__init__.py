"""Operator lowerings, one module per family; importing this package registers them all."""
from . import activation, conv, elementwise, fold, io, pool, shape, split, resize, lut, binary, transpose_conv, space  # noqa: F401
