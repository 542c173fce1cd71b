"""DIV (int8): TFLite's quantized Div, bit-exact with LiteRT's reference kernels and, in reference="tflm" mode,
TFLite Micro, on every pair of int8 values."""
import numpy as np
import pytest
from modelgen import int8_tflite, op_names
from opgraph import T, Op, graph_model
from reference import assert_bit_exact, run_litert, run_tinyengine

import tinyengine_tflite

PAIRS = (256, 256)


def div_model(q1, q2, q_out, shapes=(PAIRS, PAIRS), activation=0, divisor=None) -> bytes:
    """DIV of the model inputs (or of input 1 by a constant divisor); q = (scale, zero point)."""
    out_shape = tuple(np.broadcast_shapes(*shapes))
    return graph_model([T(shapes[0], "INT8", *q1), T(shapes[1], "INT8", *q2, data=divisor),
                        T(out_shape, "INT8", *q_out)],
                       [Op("DIV", [0, 1], [2], {"fusedActivationFunction": activation})],
                       [0] if divisor is not None else [0, 1], [2])


def _tflm(model, inputs):
    from tflite_micro.python.tflite_micro import runtime
    it = runtime.Interpreter.from_bytes(model, arena_size=1 << 20)
    for i, x in enumerate(inputs):
        it.set_input(x, i)
    it.invoke()
    return it.get_output(0)


# (input 1, input 2, output quantization): the references' multipliers differ (float32 vs double) on the first;
# the second has quotients whose final shift reaches 32 (TFLite keeps them whole); a fused RELU on the third
@pytest.mark.parametrize("q1,q2,q_out,act", [
    ((0.05, 3), (0.02, -5), (0.1, 2), 0),
    pytest.param((0.01, -128), (0.2, 40), (0.5, -20), 0, marks=pytest.mark.slow),
    pytest.param((0.3, 0), (0.004, 127), (0.02, 0), 1, marks=pytest.mark.slow)])
def test_div_every_pair_matches_both_references(q1, q2, q_out, act):
    model = div_model(q1, q2, q_out, activation=act)
    a = np.repeat(np.arange(-128, 128, dtype=np.int8)[:, None], 256, 1)
    b = np.ascontiguousarray(a.T)
    np.testing.assert_array_equal(run_tinyengine(model, [a, b], "tflm")[0], _tflm(model, [a, b]))
    b[b == q2[1]] = q2[1] + 1 if q2[1] < 127 else q2[1] - 1    # LiteRT stops on a zero divisor
    np.testing.assert_array_equal(run_tinyengine(model, [a, b])[0], run_litert(model, [a, b])[0])


@pytest.mark.slow
def test_div_broadcast_and_constant_divisor_match_both_references():
    divisor = np.random.default_rng(3).integers(-128, 128, (3, 1, 5)).astype(np.int8)
    divisor[divisor == 9] = 10
    assert_bit_exact(div_model((0.05, 3), (0.02, 9), (0.1, 2), shapes=((2, 1, 4, 1), (3, 1, 5)), divisor=divisor))


@pytest.mark.slow
def test_keras_divide_matches_both_references():
    """a / b of two Keras activations, b kept away from 0, as the converter writes it."""
    import tensorflow as tf
    import tf_keras as keras
    L = keras.layers

    def build(x, y):
        return L.Lambda(lambda t: tf.math.divide(t[0], tf.abs(t[1]) + 1.0))([x, y])
    model = int8_tflite(build, [(3, 7), (1, 7)], "div_keras")
    assert "DIV" in op_names(model)
    assert_bit_exact(model)


def test_div_constant_dividend_refused():
    model = graph_model([T((4,), "INT8", 0.1, 0, data=np.arange(4)), T((4,), "INT8", 0.1, 0), T((4,), "INT8", 0.1, 0)],
                        [Op("DIV", [0, 1], [2])], [1], [2])
    with pytest.raises(tinyengine_tflite.UnsupportedOperatorError, match=r"DIV.*the dividend \(tensor 0\) is a "
                                                                         r"constant"):
        tinyengine_tflite.Interpreter(model_content=model)


@pytest.mark.cortexm
@pytest.mark.slow
def test_downstream_mirror_pad_batch_matmul_div(tmp_path):
    """MIRROR_PAD -> BATCH_MATMUL (constant rhs) -> DIV (constant divisor): planned and reported,
    sanitizer-clean (ASan and UBSan) with the plain build's bytes, equal to LiteRT's, and the emulated Cortex-M4
    output equals the host's."""
    from sanitized import SANITIZE, build, input_bytes, run, sanitizer_clean

    from tinyengine_tflite.cortexm import run_on_cortexm
    rng = np.random.default_rng(5)
    q = (0.05, -3)
    pads = np.array([[0, 0], [1, 1], [1, 0]], dtype=np.int32)
    divisor = rng.integers(-128, 128, (3,)).astype(np.int8)
    divisor[divisor == 4] = 5
    model = graph_model([T((2, 3, 4), "INT8", *q), T((2, 3, 4), "INT8", *q), T((3, 2), "INT32", data=pads),
                         T((2, 5, 5), "INT8", *q), T((5, 3), "INT8", 0.02, 1, data=rng.integers(-128, 128, (5, 3))),
                         T((2, 5, 3), "INT8", 0.3, 7), T((3,), "INT8", 0.01, 4, data=divisor),
                         T((2, 5, 3), "INT8", 0.2, -9)],
                        [Op("ADD", [0, 0], [1]), Op("MIRROR_PAD", [1, 2], [3], {"mode": 0}),
                         Op("BATCH_MATMUL", [3, 4], [5]), Op("DIV", [5, 6], [7])], [0], [7])
    src = tmp_path / "src"
    report = tinyengine_tflite.convert(model, src)
    assert [layer.op for layer in report.layers] == ["ADD", "MIRROR_PAD", "BATCH_MATMUL", "DIV"]
    assert report.peak_sram_bytes >= report.lower_bound_bytes > 0 and all(r.live_bytes > 0 for r in report.layers)
    data = rng.integers(-128, 128, input_bytes(src)).astype(np.int8).tobytes()
    r, sanitized = run(build(src, tmp_path, "sanitized", SANITIZE), tmp_path, data)
    assert sanitizer_clean(r), r.stderr[-3000:]
    r, plain = run(build(src, tmp_path, "plain", []), tmp_path, data)
    assert r.returncode == 0 and sanitized == plain
    assert plain == run_litert(model, [np.frombuffer(data, np.int8).reshape(2, 3, 4)])[0].tobytes()
    emu = run_on_cortexm(model)
    assert emu.status == "ok" and emu.output_matches_host, (emu.status, emu.reason)
