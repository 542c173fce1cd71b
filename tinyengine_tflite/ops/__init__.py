"""Operator lowerings, one module per family; importing this package registers them all."""
from . import conv, io  # noqa: F401
