"""Operator lowerings, one module per family; importing this package registers them all."""
from . import activation, conv, elementwise, fold, io, pool, shape, split, resize, lut, binary, normalization, transpose_conv, space, reduce, svdf  # noqa: F401
from . import argminmax  # noqa: F401
from . import absolute, batch_matmul, broadcast, div, gather_nd, lstm, mirror_pad, reverse  # noqa: F401
