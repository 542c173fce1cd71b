"""The TFLite flatbuffer schema, through the published Python bindings of `schema.fbs` (the `tflite` package on
PyPI, which needs only `flatbuffers` and `numpy`).

`unpack_model(buf)` gives the model as plain objects with the attribute names of the flatbuffers object API
(`model.subgraphs[0].operators[3].builtinOptions.strideW`), which is what the reader walks. Tools and tests that
*write* models use the object API that tflite-micro generates (`schema.fb`, imported on first use, so the
compiler itself never loads TFLite Micro)."""
from __future__ import annotations

import importlib
import struct
from types import SimpleNamespace

import flatbuffers.table
import tflite

_VECTOR_SUFFIXES = ("Length", "AsNumpy", "IsNone")
# Union fields: the accessor, and the enum that names the table type its `...Type()` sibling holds.
_UNIONS = {"BuiltinOptions": tflite.BuiltinOptions, "BuiltinOptions2": tflite.BuiltinOptions2,
           "Details": tflite.QuantizationDetails}


def _enum_names(enum_cls):
    return {v: k for k, v in vars(enum_cls).items() if not k.startswith("_")}


BUILTIN_NAMES = _enum_names(tflite.BuiltinOperator)
TENSOR_TYPE_NAMES = _enum_names(tflite.TensorType)
PADDING_NAMES = _enum_names(tflite.Padding)
ACTIVATION_NAMES = _enum_names(tflite.ActivationFunctionType)
_UNION_NAMES = {field: _enum_names(enum) for field, enum in _UNIONS.items()}

# TensorType -> numpy dtype name, for the types this engine may meet.
NUMPY_DTYPES = {
    "FLOAT32": "float32", "INT32": "int32", "UINT8": "uint8", "INT64": "int64",
    "BOOL": "bool", "INT16": "int16", "INT8": "int8",
}

_FIELDS: dict[type, list[str]] = {}


class CorruptFlatbufferError(ValueError):
    """The flatbuffer breaks a rule of FlatBuffers' verifier (what LiteRT checks before it reads a model)."""


class _VerifiedTable(flatbuffers.table.Table):
    """The bindings' table reader with the bounds checks of FlatBuffers' verifier on what the reader touches:
    strings lie in the buffer and end with their terminator, vectors fit in the buffer."""
    __slots__ = ()

    def String(self, off):
        start = off + struct.unpack_from("<I", self.Bytes, off)[0]
        end = start + 4 + struct.unpack_from("<I", self.Bytes, start)[0]
        if end >= len(self.Bytes) or self.Bytes[end] != 0:
            raise CorruptFlatbufferError(f"the string at byte {start} runs past the buffer or lacks its terminator")
        return super().String(off)

    def VectorLen(self, off):
        n = super().VectorLen(off)
        if self.Vector(off) + n > len(self.Bytes):
            raise CorruptFlatbufferError(f"a vector of {n} elements runs past the end of the buffer")
        return n


def _verify_table(tab) -> None:
    """The verifier's checks of a table: aligned, its vtable well formed and in the buffer, its fields inside it."""
    buf, pos = tab.Bytes, tab.Pos
    if pos % 4 or pos < 0 or pos + 4 > len(buf):
        raise CorruptFlatbufferError(f"a table at byte {pos} is misaligned or outside the buffer")
    vtable = pos - struct.unpack_from("<i", buf, pos)[0]
    if vtable % 2 or vtable < 0 or vtable + 4 > len(buf):
        raise CorruptFlatbufferError(f"the vtable of the table at byte {pos} is misaligned or outside the buffer")
    vsize, osize = struct.unpack_from("<HH", buf, vtable)
    if vsize < 4 or vsize % 2 or vtable + vsize > len(buf) or pos + osize > len(buf):
        raise CorruptFlatbufferError(f"the table at byte {pos} has a malformed vtable")
    fields = struct.unpack_from(f"<{(vsize - 4) // 2}H", buf, vtable + 4)
    if any(f and (f < 4 or f >= osize) for f in fields):
        raise CorruptFlatbufferError(f"a field of the table at byte {pos} lies outside it")


def _fields(cls) -> list[str]:
    """The schema fields of a bindings class: its accessors, less the vector helpers and the root functions."""
    if cls not in _FIELDS:
        names = [n for n in vars(cls) if n[:1].isupper() and not n.startswith(("GetRootAs", "Init"))
                 and not n.endswith("BufferHasIdentifier")]
        _FIELDS[cls] = [n for n in names if not n.endswith(_VECTOR_SUFFIXES)
                        and not (n.endswith("Type") and n[:-4] in _UNIONS)]
    return _FIELDS[cls]


def _union(table, field: str):
    name = _UNION_NAMES[field].get(getattr(table, field + "Type")())
    raw = getattr(table, field)()
    cls = getattr(tflite, name, None) if name and name != "NONE" else None
    if raw is None or not isinstance(cls, type):
        return None
    value = cls()
    value.Init(raw.Bytes, raw.Pos)
    return _unpack(value)


def _unpack(table):
    """A bindings table as a SimpleNamespace with the object API's (lowerCamelCase) attribute names; the table is
    verified first and read through _VerifiedTable."""
    table._tab.__class__ = _VerifiedTable
    _verify_table(table._tab)
    cls = type(table)
    out = SimpleNamespace()
    for field in _fields(cls):
        attr = field[0].lower() + field[1:]
        if field in _UNIONS:
            setattr(out, attr + "Type", getattr(table, field + "Type")())
            value = _union(table, field)
        elif hasattr(cls, field + "Length"):
            if getattr(table, field + "IsNone")():
                value = None
            elif hasattr(cls, field + "AsNumpy"):
                value = getattr(table, field + "AsNumpy")()
            else:
                get = getattr(table, field)
                value = [_item(get(j)) for j in range(getattr(table, field + "Length")())]
        else:
            value = _item(getattr(table, field)())
        setattr(out, attr, value)
    return out


def _item(value):
    return _unpack(value) if hasattr(value, "_tab") else value


def unpack_model(buf: bytes):
    """The whole model as plain objects (see the module docstring); raises whatever a corrupt offset causes."""
    return _unpack(tflite.Model.GetRootAs(buf, 0))


def root_model(buf: bytes) -> tflite.Model:
    """The model's root table, read lazily through the bindings."""
    return tflite.Model.GetRootAs(buf, 0)


def __getattr__(name):
    if name == "fb":     # the writable object API, for tools and tests
        return importlib.import_module("tflite_micro.tensorflow.lite.micro.python.schema_py_generated")
    raise AttributeError(name)
