"""The TFLite flatbuffer schema: the generated Python bindings (third_party/schema_py_generated.py, the copy that
tflite-micro ships), which need only the flatbuffers package."""
from .third_party import schema_py_generated as fb  # noqa: F401


def _enum_names(enum_cls):
    return {v: k for k, v in vars(enum_cls).items() if not k.startswith("_")}


BUILTIN_NAMES = _enum_names(fb.BuiltinOperator)
TENSOR_TYPE_NAMES = _enum_names(fb.TensorType)
PADDING_NAMES = _enum_names(fb.Padding)
ACTIVATION_NAMES = _enum_names(fb.ActivationFunctionType)

# TensorType -> numpy dtype name, for the types this engine may meet.
NUMPY_DTYPES = {
    "FLOAT32": "float32", "INT32": "int32", "UINT8": "uint8", "INT64": "int64",
    "BOOL": "bool", "INT16": "int16", "INT8": "int8",
}
