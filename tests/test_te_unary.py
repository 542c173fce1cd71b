"""int8 unary operators run as lookup tables (tinyengine_tflite/ops/lut.py) against LiteRT's reference kernels
and TFLite Micro, on every int8 input value at once (the table's every entry), for edge and ordinary
quantization parameters; and in a converter-made model.

Where a reference lacks the operator, the other is the judge: TFLM registers neither RELU_N1_TO_1 nor
RELU_0_TO_1; LiteRT's reference resolver has no ELU, so LiteRT's builtin ELU kernel (without the default
XNNPACK delegate, which computes ELU its own way) stands for it. RSQRT is defined for non-negative inputs only
(the references stop with an error otherwise), so its inputs are clipped at the zero point."""
import numpy as np
import pytest
from modelgen import int8_tflite, op_names
from opgraph import Op, T, all_int8_values, graph_model, unary_model
from reference import assert_bit_exact, run_litert, run_tflm, run_tinyengine

import tinyengine_tflite
from keras_mcunet._tf import keras, tf

L = keras.layers

CASES = [
    # op, (input scale, zero point), (output scale, zero point), options
    ("RELU", (0.05, -3), (0.04, -128), {}),
    ("RELU", (0.05, 10), (0.05, 10), {}),
    ("RELU", (0.3, 127), (0.001, -128), {}),                      # saturates
    ("RELU6", (0.05, -3), (0.03, -128), {}),
    ("RELU6", (0.05, 7), (0.05, 7), {}),                          # the converter's equal quantization
    ("RELU6", (0.1, -128), (0.0235, -128), {}),
    ("RELU_N1_TO_1", (0.02, 5), (0.01, 0), {}),
    ("RELU_0_TO_1", (0.01, -20), (0.005, -128), {}),
    ("LEAKY_RELU", (0.05, -3), (0.04, 10), {"alpha": 0.1}),
    ("LEAKY_RELU", (0.1, 20), (0.1, 20), {"alpha": 0.3}),
    ("LEAKY_RELU", (0.0123, -128), (0.5, 127), {"alpha": 2.5}),    # alpha > 1, saturating
    # The references form these multipliers differently (LiteRT in float32, TFLM in double): one output differs.
    ("RELU", (0.002202864270657301, 17), (0.0016854129498824477, -8), {}),
    ("LEAKY_RELU", (0.26426851749420166, 20), (0.01601109467446804, -9), {"alpha": 0.04878101497888565}),
    ("HARD_SWISH", (0.05, 3), (0.04, -10), {}),
    ("HARD_SWISH", (0.02, -7), (0.021, -100), {}),
    ("HARD_SWISH", (0.2, 0), (0.9, -128), {}),
    ("TANH", (0.03, 2), (1 / 128, 0), {}),
    ("TANH", (0.11, -30), (1 / 128, 0), {}),
    ("TANH", (0.002, 100), (1 / 128, 0), {}),
    ("ELU", (0.05, 3), (0.04, 40), {}),
    ("ELU", (0.02, -100), (0.013, 70), {}),
    ("RSQRT", (0.01, -128), (0.1, -128), {}),
    ("RSQRT", (0.5, -20), (0.02, -100), {}),
    ("RSQRT", (3e-5, 0), (2.0, 3), {}),
]


def _litert_builtin(model, inputs):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType
    it = Interpreter(model_content=model,
                     experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    it.allocate_tensors()
    for d, x in zip(it.get_input_details(), inputs):
        it.set_tensor(d["index"], x)
    it.invoke()
    return [it.get_tensor(d["index"]) for d in it.get_output_details()]


def _side_by_side(cases, shape=(1, 16, 17)):
    """One model running every case on its own input (one C build per reference for all of them), and the
    inputs: every int8 value (RSQRT's clipped at the zero point)."""
    tensors, ops, inputs = [], [], []
    for k, (op, in_q, out_q, options) in enumerate(cases):
        tensors += [T(shape, "INT8", *in_q), T(shape, "INT8", *out_q)]
        ops.append(Op(op, [2 * k], [2 * k + 1], options))
        x = all_int8_values(shape)
        inputs.append(np.maximum(x, in_q[1]).astype(np.int8) if op == "RSQRT" else x)
    n = len(cases)
    return graph_model(tensors, ops, [2 * k for k in range(n)], [2 * k + 1 for k in range(n)]), inputs


# The judges of each group of cases (see the module docstring).
GROUPS = {"both": ({"litert": run_litert, "tflm": run_tflm}, lambda op: op not in ("ELU", "RELU_N1_TO_1",
                                                                                   "RELU_0_TO_1")),
          "elu": ({"litert": _litert_builtin, "tflm": run_tflm}, lambda op: op == "ELU"),
          "litert_only": ({"litert": run_litert}, lambda op: op in ("RELU_N1_TO_1", "RELU_0_TO_1"))}


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_unary_every_value(group):
    judges, member = GROUPS[group]
    cases = [c for c in CASES if member(c[0])]
    model, inputs = _side_by_side(cases)
    for reference, run in judges.items():
        ours, ref = run_tinyengine(model, inputs, reference), run(model, inputs)
        for case, a, b in zip(cases, ours, ref):
            np.testing.assert_array_equal(a, b, err_msg=f"{reference}: {case}")


def test_tanh_tflm_output_quantization_refused():
    model = unary_model("TANH", (1, 8), (0.03, 0), (0.01, 0))
    with pytest.raises(tinyengine_tflite.errors.UnsupportedOperatorError, match="1/128"):
        tinyengine_tflite.Interpreter(model_content=model, reference="tflm")


def test_converter_activations():
    """A converter-made chain of activations the converter does not fuse into the convolutions."""
    def build(x):
        y = L.MaxPooling2D(2)(L.Conv2D(6, 3, padding="same")(x))
        y = L.LeakyReLU(0.15)(y)
        y = L.Conv2D(5, 1)(y)
        y = y * tf.nn.relu6(y + 3.0) / 6.0          # the converter's HARD_SWISH pattern
        return L.Activation("tanh")(L.Conv2D(3, 1)(y))
    model = int8_tflite(build, [(9, 7, 3)], "unary_chain", representative_scale=2.0)
    names = set(op_names(model))
    assert {"LEAKY_RELU", "HARD_SWISH", "TANH"} <= names, names   # (the converter leaves ELU float)
    assert_bit_exact(model)


@pytest.mark.parametrize("op,in_q,out_q,options", [c for c in CASES if c[0] in ("RELU", "LEAKY_RELU")][-2:])
def test_references_differ(op, in_q, out_q, options):
    """The pinned cases above do tell the references apart: the two conversions' tables differ."""
    model = unary_model(op, (1, 4), in_q, out_q, options)
    tables = [tinyengine_tflite.Interpreter(model_content=model, reference=r)._model.layers[0].consts[0].data
              for r in ("litert", "tflm")]
    assert not np.array_equal(*tables)
