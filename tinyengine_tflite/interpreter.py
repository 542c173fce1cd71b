"""A drop-in replacement for tf.lite.Interpreter that runs the generated C through ctypes."""
from __future__ import annotations

import ctypes
import enum
import os
import shutil
import tempfile

import numpy as np

from .build import build_shared_library
from .compiler import compile_model
from .layers import IOSpec
from .lower import check_reference
from .reader import load_model_bytes
from .signatures import Signature, read_signatures

_DTYPES = {"int8": np.int8, "uint8": np.uint8, "int16": np.int16, "int32": np.int32, "int64": np.int64,
           "float32": np.float32}


class OpResolverType(enum.Enum):
    """tf.lite.experimental.OpResolverType's members, so that `from tinyengine_tflite import Interpreter,
    OpResolverType` replaces TFLite's import. Every resolver runs the same generated C (see Interpreter)."""
    AUTO = 0
    BUILTIN = 1
    BUILTIN_REF = 2
    BUILTIN_WITHOUT_DEFAULT_DELEGATES = 3


def _details(spec: IOSpec) -> dict:
    is_float = spec.dtype in ("float32", "int32", "int64")   # not quantized (int32 / int64: ARG_MAX's indices)
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


def _check_options(num_threads, op_resolver_type, experimental: dict) -> None:
    """tf.lite.Interpreter's checks of its keyword arguments, with its messages."""
    if num_threads is not None:
        if not isinstance(num_threads, int):
            raise ValueError("type of num_threads should be int")
        if num_threads < 1:
            raise ValueError("num_threads should >= 1")
    if not (isinstance(op_resolver_type, enum.Enum) and op_resolver_type.name in OpResolverType.__members__):
        raise ValueError(f"Unrecognized passed in op resolver type: {op_resolver_type}")
    unknown = sorted(k for k in experimental if not k.startswith("experimental_"))
    if unknown:
        raise TypeError(f"Interpreter.__init__() got an unexpected keyword argument {unknown[0]!r}")


