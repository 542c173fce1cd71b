"""SPLIT, SPLIT_V and UNPACK against the TFLite reference kernels (LiteRT BUILTIN_REF and TFLite Micro): every
axis, negative axes, uneven sizes, and constant inputs folded at compile time."""
import numpy as np
import pytest
from modelgen import int8_tflite, op_model, op_names
from reference import assert_bit_exact

import tinyengine_tflite
from keras_mcunet._tf import keras, tf
from tinyengine_tflite.ir import Graph, Operator, Tensor
from tinyengine_tflite.lower import lower_graph

L = keras.layers


def _conv_all(parts):
    """A 1x1 convolution on every part, so that no output is a bare slice of the input (and every part is used)."""
    return [L.Conv2D(2, 1)(p) if len(p.shape) == 4 else L.Dense(2)(p) for p in parts]


CASES = {
    # name: (input shapes, build, operator expected in the flatbuffer)
    "split_channels": ([(5, 7, 6)], lambda x: _conv_all(tf.split(x, 3, axis=-1)), "SPLIT"),
    "split_rows": ([(6, 5, 3)], lambda x: tf.split(x, 2, axis=1), "SPLIT"),
    "split_cols_neg": ([(3, 9, 2)], lambda x: tf.split(x, 3, axis=-2), "SPLIT"),
    "split_3d": ([(4, 10)], lambda x: tf.split(L.Dense(10)(x), 5, axis=2), "SPLIT"),
    "split_v_channels": ([(5, 3, 7)], lambda x: _conv_all(tf.split(x, [1, 4, 2], axis=3)), "SPLIT_V"),
    "split_v_inferred": ([(7, 5, 3)], lambda x: tf.split(x, [2, -1, 1], axis=1), "SPLIT_V"),
    "split_v_2d": ([(11,)], lambda x: tf.split(L.Dense(11)(x), [3, 8], axis=-1), "SPLIT_V"),
    "unpack_time": ([(5, 6)], lambda x: [L.Dense(3)(t) for t in tf.unstack(x, axis=1)], "UNPACK"),
    "unpack_last": ([(4, 3)], lambda x: tf.unstack(L.Dense(3)(x), axis=-1), "UNPACK"),
    "unpack_4d_axis2": ([(2, 3, 5)], lambda x: tf.unstack(x, axis=2), "UNPACK"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_split(case):
    shapes, build, op = CASES[case]
    assert_bit_exact(op_model(build, shapes, f"split_{case}", op))


def _tensor(i, shape, dtype="int8", data=None, q=True):
    return Tensor(i, f"t{i}", tuple(shape), dtype, np.array([0.05], np.float32) if q else None,
                  np.array([3]) if q else None, 0, data)


def test_split_of_a_constant_folds():
    """SPLIT_V of a constant folds; its parts feed a CONCATENATION as constant operands (no layer for the split)."""
    c = np.arange(12, dtype=np.int8).reshape(1, 3, 4)
    g = Graph("t", [_tensor(0, (1, 3, 1)), _tensor(1, (1, 3, 4), data=c),
                    _tensor(2, (2,), "int32", np.array([3, -1], np.int32), q=False),
                    _tensor(3, (), "int32", np.array(-1, np.int32), q=False),
                    _tensor(4, (1, 3, 3)), _tensor(5, (1, 3, 1)), _tensor(6, (1, 3, 2))],
              [Operator(0, "SPLIT_V", [1, 2, 3], [4, 5], {"num_splits": 2}),
               Operator(1, "CONCATENATION", [5, 0], [6], {"axis": 2, "fused_activation_function": 0})], [0], [6])
    lowered = lower_graph(g, "t")
    assert [layer.op for layer in lowered.layers] == ["CONCATENATION"]
    blob = next(k for k in lowered.layers[0].consts if k.name == "blob")
    assert np.array_equal(blob.data, c[0, :, 3])


def test_uneven_split_is_refused():
    g = Graph("t", [_tensor(0, (1, 5)), _tensor(1, (), "int32", np.array(1, np.int32), q=False),
                    _tensor(2, (1, 2)), _tensor(3, (1, 2))],
              [Operator(0, "SPLIT", [1, 0], [2, 3], {"num_splits": 2})], [0], [2, 3])
    with pytest.raises(tinyengine_tflite.ConversionError, match="SPLIT.*equal parts"):
        lower_graph(g, "t")


def _pipeline(x):
    a, b = tf.split(x, 2, axis=-1)
    r = tf.image.resize(a, (9, 11), method="bilinear")
    t = L.Conv2DTranspose(3, 3, strides=2, padding="same")(b)
    g = tf.gather(t, [2, 0, 1], axis=-1)
    return [L.Conv2D(2, 1)(tf.nn.space_to_depth(r[:, :8, :10], 2)), tf.reduce_max(g, axis=[1, 2])]


@pytest.mark.cortexm
def test_new_operators_downstream(tmp_path):
    """SPLIT, RESIZE_BILINEAR, TRANSPOSE_CONV, GATHER, SPACE_TO_DEPTH and REDUCE_MAX in one model: bit-exact,
    planned (the report lists every layer and its live bytes, peak at or above the lower bound), the generated C
    builds warning-free for Cortex-M4, and the emulated Cortex-M4 output equals the host's."""
    import shutil
    import subprocess

    from tinyengine_tflite.cortexm import run_on_cortexm
    model = int8_tflite(_pipeline, [(6, 8, 4)], "split_pipeline")
    names = set(op_names(model))
    assert {"SPLIT", "RESIZE_BILINEAR", "TRANSPOSE_CONV", "GATHER", "SPACE_TO_DEPTH", "REDUCE_MAX"} <= names
    assert_bit_exact(model)
    report = tinyengine_tflite.convert(model, tmp_path / "c")
    ops = [r.op for r in report.layers]
    assert {"SPLIT", "RESIZE_BILINEAR", "TRANSPOSE_CONV", "GATHER", "SPACE_TO_DEPTH", "REDUCE_MAX"} <= set(ops)
    assert report.peak_sram_bytes >= report.lower_bound_bytes > 0 and all(r.live_bytes > 0 for r in report.layers)
    if shutil.which("arm-none-eabi-gcc") is None:
        pytest.fail("arm-none-eabi-gcc is not installed")
    srcs = [str(p) for p in (tmp_path / "c").glob("*.c")]
    r = subprocess.run(["arm-none-eabi-gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-mcpu=cortex-m4",
                        "-mthumb", "-Os", "-c", *srcs], cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    run = run_on_cortexm(model, part="stm32f746", seed=1)
    assert run.status == "ok" and run.output_matches_host is True, run
