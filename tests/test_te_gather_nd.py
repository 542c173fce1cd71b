"""GATHER_ND (int8 params, constant int32 indices): a strided copy when the rows are evenly spaced, a row gather
otherwise; bit-exact with LiteRT's reference kernels and TFLite Micro."""
import numpy as np
import pytest
from opgraph import T, Op, graph_model
from test_te_svdf import _litert, _run, _run_tflm

import tinyengine_tflite


def gather_nd_model(shape, indices, q=(0.03, 11)) -> bytes:
    """An ADD of the input to itself (so GATHER_ND reads an activation), then GATHER_ND with constant indices."""
    indices = np.asarray(indices)
    out = tuple(indices.shape[:-1]) + tuple(shape[indices.shape[-1]:])
    return graph_model([T(shape, "INT8", *q), T(shape, "INT8", *q), T(indices.shape, "INT32", data=indices),
                        T(out, "INT8", *q)],
                       [Op("ADD", [0, 0], [1]), Op("GATHER_ND", [1, 2], [3])], [0], [3])


SLOW = pytest.mark.slow


@pytest.mark.parametrize("shape,indices,kernel", [
    ((4, 5, 3), [[3, 1], [0, 4], [3, 1]], "te_gather_s8"),                          # rows in any order
    pytest.param((4, 5), [[1], [2], [3]], "te_strided_copy_s8", marks=SLOW),       # evenly spaced: a copy
    pytest.param((3, 4, 2), [[[2, 3, 1]], [[0, 0, 0]], [[0, 1, 1]]], "te_gather_s8", marks=SLOW),  # elements
    pytest.param((2, 6), [[1]], "te_strided_copy_s8", marks=SLOW),
])
def test_gather_nd_matches_both_references(shape, indices, kernel):
    from tflite_micro.python.tflite_micro import runtime
    model = gather_nd_model(shape, indices)
    ours = tinyengine_tflite.Interpreter(model_content=model)
    ours.allocate_tensors()
    assert ours._model.layers[-1].kernel == kernel
    ref, tflm = _litert(model), runtime.Interpreter.from_bytes(model)
    rng = np.random.default_rng(len(shape))
    for _ in range(3):
        x = rng.integers(-128, 128, shape).astype(np.int8)
        got = _run(ours, x)
        np.testing.assert_array_equal(got, _run(ref, x))
        np.testing.assert_array_equal(got, _run_tflm(tflm, x))


def test_gather_nd_index_out_of_range_refused():
    with pytest.raises(tinyengine_tflite.ConversionError, match=r"indices \[\[0, 5\]\] are outside"):
        tinyengine_tflite.Interpreter(model_content=gather_nd_model((4, 5, 3), [[0, 5]]))
