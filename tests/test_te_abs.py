"""ABS (int8): a lookup table of the references' quantized Abs, bit-exact with LiteRT's reference kernels and,
in reference="tflm" mode, TFLite Micro, on every int8 input value."""
import numpy as np
import pytest
from opgraph import T, Op, graph_model
from test_te_svdf import _litert, _run, _run_tflm

import tinyengine_tflite


def abs_model(in_q, out_q, shape=(1, 256)) -> bytes:
    """ABS of the model input."""
    return graph_model([T(shape, "INT8", *in_q), T(shape, "INT8", *out_q)], [Op("ABS", [0], [1])], [0], [1])


# (input quantization, output quantization): equal scales (no requantization), a larger and a smaller output
# scale, zero points on both sides
@pytest.mark.parametrize("in_q,out_q", [((0.05, 3), (0.031, -100)),
                                        pytest.param((0.05, -7), (0.05, -128), marks=pytest.mark.slow),
                                        pytest.param((0.013, 60), (0.07, -128), marks=pytest.mark.slow)])
def test_abs_matches_both_references(in_q, out_q):
    from tflite_micro.python.tflite_micro import runtime
    model = abs_model(in_q, out_q)
    x = np.arange(-128, 128, dtype=np.int8).reshape(1, 256)
    ours = tinyengine_tflite.Interpreter(model_content=model)
    ours.allocate_tensors()
    np.testing.assert_array_equal(_run(ours, x), _run(_litert(model), x))
    ours_m = tinyengine_tflite.Interpreter(model_content=model, reference="tflm")
    ours_m.allocate_tensors()
    np.testing.assert_array_equal(_run(ours_m, x), _run_tflm(runtime.Interpreter.from_bytes(model), x))
