"""MIRROR_PAD (int8, REFLECT and SYMMETRIC, constant paddings): a copy through per-dimension index maps,
bit-exact with LiteRT's reference kernels and, in reference="tflm" mode, TFLite Micro."""
import numpy as np
import pytest
from modelgen import int8_tflite, op_names
from opgraph import T, Op, graph_model
from reference import assert_bit_exact

import tinyengine_tflite
from tinyengine_tflite.layers import Layer


def mirror_pad_model(in_shape, pads, mode: int, q=(0.05, -7)) -> bytes:
    """An ADD of the input to itself (so MIRROR_PAD reads an activation), then MIRROR_PAD (mode 0 REFLECT,
    1 SYMMETRIC)."""
    pads = np.array(pads, dtype=np.int32)
    out_shape = tuple(n + int(p.sum()) for n, p in zip(in_shape, pads))
    return graph_model([T(in_shape, "INT8", *q), T(in_shape, "INT8", *q), T(pads.shape, "INT32", data=pads),
                        T(out_shape, "INT8", *q)],
                       [Op("ADD", [0, 0], [1]), Op("MIRROR_PAD", [1, 2], [3], {"mode": mode})], [0], [3])


def test_keras_mirror_pad_matches_both_references():
    """tf.pad(mode="SYMMETRIC") of a Keras model, channels padded too, as the converter writes it, between two
    convolutions."""
    import tensorflow as tf
    import tf_keras as keras
    L = keras.layers

    def build(x):
        x = L.Conv2D(5, 3, activation="relu")(x)
        x = L.Lambda(lambda t: tf.pad(t, [[0, 0], [2, 1], [1, 2], [2, 0]], mode="SYMMETRIC"))(x)
        return L.Conv2D(3, 3)(x)
    model = int8_tflite(build, [(9, 7, 2)], "mirror_pad_keras_symmetric")
    assert "MIRROR_PAD" in op_names(model)
    assert_bit_exact(model)


# (input shape, paddings, mode): awkward sizes; the channels padded; the whole reflection (size - 1 / size);
# a rank-5 input whose padded dimensions alternate with unpadded ones (the default suite has the Keras model)
@pytest.mark.parametrize("in_shape,pads,mode", [
    pytest.param((1, 3, 5, 3), [[0, 0], [3, 1], [0, 0], [2, 3]], 1, marks=pytest.mark.slow),
    pytest.param((2, 4, 3), [[1, 1], [3, 0], [0, 2]], 0, marks=pytest.mark.slow),
    pytest.param((7,), [[6, 6]], 0, marks=pytest.mark.slow),
    pytest.param((2, 3, 1, 4, 5), [[1, 0], [0, 0], [1, 1], [0, 0], [4, 5]], 1, marks=pytest.mark.slow),
    pytest.param((1, 6, 6, 4), [[0, 0], [1, 1], [1, 1], [0, 0]], 0, marks=pytest.mark.slow)])
def test_mirror_pad_matches_both_references(in_shape, pads, mode):
    model = mirror_pad_model(in_shape, pads, mode)
    layers = tinyengine_tflite.Interpreter(model_content=model)._model.layers
    assert any(isinstance(x, Layer) and x.kernel == "te_axis_map_copy_s8" for x in layers)
    assert_bit_exact(model)


def test_mirror_pad_too_wide_refused():
    """REFLECT excludes the edge, so a padding may reach size - 1 at most (TensorFlow refuses more too)."""
    with pytest.raises(tinyengine_tflite.ConversionError, match=r"MIRROR_PAD.*paddings \[\[0, 0\], \[3, 0\]\] "
                                                                r"are not within \[0, size - 1\]"):
        tinyengine_tflite.Interpreter(model_content=mirror_pad_model((2, 3), [[0, 0], [3, 0]], 0))
