"""SUB, SQUARED_DIFFERENCE, MAXIMUM, MINIMUM and PRELU (ops/binary.py, kernels/te_binary.c) against LiteRT's
reference kernels and TFLite Micro: written graphs with chosen quantizations, broadcasting in every position
and constant operands first or second, run side by side in one model (one C build per reference); a
converter-made model; the kernels' strict host and Cortex-M4 builds; in-place planning."""
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from modelgen import int8_tflite, op_names
from opgraph import Op, T, graph_model
from reference import assert_bit_exact, run_litert, run_tflm, run_tinyengine

import tinyengine_tflite
from keras_mcunet._tf import keras, tf
from tinyengine_tflite.compiler import compile_model

L = keras.layers
KERNELS = Path(tinyengine_tflite.__file__).parent / "kernels"
RNG = np.random.default_rng(12)


def _const(shape):
    return RNG.integers(-128, 128, shape).astype(np.int8)


CASES = [
    # op, (shape, (scale, zp), constant or None) per input, (output shape, scale, zp), options
    ("SUB", ((1, 5, 7, 3), (0.05, 3), None), ((1, 5, 7, 3), (0.07, -5), None), (0.09, 2), {}),
    ("SUB", ((1, 5, 7, 3), (0.05, 3), None), ((3,), (0.02, -5), None), (0.06, 2), {"fusedActivationFunction": 1}),
    ("SUB", ((3,), (0.05, 3), None), ((1, 5, 7, 3), (0.02, -5), None), (0.06, 2), {"fusedActivationFunction": 3}),
    ("SUB", ((1, 5, 7, 3), (0.05, 3), None), ((1, 1, 7, 1), (0.02, -5), _const((1, 1, 7, 1))), (0.06, 2), {}),
    ("SUB", ((1, 1, 1, 3), (0.01, 0), _const((1, 1, 1, 3))), ((1, 5, 7, 3), (0.03, 9), None), (0.04, -1), {}),
    ("SUB", ((2, 1, 9), (0.3, -128), None), ((1, 4, 1), (0.001, 127), None), (0.0021, 0), {}),  # both broadcast
    ("SUB", ((1, 4, 9), (0.5 * 2.0 ** -23, 10), None), ((1, 4, 9), (0.5, -7), None), (0.6, 1), {}),  # general
    ("SQUARED_DIFFERENCE", ((1, 5, 7, 3), (0.05, 3), None), ((1, 5, 1, 3), (0.07, -5), None), (0.09, -128), {}),
    ("SQUARED_DIFFERENCE", ((1, 4, 9), (0.5, 3), None), ((1, 4, 9), (0.2, -5), None), (0.01, -128), {}),
    ("SQUARED_DIFFERENCE", ((1, 4, 9), (0.01, 3), None), ((9,), (0.01, -5), _const((9,))), (3e-4, -100), {}),
    ("MAXIMUM", ((1, 5, 7, 3), (0.05, 3), None), ((1, 5, 1, 3), (0.05, 3), None), (0.05, 3), {}),
    ("MAXIMUM", ((1,), (0.05, 3), _const((1,))), ((1, 6, 5), (0.05, 3), None), (0.05, 3), {}),
    ("MINIMUM", ((1, 5, 7, 3), (0.05, 3), None), ((1,), (0.05, 3), _const((1,))), (0.05, 3), {}),
    ("MINIMUM", ((1, 1, 7, 3), (0.02, -9), None), ((1, 5, 1, 3), (0.02, -9), None), (0.02, -9), {}),
    ("PRELU", ((1, 5, 7, 3), (0.05, 3), None), ((1, 1, 3), (0.01, -20), _const((1, 1, 3))), (0.04, -2), {}),
    ("PRELU", ((1, 5, 7, 3), (0.3, -100), None), ((1, 1, 3), (0.002, 0), _const((1, 1, 3))), (0.01, 5), {}),
    ("PRELU", ((1, 6, 11), (0.02, 10), None), ((1, 6, 11), (0.05, -3), None), (0.02, 10), {}),  # activation alpha
]


