"""SOFTMAX and LOGISTIC against the TFLite reference kernels.

Both references run TFLite's fixed-point reference softmax, and the engine equals both. For LOGISTIC,
LiteRT's reference resolver uses a lookup table built in float32 and TFLM gemmlowp's fixed-point logistic.
They agree on most quantizations but not all (by one LSB on a few inputs): the default conversion equals
LiteRT, the reference="tflm" one TFLM, and test_logistic_follows_reference pins cases where they differ."""
import numpy as np
import pytest
from modelgen import int8_tflite, op_names
from reference import assert_bit_exact, run_litert, run_tflm, run_tinyengine
from test_te_elementwise import single_op_model

import tinyengine_tflite
from keras_mcunet._tf import keras
from tinyengine_tflite.errors import UnsupportedOperatorError
from tinyengine_tflite.ops.activation import tflm_logistic_table
from tflite_micro.python.tflite_micro import runtime

L = keras.layers

SOFTMAX_CASES = {
    # name: (input shape, build)
    "softmax_10": ((10,), lambda x: L.Softmax()(x)),
    "softmax_rank4": ((3, 5, 7), lambda x: L.Softmax()(x)),
    "softmax_after_dense": ((23,), lambda x: L.Softmax()(L.Dense(13)(x))),
    "softmax_single_class": ((4, 1), lambda x: L.Softmax()(x)),
}


@pytest.mark.parametrize("case", sorted(SOFTMAX_CASES))
def test_softmax(case):
    shape, build = SOFTMAX_CASES[case]
    model = int8_tflite(build, [shape], case, representative_scale=3.0)
    assert "SOFTMAX" in op_names(model)
    assert_bit_exact(model)


@pytest.mark.parametrize("scale,zp,beta,depth", [
    (0.0625, -3, 1.0, 17),
    (0.3, 12, 0.5, 33),
    (0.011, -100, 2.5, 7),      # fine input scale, large beta
    (1e-3, 5, 0.1, 9),          # tiny beta * scale: many differences pass diff_min
    (40.5, 3, 1.0, 9),          # huge scale: the multiplier saturates, only the row maximum is non-zero
    (7.5, 0, 1.0, 1000),        # 1000 classes
])
def test_softmax_parameters(scale, zp, beta, depth):
    shape = (2, 3, depth) if depth < 100 else (1, depth)
    model = single_op_model("SOFTMAX", [(shape, scale, zp, None)], (shape, 1 / 256, -128), {"beta": beta})
    assert_bit_exact(model)


@pytest.mark.parametrize("scale,zp,beta,depth", [(0.3, 12, 0.5, 33), (0.011, -100, 2.5, 7), (0.05, 0, 1.0, 4)])
def test_softmax_many_rows(scale, zp, beta, depth):
    """512 rows of random logits: enough outputs to expose an approximation that is off in rare cases (two
    Newton-Raphson steps for the reciprocal instead of three change about one output in 10^4)."""
    shape = (1, 512, depth)
    model = single_op_model("SOFTMAX", [(shape, scale, zp, None)], (shape, 1 / 256, -128), {"beta": beta})
    x = np.random.default_rng(depth).integers(-128, 128, shape).astype(np.int8)
    ours = run_tinyengine(model, [x])[0]
    np.testing.assert_array_equal(ours, run_litert(model, [x])[0])
    tflm = runtime.Interpreter.from_bytes(model, arena_size=1 << 18)
    tflm.set_input(x, 0)
    tflm.invoke()
    np.testing.assert_array_equal(ours, tflm.get_output(0))


def test_softmax_large_uniform_row():
    """A row whose exps sum to 512 or more makes TFLite's kernels stop on a failed check (the final shift
    would exceed 31), so there is no reference output; the engine writes the rounded probabilities, which
    are all below 1/512 and so quantize to -128. The rows next to it are unaffected."""
    shape = (3, 700)
    model = single_op_model("SOFTMAX", [(shape, 0.1, 0, None)], (shape, 1 / 256, -128), {"beta": 1.0})
    x = np.zeros(shape, dtype=np.int8)
    x[0, :] = 5
    x[2, :] = -128
    x[1, :40] = 127
    x[1, 40:] = -128                    # row 1: 40 large equal values, the rest far below
    ours = run_tinyengine(model, [x])[0]
    assert (ours[0] == -128).all() and (ours[2] == -128).all()
    # Row 1 alone is well within TFLite's range: compare it with the references.
    one = single_op_model("SOFTMAX", [((1, 700), 0.1, 0, None)], ((1, 700), 1 / 256, -128), {"beta": 1.0})
    ref = run_litert(one, [x[1:2]])[0]
    np.testing.assert_array_equal(ours[1:2], ref)
    assert (ref[0, :40] == -122).all()  # 1/40 of 256 is 6.4


LOGISTIC_CASES = {
    "sigmoid_rank4": ((9, 7, 5), lambda x: L.Activation("sigmoid")(x)),
    "sigmoid_after_conv": ((6, 5, 3), lambda x: L.Activation("sigmoid")(L.Conv2D(7, 3, padding="same")(x))),
    "sigmoid_vector": ((31,), lambda x: L.Activation("sigmoid")(x)),
}