class Interpreter:
    """tf.lite.Interpreter's interface over tinyengine_tflite's generated C.

    The model is `model_path` (str, bytes or os.PathLike) or `model_content` (the flatbuffer bytes).
    `reference` picks the reference kernels the outputs equal byte for byte: "litert" (LiteRT's reference
    kernels, the default) or "tflm" (TensorFlow Lite Micro); they differ on a few operators (FULLY_CONNECTED,
    MUL, LOGISTIC, TANH, PRELU, the RELUs: see the README). `patches` ("auto", a PatchPlan or "ROWSxCOLS@LAYER")
    runs the first layers patch by patch (MCUNetV2), within `max_mac_overhead` more MACs for "auto"; the outputs
    are the same.
    tf.lite.Interpreter's other keyword arguments are checked as it checks them (num_threads an int >= 1,
    experimental_op_resolver_type an OpResolverType; LiteRT's further experimental_* options are accepted) and
    otherwise have no effect: the generated code has one execution path, with no delegates and no threads, and
    keeps only the model's inputs and outputs (experimental_preserve_all_tensors cannot keep the others)."""

    def __init__(self, model_path=None, model_content=None, experimental_delegates=None, num_threads=None,
                 experimental_op_resolver_type=OpResolverType.AUTO, experimental_preserve_all_tensors=False,
                 experimental_disable_delegate_clustering=False, experimental_default_delegate_latest_features=False,
                 *, reference: str = "litert", patches=None, max_mac_overhead: float = 0.2, **experimental):
        if (model_path is None) == (model_content is None):
            raise ValueError("Exactly one of model_path and model_content must be given")
        _check_options(num_threads, experimental_op_resolver_type, experimental)
        self._reference = check_reference(reference)
        model = model_content if model_content is not None else os.fsdecode(model_path)
        self._bytes, name = load_model_bytes(model)
        self._model, self._sched = compile_model(self._bytes if model_content is not None else model,
                                                 reference=reference, patches=patches,
                                                 max_mac_overhead=max_mac_overhead)
        self._signatures = {s.key: s for s in read_signatures(self._bytes, name)}
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
        lib.model_reset_state.restype = ctypes.c_int
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
        status = self._lib.te_host_invoke(*self._invoke_args)
        if status != 0:
            raise RuntimeError(f"model_invoke() returned status {status} (see model_status in the generated model.h)")

    def reset_all_variables(self):
        """Resets the model's variable tensors (the state of stateful operators, SVDF and LSTM, which each invoke
        reads and updates) to their initial value, through model_reset_state(): zero, or an int8 tensor's zero
        point (an LSTM's hidden state), as TFLite resets them. Returns None, as TFLite does."""
        if self._lib is not None:
            self._lib.model_reset_state()
        return None

    # --- SignatureDefs ---------------------------------------------------------------------------------
    def get_signature_list(self):
        """{signature key: {"inputs": [names], "outputs": [names]}}; {} when the model has no SignatureDef."""
        return {k: {"inputs": list(s.inputs), "outputs": list(s.outputs)} for k, s in self._signatures.items()}

    def get_signature_runner(self, signature_key=None):
        """A callable that runs SignatureDef `signature_key` (None: the model's only one) with keyword inputs and
        returns {output name: array}, as tf.lite.Interpreter's."""
        if signature_key is None:
            if len(self._signatures) != 1:
                raise ValueError(f"SignatureDef signature_key is None and model has {len(self._signatures)} "
                                 "Signatures. None is only allowed when the model has 1 SignatureDef")
            signature_key = next(iter(self._signatures))
        if signature_key not in self._signatures:
            raise ValueError(f'Invalid signature_key provided: "{signature_key}".')
        return SignatureRunner(self, self._signatures[signature_key])

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
            return buf.view(_DTYPES[spec.dtype]).copy().reshape(spec.shape)
        if tensor_index in self._inputs:
            spec = self._inputs[tensor_index]
            if tensor_index in self._input_values:
                return self._input_values[tensor_index].copy()
            return np.zeros(spec.shape, dtype=_DTYPES[spec.dtype])
        raise ValueError(f"Tensor {tensor_index} is not an input or output of this model: the generated code "
                         "keeps only model inputs and outputs (intermediate tensors share the arena)")

    def tensor(self, tensor_index):
        return lambda: self.get_tensor(tensor_index)


class SignatureRunner:
    """tf.lite's SignatureRunner: runs one SignatureDef of an Interpreter, inputs and outputs by name."""

    def __init__(self, interpreter: Interpreter, signature: Signature):
        for kind, names, known in (("input", signature.inputs, interpreter._inputs),
                                   ("output", signature.outputs, interpreter._outputs)):
            for name, index in names.items():
                if index not in known:
                    raise ValueError(f"SignatureDef {signature.key!r}: {kind} {name!r} is tensor {index}, which is "
                                     f"not a model {kind} (the generated code keeps only the model's inputs and "
                                     "outputs)")
        self._interpreter = interpreter
        self._signature = signature

    def __call__(self, **kwargs):
        inputs = self._signature.inputs
        if len(kwargs) != len(inputs):
            raise ValueError("Invalid number of inputs provided for running a SignatureDef, expected "
                             f"{len(inputs)} vs provided {len(kwargs)}")
        for name in kwargs:
            if name not in inputs:
                raise ValueError(f"Invalid Input name ({name}) for SignatureDef")
        it = self._interpreter
        it.allocate_tensors()
        for name, value in kwargs.items():
            it.set_tensor(inputs[name], value)
        it.invoke()
        return {name: it.get_tensor(index) for name, index in self._signature.outputs.items()}

    def get_input_details(self):
        return {name: _details(self._interpreter._inputs[i]) for name, i in self._signature.inputs.items()}

    def get_output_details(self):
        return {name: _details(self._interpreter._outputs[i]) for name, i in self._signature.outputs.items()}