def _side_by_side(cases):
    """One model with every case on its own inputs and output."""
    tensors, ops, inputs, outputs = [], [], [], []
    for op, a, b, (out_scale, out_zp), options in cases:
        ids = []
        for shape, q, data in (a, b):
            tensors.append(T(shape, "INT8", *q, data=data))
            ids.append(len(tensors) - 1)
            if data is None:
                inputs.append(ids[-1])
        out_shape = tuple(np.broadcast_shapes(a[0], b[0]))
        tensors.append(T(out_shape, "INT8", out_scale, out_zp))
        outputs.append(len(tensors) - 1)
        ops.append(Op(op, ids, [outputs[-1]], options))
    return graph_model(tensors, ops, inputs, outputs)


def assert_side_by_side(cases, reference, run, seeds=range(3)) -> list[np.ndarray]:
    """The cases side by side in one model, equal to the reference's outputs on random inputs of each seed;
    returns the last seed's outputs."""
    model = _side_by_side(cases)
    it = tinyengine_tflite.Interpreter(model_content=model, reference=reference)
    it.allocate_tensors()
    for seed in seeds:
        rng = np.random.default_rng(seed)
        inputs = [rng.integers(-128, 128, tuple(d["shape"])).astype(np.int8) for d in it.get_input_details()]
        for d, x in zip(it.get_input_details(), inputs):
            it.set_tensor(d["index"], x)
        it.invoke()
        ours = [it.get_tensor(d["index"]) for d in it.get_output_details()]
        for case, a, b in zip(cases, ours, run(model, inputs)):
            np.testing.assert_array_equal(a, b, err_msg=f"{reference}, seed {seed}: {case[0]} {case[1][0]} "
                                                        f"{case[2][0]}")
    return ours


@pytest.mark.parametrize("reference,run", [("litert", run_litert), ("tflm", run_tflm)])
def test_binary_cases(reference, run):
    assert_side_by_side(CASES, reference, run)


def test_sub_kernel_variants():
    """SUB takes ADD's fast form (te_sub_s8) where te_add_s8's preconditions hold, te_sub_s8_general elsewhere (input
    scales 2^23 apart); test_binary_cases checks both against the references."""
    subs = [c for c in CASES if c[0] == "SUB"]
    lowered, _ = compile_model(_side_by_side(subs))
    assert [layer.kernel for layer in lowered.layers] == ["te_sub_s8"] * (len(subs) - 1) + ["te_sub_s8_general"]


def test_prelu_references_differ():
    """Every (input, alpha) pair once, at scales where LiteRT's float32 and TFLM's double multipliers differ."""
    from tflite_micro.python.tflite_micro import runtime
    alpha = np.arange(-128, 128, dtype=np.int8).reshape(1, 1, 256)
    x = np.repeat(alpha.reshape(1, 256, 1), 256, axis=2)
    tensors = [T((1, 256, 256), "INT8", 0.007843127474188805, 100),
               T((1, 1, 256), "INT8", 0.16798481345176697, 0, alpha), T((1, 256, 256), "INT8", 0.1467217206954956, 0)]
    model = graph_model(tensors, [Op("PRELU", [0, 1], [2])], [0], [2])
    tflm = runtime.Interpreter.from_bytes(model, arena_size=1 << 18)
    tflm.set_input(x, 0)
    tflm.invoke()
    refs = {"litert": run_litert(model, [x])[0], "tflm": tflm.get_output(0)}
    assert not np.array_equal(refs["litert"], refs["tflm"])
    for reference, ref in refs.items():
        np.testing.assert_array_equal(run_tinyengine(model, [x], reference)[0], ref, err_msg=reference)


def test_converter_binary_ops():
    def build(x, y):
        a = L.Conv2D(4, 3, padding="same")(x)
        d = L.Subtract()([a, y])
        m = L.Maximum()([d, y * 0.5])
        n = L.Minimum()([m, a])
        p = L.PReLU(shared_axes=[1, 2])(n)
        return [p, tf.math.squared_difference(a, y), 1.5 - a]
    model = int8_tflite(build, [(7, 9, 3), (7, 9, 4)], "binary_ops")
    assert {"SUB", "MAXIMUM", "MINIMUM", "PRELU", "SQUARED_DIFFERENCE"} <= set(op_names(model)), op_names(model)
    assert_bit_exact(model)


