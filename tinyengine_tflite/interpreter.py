"""A drop-in replacement for tf.lite.Interpreter that runs the generated C through ctypes."""
from __future__ import annotations

import ctypes
import os
import shutil
import tempfile

import numpy as np

from .build import build_shared_library
from .compiler import compile_model
from .layers import IOSpec
from .lower import check_reference
from .reader import load_model_bytes

_DTYPES = {"int8": np.int8, "float32": np.float32}


def _details(spec: IOSpec) -> dict:
    is_float = spec.dtype == "float32"
    scales = np.array([] if is_float else [spec.scale], dtype=np.float32)
    zps = np.array([] if is_float else [spec.zero_point], dtype=np.int32)
    return {
        "name": spec.name,
        "index": spec.tensor_index,
        "shape": np.array(spec.shape, dtype=np.int32),
        "shape_signature": np.array(spec.shape, dtype=np.int32),
        "dtype": _DTYPES[spec.dtype],
        "quantization": (0.0, 0) if is_float else (float(spec.scale), int(spec.zero_point)),
        "quantization_parameters": {"scales": scales, "zero_points": zps, "quantized_dimension": 0},
        "sparsity_parameters": {},
    }


class Interpreter:
    """tf.lite.Interpreter's interface over tinyengine_tflite's generated C.

    `reference` picks the reference kernels the outputs equal byte for byte: "litert" (LiteRT's reference
    kernels, the default) or "tflm" (TensorFlow Lite Micro); they differ on FULLY_CONNECTED, MUL and LOGISTIC.
    Extra keyword arguments that tf.lite.Interpreter takes (num_threads, experimental_delegates,
    experimental_op_resolver_type, ...) are accepted and ignored: the generated code has one execution path."""

    def __init__(self, model_path=None, model_content=None, *, reference: str = "litert", **_ignored):
        if (model_path is None) == (model_content is None):
            raise ValueError("Exactly one of model_path and model_content must be given")
        self._reference = check_reference(reference)
        self._bytes, _ = load_model_bytes(model_content if model_content is not None else model_path)
        self._model, self._sched = compile_model(model_content if model_content is not None else model_path,
                                                 reference=reference)
        self._lib = None
        self._lib_copy = None
        self._inputs = {s.tensor_index: s for s in self._model.inputs}
        self._outputs = {s.tensor_index: s for s in self._model.outputs}
        self._input_values: dict[int, np.ndarray] = {}
        self._staged: dict[int, tuple] = {}

    # --- set-up ----------------------------------------------------------------------------------------
    def allocate_tensors(self):
        if self._lib is not None:
            return
        so = build_shared_library(self._bytes, self._model, self._sched, reference=self._reference)
        # A private copy: the arena is a static of the library, and each Interpreter must own its own.
        fd, self._lib_copy = tempfile.mkstemp(suffix=".so", prefix="tinyengine-")
        os.close(fd)
        shutil.copyfile(so, self._lib_copy)
        lib = ctypes.CDLL(self._lib_copy)
        for fn in ("model_input", "model_output"):
            getattr(lib, fn).restype = ctypes.c_void_p
            getattr(lib, fn).argtypes = [ctypes.c_int]
        lib.model_invoke.restype = ctypes.c_int
        for fn in ("model_set_input_float", "model_get_output_float"):
            getattr(lib, fn).restype = ctypes.c_int
            getattr(lib, fn).argtypes = [ctypes.c_int, ctypes.c_void_p]
        lib.te_host_invoke.restype = ctypes.c_int
        self._lib = lib
        self._invoke_args = (0, None, None, None)
        # numpy views of each input and output tensor in the arena, by TFLite tensor index
        self._views = {}
        for output, specs in ((False, self._model.inputs), (True, self._model.outputs)):
            for k, spec in enumerate(specs):
                ptr = (lib.model_output if output else lib.model_input)(k)
                n = self._model.buffers[spec.buffer].nbytes
                self._views[(output, spec.tensor_index)] = (k, ptr, np.ctypeslib.as_array(
                    (ctypes.c_int8 * n).from_address(ptr)))

    def __del__(self):
        if getattr(self, "_lib_copy", None):
            try:
                os.unlink(self._lib_copy)
            except OSError:
                pass

    def get_input_details(self):
        return [_details(s) for s in self._model.inputs]

    def get_output_details(self):
        return [_details(s) for s in self._model.outputs]

    def get_tensor_details(self):
        return self.get_input_details() + self.get_output_details()

    def resize_tensor_input(self, input_index, tensor_size, strict=False):
        spec = self._inputs.get(input_index)
        if spec is None:
            raise ValueError(f"Invalid tensor index {input_index}: not an input of this model")
        if tuple(int(d) for d in tensor_size) != tuple(spec.shape):
            raise ValueError(f"Cannot resize input {input_index} to {list(tensor_size)}: the generated code is "
                             f"compiled for the fixed shape {list(spec.shape)}")

    # --- data ------------------------------------------------------------------------------------------
    def set_tensor(self, tensor_index, value):
        if self._lib is None:
            raise ValueError("Cannot set tensor: Tensor is unallocated. Try calling allocate_tensors() first")
        spec = self._inputs.get(tensor_index)
        if spec is None:
            raise ValueError(f"Cannot set tensor: tensor {tensor_index} is not an input of this model "
                             f"(inputs: {sorted(self._inputs)})")
        value = np.asarray(value)
        k = list(self._inputs).index(tensor_index)
        expect = np.dtype(_DTYPES[spec.dtype])
        if value.dtype != expect:
            raise ValueError(f"Cannot set tensor: Got value of type {value.dtype.name.upper()} but expected type "
                             f"{expect.name.upper()} for input {k}, name: {spec.name} ")
        if value.ndim != len(spec.shape):
            raise ValueError(f"Cannot set tensor: Dimension mismatch. Got {value.ndim} but expected "
                             f"{len(spec.shape)} for input {k}.")
        for d, (got, want) in enumerate(zip(value.shape, spec.shape)):
            if got != want:
                raise ValueError(f"Cannot set tensor: Dimension mismatch. Got {got} but expected {want} for "
                                 f"dimension {d} of input {k}.")
        value = np.ascontiguousarray(value).copy()
        self._input_values[tensor_index] = value
        k, ptr, view = self._views[(False, tensor_index)]
        if spec.dtype == "float32":
            self._lib.model_set_input_float(k, value.ctypes.data)   # quantized by the generated C
            staged = view.copy()
        else:
            staged = value.reshape(-1)
        # The arena is shared by all tensors, so an invoke can overwrite an input (TFLite keeps it): the
        # quantized input is staged here and copied in before every invoke.
        self._staged[tensor_index] = (ptr, staged)
        n = len(self._staged)
        self._invoke_args = (ctypes.c_int32(n),
                             (ctypes.c_void_p * n)(*[p for p, _ in self._staged.values()]),
                             (ctypes.c_void_p * n)(*[a.ctypes.data for _, a in self._staged.values()]),
                             (ctypes.c_int32 * n)(*[a.nbytes for _, a in self._staged.values()]))

    def invoke(self):
        if self._lib is None:
            raise RuntimeError("Invoke called on model that is not ready.")
        self._lib.te_host_invoke(*self._invoke_args)

    def get_tensor(self, tensor_index, subgraph_index=0):
        if self._lib is None:
            raise ValueError("Tensor is unallocated. Try calling allocate_tensors() first")
        if tensor_index in self._outputs:
            spec = self._outputs[tensor_index]
            k, _, buf = self._views[(True, tensor_index)]
            if spec.dtype == "float32":
                out = np.empty(buf.size, dtype=np.float32)
                self._lib.model_get_output_float(k, out.ctypes.data)
                return out.reshape(spec.shape)
            return buf.copy().reshape(spec.shape)
        if tensor_index in self._inputs:
            spec = self._inputs[tensor_index]
            if tensor_index in self._input_values:
                return self._input_values[tensor_index].copy()
            return np.zeros(spec.shape, dtype=_DTYPES[spec.dtype])
        raise ValueError(f"Tensor {tensor_index} is not an input or output of this model: the generated code "
                         "keeps only model inputs and outputs (intermediate tensors share the arena)")

    def tensor(self, tensor_index):
        return lambda: self.get_tensor(tensor_index)
