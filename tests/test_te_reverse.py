"""REVERSE_V2 (int8, constant axis): a strided copy with negative strides, bit-exact with LiteRT's reference
kernels and TFLite Micro; and the models it comes from, a Keras Bidirectional LSTM and a go_backwards LSTM."""
import numpy as np
import pytest
from modelgen import _cached_int8, op_names
from opgraph import T, Op, graph_model
from test_te_lstm import check_invokes
from test_te_svdf import _litert, _run, _run_tflm

import tinyengine_tflite


def reverse_model(shape, axis, in_q=(0.07, 3)) -> bytes:
    """QUANTIZE-free int8 graph: an ADD of the input to itself (so the REVERSE_V2 reads an activation), then
    REVERSE_V2 along `axis`."""
    return graph_model([T(shape, "INT8", *in_q), T(shape, "INT8", *in_q), T((1,), "INT32", data=np.array([axis])),
                        T(shape, "INT8", *in_q)],
                       [Op("ADD", [0, 0], [1]), Op("REVERSE_V2", [1, 2], [3])], [0], [3])


SLOW = pytest.mark.slow


# (the default suite runs REVERSE_V2 in test_reversed_lstm_models_match_both_references)
@pytest.mark.parametrize("shape,axis", [pytest.param((1, 4, 5, 3), -1, marks=SLOW), pytest.param((7,), 0, marks=SLOW),
                                        pytest.param((3, 5), 1, marks=SLOW), pytest.param((3, 5), 0, marks=SLOW),
                                        pytest.param((1, 4, 5, 3), 2, marks=SLOW),
                                        pytest.param((2, 3, 1, 4), 2, marks=SLOW)])   # a size-1 axis: an alias
def test_reverse_matches_both_references(shape, axis):
    from tflite_micro.python.tflite_micro import runtime
    model = reverse_model(shape, axis)
    ours = tinyengine_tflite.Interpreter(model_content=model)
    ours.allocate_tensors()
    ref, tflm = _litert(model), runtime.Interpreter.from_bytes(model)
    rng = np.random.default_rng(len(shape) + axis)
    for _ in range(3):
        x = rng.integers(-128, 128, shape).astype(np.int8)
        got = _run(ours, x)
        np.testing.assert_array_equal(got, _run(ref, x))
        np.testing.assert_array_equal(got, _run_tflm(tflm, x))
    assert shape[axis] == 1 or not np.array_equal(got, _run(ref, np.flip(x, axis)))


def test_reverse_axis_out_of_range_refused():
    with pytest.raises(tinyengine_tflite.ConversionError, match=r"the axes \[2\] are not distinct axes"):
        tinyengine_tflite.Interpreter(model_content=reverse_model((3, 5), 2))


def recurrent_model(kind: str, units=5, steps=4, features=3) -> bytes:
    """A Keras Bidirectional LSTM (returning sequences) or a go_backwards LSTM, full-integer quantized."""
    def converter(keras, tf):
        x = keras.Input(shape=(steps, features), batch_size=1, name="in00")
        lstm = keras.layers.LSTM(units, return_sequences=kind == "bidirectional", go_backwards=kind == "backwards")
        y = keras.layers.Bidirectional(lstm)(x) if kind == "bidirectional" else lstm(x)
        rng = np.random.default_rng(1)

        def representative():
            for _ in range(16):
                yield {"in00": rng.normal(0, 1, (1, steps, features)).astype(np.float32)}
        return tf.lite.TFLiteConverter.from_keras_model(keras.Model(x, y)), representative
    return _cached_int8(("recurrent", kind, units, steps, features), converter, f"lstm_{kind}", False, 1)


@pytest.mark.parametrize("kind", ["bidirectional", pytest.param("backwards", marks=SLOW)])
def test_reversed_lstm_models_match_both_references(kind):
    """REVERSE_V2 around UNIDIRECTIONAL_SEQUENCE_LSTM (two of each for Bidirectional): every invoke of a carried
    sequence, and after a reset, equals LiteRT and (tflm mode) TFLM."""
    model = recurrent_model(kind)
    names = op_names(model)
    assert "REVERSE_V2" in names and "UNIDIRECTIONAL_SEQUENCE_LSTM" in names
    check_invokes(model, n=6, reset_at=4, seed=5)
