"""L2_NORMALIZATION and LOG_SOFTMAX (ops/normalization.py, kernels/te_activation.c) against LiteRT's reference
kernels and TFLite Micro: chosen quantizations and shapes (one value per row, long rows, rows at the zero point
whose sum of squares is 0, coarse and fine input scales), and converter-made models."""
import numpy as np
import pytest
from modelgen import int8_tflite, op_names
from opgraph import Op, T, graph_model, unary_model
from reference import assert_bit_exact, run_litert, run_tinyengine

import tinyengine_tflite
from keras_mcunet._tf import keras, tf
from tflite_micro.python.tflite_micro import runtime

L = keras.layers


OUTPUT_Q = {"L2_NORMALIZATION": (1 / 128, 0), "LOG_SOFTMAX": (16 / 256, 127)}
CASES = [
    # operator, input shape, input (scale, zero point)
    ("L2_NORMALIZATION", (1, 5, 7, 13), (0.05, 3)),
    ("L2_NORMALIZATION", (1, 3), (0.5, -128)),
    ("L2_NORMALIZATION", (2, 1, 64), (0.01, 100)),
    ("L2_NORMALIZATION", (1, 4, 1), (0.1, 0)),          # one value per row: +-1 (127) or 0
    ("L2_NORMALIZATION", (1, 2, 3000), (0.2, -7)),      # long rows: sums of squares past 2^24
    ("LOG_SOFTMAX", (1, 5, 7, 13), (0.05, 3)),
    ("LOG_SOFTMAX", (1, 10), (0.5, -128)),
    ("LOG_SOFTMAX", (2, 1, 64), (0.01, 100)),           # fine scale: every difference counts
    ("LOG_SOFTMAX", (1, 4, 1), (0.1, 0)),               # one value per row: log 1 = 0
    ("LOG_SOFTMAX", (1, 3, 300), (0.2, -7)),
    ("LOG_SOFTMAX", (1, 6, 9), (2.5, 0)),               # coarse scale: most differences fall below the limit
]


def _tflm(model, inputs):
    it = runtime.Interpreter.from_bytes(model, arena_size=1 << 17)
    for k, x in enumerate(inputs):
        it.set_input(x, k)
    it.invoke()
    return [it.get_output(k) for k in range(len(inputs))]


def test_row_normalizations():
    """Every case side by side in one model (one C build per reference)."""
    tensors, ops = [], []
    for k, (op, shape, in_q) in enumerate(CASES):
        tensors += [T(shape, "INT8", *in_q), T(shape, "INT8", *OUTPUT_Q[op])]
        ops.append(Op(op, [2 * k], [2 * k + 1]))
    n = len(CASES)
    model = graph_model(tensors, ops, [2 * k for k in range(n)], [2 * k + 1 for k in range(n)])
    rng = np.random.default_rng(0)
    for _ in range(2):
        inputs = []
        for _, shape, (_, zp) in CASES:
            x = rng.integers(-128, 128, shape).astype(np.int8)
            x.reshape(-1, shape[-1])[0] = zp                 # a row at the zero point: its sum of squares is 0
            inputs.append(x)
        for reference, run in (("litert", run_litert), ("tflm", _tflm)):
            for case, a, b in zip(CASES, run_tinyengine(model, inputs, reference), run(model, inputs)):
                np.testing.assert_array_equal(a, b, err_msg=f"{reference}: {case}")


@pytest.mark.parametrize("op,out_q,message", [("L2_NORMALIZATION", (1 / 64, 0), "1/128"),
                                              ("LOG_SOFTMAX", (16 / 256, 0), "16/256 and 127")])
def test_output_quantization_refused(op, out_q, message):
    model = unary_model(op, (1, 8), (0.1, 0), out_q)
    with pytest.raises(tinyengine_tflite.UnsupportedOperatorError, match=message):
        tinyengine_tflite.Interpreter(model_content=model)


def test_converter_normalizations():
    def build(x):
        y = L.Dense(10)(x)
        return [tf.math.l2_normalize(y, axis=-1), tf.nn.log_softmax(L.Dense(7)(x))]
    model = int8_tflite(build, [(6, 5)], "row_normalizations", representative_scale=2.0)
    assert {"L2_NORMALIZATION", "LOG_SOFTMAX"} <= set(op_names(model)), op_names(model)
    assert_bit_exact(model)