@pytest.mark.parametrize("case", sorted(LOGISTIC_CASES))
def test_logistic(case):
    shape, build = LOGISTIC_CASES[case]
    model = int8_tflite(build, [shape], case, representative_scale=4.0)
    assert "LOGISTIC" in op_names(model)
    assert_bit_exact(model)


@pytest.mark.parametrize("scale,zp", [(0.0003, 0), (0.004, -128), (0.02, 37), (0.0625, -20), (0.31, 127),
                                      (0.9, 3)])
def test_logistic_table(scale, zp):
    """Every int8 input value, over input scales from almost-linear to saturating (exp overflows float32)."""
    shape = (1, 256)
    model = single_op_model("LOGISTIC", [(shape, scale, zp, None)], (shape, 1 / 256, -128))
    x = np.arange(-128, 128, dtype=np.int8).reshape(shape)
    litert, tflm = run_litert(model, [x])[0], run_tflm(model, [x], 1)[0]
    np.testing.assert_array_equal(run_tinyengine(model, [x])[0], litert)
    np.testing.assert_array_equal(run_tinyengine(model, [x], "tflm")[0], tflm)


@pytest.mark.parametrize("scale,zp", [(0.08690798282623291, 108), (0.08112727850675583, 77),
                                      (0.009672473184764385, -55), (0.006125034764409065, -40)])
def test_logistic_follows_reference(scale, zp):
    """Input quantizations where 1 / (1 + exp(-x)) * 256 lands so close to a rounding tie that evaluating it in
    float32 (LiteRT's LUTPopulate) and in TFLM's fixed point give tables one LSB apart on a few inputs: the
    default conversion equals LiteRT's reference resolver, the reference="tflm" one TFLM."""
    shape = (1, 256)
    model = single_op_model("LOGISTIC", [(shape, scale, zp, None)], (shape, 1 / 256, -128))
    x = np.arange(-128, 128, dtype=np.int8).reshape(shape)
    litert, tflm = run_litert(model, [x])[0], run_tflm(model, [x], 1)[0]
    diff = litert.astype(int) - tflm.astype(int)
    assert 1 <= np.count_nonzero(diff) <= 4 and np.abs(diff).max() == 1
    np.testing.assert_array_equal(run_tinyengine(model, [x])[0], litert)
    np.testing.assert_array_equal(run_tinyengine(model, [x], "tflm")[0], tflm)


def test_tflm_logistic_table_over_scales():
    """The compile-time emulation of TFLM's fixed-point logistic against TFLM itself, every int8 input, over
    input scales from 2^-28 (the smallest TFLM's radius computation handles) to 16 and zero points across the
    range (no C build: the table is the whole int8 kernel)."""
    rng = np.random.default_rng(11)
    scales = [2.0 ** -28, 1e-6, 1.0, 2.0, 16.0] + list(10 ** rng.uniform(-4, 0.5, 20))
    shape = (1, 256)
    x = np.arange(-128, 128, dtype=np.int8).reshape(shape)
    for scale in scales:
        zp = int(rng.integers(-128, 128))
        model = single_op_model("LOGISTIC", [(shape, scale, zp, None)], (shape, 1 / 256, -128))
        table = tflm_logistic_table(scale, zp)
        np.testing.assert_array_equal(table[x.view(np.uint8)], run_tflm(model, [x], 1)[0], err_msg=f"{scale} {zp}")


def test_tflm_logistic_refuses_tiny_input_scale():
    shape = (1, 8)
    model = single_op_model("LOGISTIC", [(shape, 1e-9, 0, None)], (shape, 1 / 256, -128))
    tinyengine_tflite.compile_model(model)
    with pytest.raises(UnsupportedOperatorError, match="TFLM's fixed-point logistic"):
        tinyengine_tflite.compile_model(model, reference="tflm")


def test_activations_run_in_place():
    def build(x):
        return L.Softmax()(L.Dense(12)(L.Activation("sigmoid")(L.Dense(9)(x))))
    model = int8_tflite(build, [(15,)], "sigmoid_softmax_chain")
    lowered, sched = tinyengine_tflite.compile_model(model)
    ops = {layer.op: i for i, layer in enumerate(lowered.layers)}
    assert {ops["LOGISTIC"], ops["SOFTMAX"]} <= sched.inplace
    assert_bit_exact(model)


def test_refused_output_quantization():
    shape = (1, 8)
    model = single_op_model("SOFTMAX", [(shape, 0.1, 0, None)], (shape, 1 / 256, 0), {"beta": 1.0})
    with pytest.raises(UnsupportedOperatorError, match=r"operator 0 \(SOFTMAX\).*must be 1/256 and -128"):
        tinyengine_tflite.compile_model(model)
    model = single_op_model("LOGISTIC", [(shape, 0.1, 0, None)], (shape, 1 / 128, -128))
    with pytest.raises(UnsupportedOperatorError, match=r"operator 0 \(LOGISTIC\).*must be 1/256 and -128"):
        tinyengine_tflite.compile_model(model)
