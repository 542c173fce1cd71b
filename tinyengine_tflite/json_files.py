"""The tooling's one JSON writer: dataclasses, numpy scalars/arrays and paths become JSON, and the file is
replaced atomically (a temporary file renamed over it), so a killed run leaves the old or the new version."""
from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import numpy as np


def _default(o):
    if dataclasses.is_dataclass(o) and not isinstance(o, type):
        return dataclasses.asdict(o)
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serializable: {type(o).__name__}")


def to_json(obj, indent: int | None = 1) -> str:
    return json.dumps(obj, indent=indent, default=_default)


def write_json(path, obj, indent: int | None = 1) -> str:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")
    tmp.write_text(to_json(obj, indent) + "\n")
    os.replace(tmp, path)
    return str(path)


def read_json(path):
    return json.loads(Path(path).read_text())


def from_dict(cls, data):
    """Rebuild a (nested) dataclass of type `cls` from what write_json wrote (dict keys -> fields; lists,
    dicts and `X | None` follow the field's type hints; unknown keys are ignored)."""
    import types
    import typing

    def convert(tp, value):
        if value is None:
            return None
        origin, args = typing.get_origin(tp), typing.get_args(tp)
        if origin in (typing.Union, types.UnionType):
            return convert(next(a for a in args if a is not type(None)), value)
        if origin is list:
            return [convert(args[0], v) for v in value] if args else list(value)
        if origin is tuple:
            return tuple(value)
        if origin is dict:
            key = args[0] if args else str
            return {key(k): convert(args[1], v) for k, v in value.items()} if args else dict(value)
        if dataclasses.is_dataclass(tp):
            hints = typing.get_type_hints(tp)
            return tp(**{f.name: convert(hints[f.name], value[f.name])
                         for f in dataclasses.fields(tp) if f.init and f.name in value})
        return value
    return convert(cls, data)
