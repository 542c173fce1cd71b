"""Small int8 TFLite models made on the fly from tf_keras layers, for per-operator conformance tests."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

CACHE = Path(os.environ.get("TINYENGINE_TEST_MODELS", Path(__file__).resolve().parents[1] / ".cache" / "test_models"))


def int8_tflite(build, input_shapes, name: str, float_io: bool = False, seed: int = 0,
                representative_scale: float = 1.0, dynamic_batch: bool = False) -> bytes:
    """Convert `build(inputs) -> outputs` (tf_keras functional layers) to a fully int8 TFLite model.

    input_shapes: list of shapes without the batch dimension (batch 1, or left dynamic with dynamic_batch, so
    that the converter keeps shape arithmetic). Cached on disk by name, shapes and the source of `build`, so the
    slow converter runs once per model."""
    import inspect

    def converter(keras, tf):
        # Named, so the representative data is fed by name: the model's input order is TFLite's and would
        # otherwise depend on how many Keras inputs the process made before (an xdist worker's test order).
        inputs = [keras.Input(shape=s, batch_size=None if dynamic_batch else 1, name=f"in{i:02d}")
                  for i, s in enumerate(input_shapes)]
        model = keras.Model(inputs, build(*inputs))
        rng = np.random.default_rng(seed)

        def representative():
            for _ in range(16):      # by name: the converted model's input order is TFLite's, not ours
                yield {f"in{i:02d}": rng.normal(0, representative_scale, (1, *s)).astype(np.float32)
                       for i, s in enumerate(input_shapes)}
        return tf.lite.TFLiteConverter.from_keras_model(model), representative

    key = (name, input_shapes, float_io, seed, representative_scale, inspect.getsource(build))
    return _cached_int8(key + (("dynamic_batch",) if dynamic_batch else ()), converter, name, float_io, seed)


def op_model(build, input_shapes, name: str, op: str) -> bytes:
    """int8_tflite(build, input_shapes, name), checked to hold the operator `op`."""
    model = int8_tflite(build, input_shapes, name)
    assert op in op_names(model), f"{name}: no {op} in {op_names(model)}"
    return model


def function_tflite(make_module, name: str, float_io: bool = False, seed: int = 0) -> bytes:
    """Convert `make_module()`, a tf.Module whose __call__ is a tf.function with an input_signature of named
    TensorSpecs (batch 1) returning a dict, to a fully int8 TFLite model with one SignatureDef
    ("serving_default": the spec names in, the dict's keys out). Cached on disk like int8_tflite."""
    import inspect

    def converter(keras, tf):
        module = make_module()
        fn = module.__call__.get_concrete_function()
        specs = list(fn.structured_input_signature[0])
        rng = np.random.default_rng(seed)

        def representative():
            for _ in range(16):
                yield {s.name: rng.normal(0, 1, tuple(s.shape)).astype(np.float32) for s in specs}
        return tf.lite.TFLiteConverter.from_concrete_functions([fn], module), representative

    return _cached_int8(("function", name, float_io, seed, inspect.getsource(make_module)), converter, name,
                        float_io, seed)


def _cached_int8(key_parts: tuple, converter, name: str, float_io: bool, seed: int) -> bytes:
    """The model cached under key_parts, or else converter(keras, tf) -> (TFLiteConverter, representative
    dataset) converted with full-integer quantization (int8 input and output unless float_io) and cached."""
    path = CACHE / f"{name}-{hashlib.sha256(repr(key_parts).encode()).hexdigest()[:16]}.tflite"
    if path.exists():
        return path.read_bytes()
    from keras_mcunet._tf import keras, tf
    keras.utils.set_random_seed(seed)
    conv, representative = converter(keras, tf)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = representative
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    if not float_io:
        conv.inference_input_type = tf.int8
        conv.inference_output_type = tf.int8
    data = conv.convert()
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return data


def op_names(model: bytes) -> list[str]:
    from tinyengine_tflite.reader import read_model
    return [op.name for op in read_model(model).operators]


def pack_model(model_t) -> bytes:
    """Serialize a schema object-API model (tinyengine_tflite.schema.fb.ModelT) to flatbuffer bytes."""
    import flatbuffers
    b = flatbuffers.Builder(1024)
    b.Finish(model_t.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def patch_model(model: bytes, edit) -> bytes:
    """The model after edit(ModelT) (schema object API)."""
    from tinyengine_tflite.schema import fb
    m = fb.ModelT.InitFromPackedBuf(model, 0)
    edit(m)
    return pack_model(m)


def first_op(model: bytes, name: str):
    """The first operator of that TFLite name in the model."""
    from tinyengine_tflite.reader import read_model
    return next(op for op in read_model(model).operators if op.name == name)
