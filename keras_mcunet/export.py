"""Fully int8 TFLite export (int8 input and output, per-channel conv weights) and its evaluation with the
TFLite reference kernels."""
from __future__ import annotations

import os

import numpy as np

from tinyengine_tflite.arguments import check_count

from ._tf import keras, tf
from .data import as_dataset
from .resizing import InputResizing, fit_array, fit_inputs


def _representative(model: keras.Model, data, num_samples: int):
    input_shape = tuple(model.input_shape[1:])
    ds = as_dataset(fit_inputs(model, data, "representative_data"), 1, labels=False, input_shape=input_shape,
                    what="representative_data")

    def generate():
        for x in ds.take(num_samples):
            yield [x]
    return generate


def export_tflite(model: keras.Model, path: str | os.PathLike | None, representative_data,
                  num_samples: int = 100) -> bytes:
    """Convert `model` (float or QAT) to a fully int8 flatbuffer, write it to `path` (unless None) and
    return its bytes. representative_data: inputs (array, (x, y) pair or dataset) of which the first
    `num_samples` calibrate the activation ranges. For a model from keras_mcunet.search (or quantize of one),
    inputs of another size are resized as the search resized them, with a warning."""
    if not isinstance(model, keras.Model):
        raise ValueError(f"export_tflite expects a tf_keras Model, got {type(model).__name__}")
    num_samples = check_count(num_samples, "num_samples")
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = _representative(model, representative_data, num_samples)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    flatbuffer = converter.convert()
    if path is not None:
        with open(path, "wb") as f:
            f.write(flatbuffer)
    return flatbuffer


def _interpreter(model):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    kwargs = {"experimental_op_resolver_type": OpResolverType.BUILTIN_REF}
    if isinstance(model, (bytes, bytearray)):
        return Interpreter(model_content=bytes(model), **kwargs)
    path = os.fspath(model)
    if not os.path.isfile(path):
        raise ValueError(f"no TFLite model file at {path!r}")
    return Interpreter(model_path=path, **kwargs)


def evaluate_tflite(model: str | os.PathLike | bytes, x: np.ndarray, y: np.ndarray,
                    resizing: InputResizing | None = None) -> float:
    """Top-1 accuracy of a TFLite classifier (path or flatbuffer bytes) on float inputs `x` (N, H, W, C) and
    integer labels `y`, one sample at a time. Inputs are quantized with the model's input scale and zero
    point when its input is integer. resizing: the searched model's `input_resizing`; inputs of another size
    are then resized as the search resized them, with a warning (without it they must match the model)."""
    interpreter = _interpreter(model)
    interpreter.allocate_tensors()
    inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    x = fit_array(np.asarray(x), tuple(int(d) for d in inp["shape"][1:3]), resizing, "x")
    y = np.asarray(y)
    if x.ndim != 4 or tuple(x.shape[1:]) != tuple(inp["shape"][1:]):
        raise ValueError(f"x must have shape (N, {', '.join(map(str, inp['shape'][1:]))}), got {x.shape}")
    if y.ndim != 1 or len(y) != len(x) or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"y must be {len(x)} integer labels, got shape {y.shape} dtype {y.dtype}")
    if len(x) == 0:
        raise ValueError("x holds no samples")
    dtype = inp["dtype"]
    if np.issubdtype(dtype, np.integer):
        scale, zero_point = inp["quantization"]
        info = np.iinfo(dtype)
        x = np.clip(np.round(x / scale + zero_point), info.min, info.max).astype(dtype)
    else:
        x = x.astype(dtype)
    correct = 0
    for sample, label in zip(x, y):
        interpreter.set_tensor(inp["index"], sample[None])
        interpreter.invoke()
        correct += int(np.argmax(interpreter.get_tensor(out["index"])[0]) == label)
    return correct / len(x)
