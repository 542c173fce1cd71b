"""BROADCAST_TO (int8, constant shape): a strided copy with zero strides, bit-exact with LiteRT's reference
kernels and TFLite Micro."""
import numpy as np
import pytest
from modelgen import patch_model
from opgraph import T, Op, graph_model
from test_te_svdf import _litert, _run, _run_tflm

import tinyengine_tflite
from tinyengine_tflite.schema import fb


def broadcast_model(in_shape, out_shape, q=(0.05, -7)) -> bytes:
    """An ADD of the input to itself (so BROADCAST_TO reads an activation), then BROADCAST_TO out_shape
    (operator version 2: LiteRT registers BROADCAST_TO from version 2 on)."""
    model = graph_model([T(in_shape, "INT8", *q), T(in_shape, "INT8", *q),
                         T((len(out_shape),), "INT32", data=np.array(out_shape)), T(out_shape, "INT8", *q)],
                        [Op("ADD", [0, 0], [1]), Op("BROADCAST_TO", [1, 2], [3])], [0], [3])

    def version_2(m):
        for code in m.operatorCodes:
            if code.builtinCode == fb.BuiltinOperator.BROADCAST_TO:
                code.version = 2
    return patch_model(model, version_2)


@pytest.mark.parametrize("in_shape,out_shape", [((3, 1, 5), (3, 4, 5)),
                                                pytest.param((5,), (2, 3, 5), marks=pytest.mark.slow),
                                                pytest.param((1, 3), (4, 3), marks=pytest.mark.slow),
                                                pytest.param((2, 1, 1, 3), (2, 2, 5, 3), marks=pytest.mark.slow)])
def test_broadcast_to_matches_both_references(in_shape, out_shape):
    from tflite_micro.python.tflite_micro import runtime
    model = broadcast_model(in_shape, out_shape)
    ours = tinyengine_tflite.Interpreter(model_content=model)
    ours.allocate_tensors()
    ref, tflm = _litert(model), runtime.Interpreter.from_bytes(model)
    rng = np.random.default_rng(len(out_shape))
    for _ in range(3):
        x = rng.integers(-128, 128, in_shape).astype(np.int8)
        got = _run(ours, x)
        assert got.shape == out_shape
        np.testing.assert_array_equal(got, _run(ref, x))
        np.testing.assert_array_equal(got, _run_tflm(tflm, x))


def test_broadcast_to_incompatible_shape_refused():
    with pytest.raises(tinyengine_tflite.ConversionError, match=r"cannot broadcast the input shape \[3, 2\]"):
        tinyengine_tflite.Interpreter(model_content=broadcast_model((3, 2), (3, 4)))
