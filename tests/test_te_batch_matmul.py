"""BATCH_MATMUL (int8): both operands activations or a constant rhs, adj_x / adj_y, broadcast batch
dimensions; bit-exact with LiteRT's reference kernels and, in reference="tflm" mode, TFLite Micro."""
import numpy as np
import pytest
from modelgen import int8_tflite, op_names
from opgraph import T, Op, graph_model
from reference import assert_bit_exact

import tinyengine_tflite


def matmul_model(lhs_shape, rhs_shape, adj_x=False, adj_y=False, const_rhs=False,
                 q=((0.05, -7), (0.031, 12), (0.4, 3))) -> bytes:
    """BATCH_MATMUL of the model input(s): rhs a second input, or a constant with const_rhs."""
    rows, depth = (lhs_shape[-1], lhs_shape[-2]) if adj_x else (lhs_shape[-2], lhs_shape[-1])
    cols = rhs_shape[-2] if adj_y else rhs_shape[-1]
    out_shape = tuple(np.broadcast_shapes(lhs_shape[:-2], rhs_shape[:-2])) + (rows, cols)
    rhs_data = np.random.default_rng(7).integers(-128, 128, rhs_shape) if const_rhs else None
    return graph_model([T(lhs_shape, "INT8", *q[0]), T(rhs_shape, "INT8", *q[1], data=rhs_data),
                        T(out_shape, "INT8", *q[2])],
                       [Op("BATCH_MATMUL", [0, 1], [2], {"adjX": adj_x, "adjY": adj_y})],
                       [0] if const_rhs else [0, 1], [2])


@pytest.mark.slow
def test_keras_attention_scores_match_both_references():
    """tf.matmul(q, k, transpose_b=True) of two Keras activations (an attention's scores), as converted."""
    import tensorflow as tf
    import tf_keras as keras
    L = keras.layers

    def build(q, k):
        return L.Lambda(lambda t: tf.matmul(t[0], t[1], transpose_b=True))([L.Dense(6)(q), L.Dense(6)(k)])
    model = int8_tflite(build, [(5, 4), (7, 4)], "batch_matmul_keras_scores")
    assert "BATCH_MATMUL" in op_names(model)
    assert_bit_exact(model)


def test_batch_matmul_rounds_as_both_references():
    """Enough outputs (864 per input, 6 inputs) that rounding once instead of twice, as TFLite's
    MultiplyByQuantizedMultiplier does, would differ somewhere."""
    assert_bit_exact(matmul_model((2, 1, 12, 24), (3, 24, 12)), seeds=range(6))


# (lhs shape, rhs shape, adj_x, adj_y, constant rhs): broadcast batch dimensions of different ranks, both
# transpositions, a constant rhs, rank 2
@pytest.mark.parametrize("lhs,rhs,adj_x,adj_y,const", [
    pytest.param((2, 1, 3, 5), (3, 5, 4), False, False, False, marks=pytest.mark.slow),
    pytest.param((3, 5, 4), (5, 2), True, False, True, marks=pytest.mark.slow),
    pytest.param((1, 4, 7), (2, 3, 6, 7), False, True, False, marks=pytest.mark.slow),
    pytest.param((2, 9, 3), (2, 5, 9), True, True, False, marks=pytest.mark.slow),
    pytest.param((7, 13), (13, 3), False, False, True, marks=pytest.mark.slow)])
def test_batch_matmul_matches_both_references(lhs, rhs, adj_x, adj_y, const):
    assert_bit_exact(matmul_model(lhs, rhs, adj_x, adj_y, const))


def test_batch_matmul_mismatched_depth_refused():
    with pytest.raises(tinyengine_tflite.ConversionError, match=r"BATCH_MATMUL.*do not share the inner dimension "
                                                                r"\(5 != 4\)"):
        tinyengine_tflite.Interpreter(model_content=matmul_model((3, 5), (4, 2)))