def test_sub_in_place_when_first_operand_dies():
    shape = (1, 6, 5, 4)
    tensors = [T(shape, "INT8", 0.1, 0), T(shape, "INT8", 0.1, 0), T(shape, "INT8", 0.05, 1),
               T(shape, "INT8", 0.2, 0), T(shape, "INT8", 0.3, -4)]
    # SUB(t1, t2): t1 is read again by the ADD, t2 (the MUL's output) dies at the SUB.
    ops = [Op("MUL", [0, 1], [2]), Op("SUB", [1, 2], [3]), Op("ADD", [3, 1], [4])]
    model = graph_model(tensors, ops, [0, 1], [4])
    compiled, sched = compile_model(model)
    sub = next(i for i, layer in enumerate(compiled.layers) if layer.op == "SUB")
    assert compiled.layers[sub].params["negate"] == 1       # the dying operand went first
    assert sub in sched.inplace
    x = [_const(shape), _const(shape)]
    np.testing.assert_array_equal(run_tinyengine(model, x)[0], run_litert(model, x)[0])


def test_prelu_input_must_have_the_output_shape():
    tensors = [T((1, 1, 3), "INT8", 0.1, 0), T((1, 4, 3), "INT8", 0.1, 0), T((1, 4, 3), "INT8", 0.1, 0)]
    model = graph_model(tensors, [Op("PRELU", [0, 1], [2])], [0, 1], [2])
    with pytest.raises(tinyengine_tflite.errors.UnsupportedOperatorError, match="PRELU"):
        tinyengine_tflite.Interpreter(model_content=model)


@pytest.mark.parametrize("compiler,flags", [
    ("gcc", ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-O2"]),
    ("arm-none-eabi-gcc", ["-std=c99", "-Wall", "-Wextra", "-Werror", "-mcpu=cortex-m4", "-mthumb", "-Os"]),
])
def test_kernels_build_warning_free(compiler, flags, tmp_path):
    if shutil.which(compiler) is None:
        pytest.fail(f"{compiler} is not installed")
    for src in ("te_binary.c", "te_io.c", "te_activation.c"):
        r = subprocess.run([compiler, *flags, "-I", str(KERNELS), "-c", str(KERNELS / src), "-o",
                            str(tmp_path / (src + ".o"))], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr


@pytest.mark.cortexm
def test_cortex_m4_build_matches_host(tmp_path):
    """A chain of this issue's operators (binary, table, row kernels) built for Cortex-M4 and emulated gives the
    host's outputs (which the tests above compare with both references)."""
    from tinyengine_tflite.cortexm import run_on_cortexm
    if shutil.which("arm-none-eabi-gcc") is None:
        pytest.fail("arm-none-eabi-gcc is not installed")
    s = (1, 4, 6, 8)
    tensors = [T(s, "INT8", 0.05, -3), T(s, "INT8", 0.04, 5), T(s, "INT8", 0.06, 0), T(s, "INT8", 0.06, 0),
               T((1, 1, 8), "INT8", 0.01, 0, _const((1, 1, 8))), T(s, "INT8", 0.05, 2), T(s, "INT8", 0.03, -1),
               T(s, "INT8", 0.02, -128), T(s, "INT8", 16 / 256, 127), T(s, "INT8", 1 / 128, 0),
               T(s, "INT8", 1 / 128, 0)]
    ops = [Op("LEAKY_RELU", [0], [1], {"alpha": 0.2}), Op("SUB", [1, 0], [2]), Op("MAXIMUM", [2, 0], [3]),
           Op("PRELU", [3, 4], [5]), Op("HARD_SWISH", [5], [6]), Op("SQUARED_DIFFERENCE", [6, 0], [7]),
           Op("LOG_SOFTMAX", [7], [8]), Op("L2_NORMALIZATION", [6], [9]), Op("TANH", [5], [10])]
    run = run_on_cortexm(graph_model(tensors, ops, [0], [8, 9, 10]), part="stm32h743", work_dir=tmp_path)
    assert run.status == "ok", run.reason
    assert run.output_matches_host is True
