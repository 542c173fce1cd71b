"""REDUCE_MAX, REDUCE_MIN and SUM against the TFLite reference kernels (LiteRT BUILTIN_REF and TFLite Micro):
single and several axes, negative axes, every axis, keep_dims or not, odd sizes."""
import numpy as np
import pytest
from modelgen import int8_tflite, op_names
from reference import (_invoke, assert_bit_exact, assert_equal_bytes, engines, random_inputs, run_litert, run_tflm,
                       same_code)

import tinyengine_tflite
from keras_mcunet._tf import keras, tf
from tinyengine_tflite.ir import Graph, Operator, Tensor
from tinyengine_tflite.lower import lower_graph

L = keras.layers

CASES = {
    # name: (input shapes, build, operator expected in the flatbuffer)
    "max_channels": ([(5, 7, 6)], lambda x: tf.reduce_max(x, axis=-1), "REDUCE_MAX"),
    "max_hw_keep": ([(5, 7, 6)], lambda x: tf.reduce_max(x, axis=[1, 2], keepdims=True), "REDUCE_MAX"),
    "max_rows_neg": ([(9, 3, 4)], lambda x: tf.reduce_max(x, axis=-3), "REDUCE_MAX"),
    "max_all": ([(3, 5, 2)], lambda x: tf.reduce_max(x, axis=[1, 2, 3], keepdims=True), "REDUCE_MAX"),
    "min_channels_keep": ([(4, 3, 7)], lambda x: tf.reduce_min(x, axis=3, keepdims=True), "REDUCE_MIN"),
    "min_h_and_c": ([(5, 4, 3)], lambda x: tf.reduce_min(x, axis=[1, 3]), "REDUCE_MIN"),
    "min_3d_time": ([(11, 6)], lambda x: tf.reduce_min(L.Dense(6)(x), axis=1), "REDUCE_MIN"),
    "sum_channels": ([(5, 7, 6)], lambda x: tf.reduce_sum(x, axis=-1), "SUM"),
    "sum_hw_keep": ([(5, 3, 4)], lambda x: tf.reduce_sum(x, axis=[1, 2], keepdims=True), "SUM"),
    "sum_w_and_c": ([(4, 6, 3)], lambda x: tf.reduce_sum(x, axis=[-2, -1]), "SUM"),
    "sum_3d_time": ([(9, 5)], lambda x: tf.reduce_sum(x, axis=1), "SUM"),
}


@pytest.mark.parametrize("case", sorted(c for c in CASES if not c.startswith("sum")))
def test_reduce_max_min(case):
    shapes, build, op = CASES[case]
    model = int8_tflite(build, shapes, f"reduce_{case}")
    assert op in op_names(model)
    assert_bit_exact(model)


@pytest.mark.parametrize("case", sorted(c for c in CASES if c.startswith("sum")))
def test_sum(case):
    """SUM equals TFLite Micro's, in both conversions. LiteRT's reference SUM (BUILTIN_REF) is not a reference
    here: for int8 with rescaling its outputs are mostly -1, unrelated to the sums (checked below, so that a
    fixed LiteRT shows up)."""
    shapes, build, op = CASES[case]
    model = int8_tflite(build, shapes, f"reduce_{case}")
    assert op in op_names(model)
    ours = engines(model, tflm=False)["litert"]
    tflm = tinyengine_tflite.Interpreter(model_content=model, reference="tflm")
    assert same_code(ours._model, tflm._model)
    broken = 0
    for seed in (0, 1, 2):
        inputs = random_inputs(ours.get_input_details(), seed)
        got = _invoke(ours, inputs)
        assert_equal_bytes(got, run_tflm(model, inputs, len(got)), "tflm", seed)
        broken += not np.array_equal(got[0], run_litert(model, inputs)[0])
    assert broken == 3, "LiteRT's reference SUM now agrees: test it with assert_bit_exact"


def test_reduce_of_a_constant_folds():
    """REDUCE_MAX of a constant feeds a CONCATENATION as a constant operand: no layer of its own."""
    c = np.array([[[1, -5, 7], [3, 9, -2]]], np.int8)

    def t(i, shape, dtype="int8", data=None, q=True):
        return Tensor(i, f"t{i}", tuple(shape), dtype, np.array([0.05], np.float32) if q else None,
                      np.array([3]) if q else None, 0, data)
    g = Graph("t", [t(0, (1, 3)), t(1, (1, 2, 3), data=c), t(2, (1,), "int32", np.array([-2], np.int32), q=False),
                    t(3, (1, 3)), t(4, (1, 6))],
              [Operator(0, "REDUCE_MAX", [1, 2], [3], {"keep_dims": False}),
               Operator(1, "CONCATENATION", [0, 3], [4], {"axis": 1, "fused_activation_function": 0})], [0], [4])
    lowered = lower_graph(g, "t")
    assert [layer.op for layer in lowered.layers] == ["CONCATENATION"]
    blob = next(k for k in lowered.layers[0].consts if k.name == "blob")
    assert blob.data.tolist() == [3, 9, 7]
