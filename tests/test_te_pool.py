"""AVERAGE_POOL_2D, MAX_POOL_2D and MEAN against the TFLite reference kernels (LiteRT BUILTIN_REF and TFLM)."""
import numpy as np
import pytest
from modelgen import first_op, int8_tflite, op_names, patch_model
from reference import assert_bit_exact
from test_te_dsp import emulated_dsp  # noqa: F401 (the fixture: kernels built with their DSP path emulated)

import tinyengine_tflite
from keras_mcunet._tf import keras, tf
from tinyengine_tflite.reader import read_model

L = keras.layers


POOL_CASES = {
    # name: (input shape, layer factory)
    "avg3x3_s2_same": ((9, 7, 5), lambda: L.AveragePooling2D(3, 2, "same")),
    "avg2x3_valid": ((8, 11, 3), lambda: L.AveragePooling2D((2, 3), (2, 1), "valid")),
    "avg_global": ((5, 7, 19), lambda: L.AveragePooling2D((5, 7))),
    "avg3x3_s1_same_35ch": ((6, 5, 35), lambda: L.AveragePooling2D(3, 1, "same")),
    "avg4x4_s3_same": ((10, 11, 4), lambda: L.AveragePooling2D(4, 3, "same")),
    "avg_global_289px": ((17, 17, 9), lambda: L.AveragePooling2D(17)),     # past the DSP path's 256 pixels
    "max2x2_s2_same": ((7, 9, 16), lambda: L.MaxPooling2D(2, 2, "same")),
    "max3x3_s2_same_33ch": ((9, 7, 33), lambda: L.MaxPooling2D(3, 2, "same")),
    "max3x2_valid": ((7, 10, 3), lambda: L.MaxPooling2D((3, 2), (1, 2), "valid")),
}


@pytest.mark.parametrize("case", sorted(POOL_CASES))
def test_pool(case):
    shape, layer = POOL_CASES[case]
    model = int8_tflite(lambda x: layer()(x), [shape], f"pool_{case}")
    assert ("AVERAGE_POOL_2D" if case.startswith("avg") else "MAX_POOL_2D") in op_names(model)
    assert_bit_exact(model)


def _with_activation(model: bytes, op_name: str, act: int) -> bytes:
    index = first_op(model, op_name).index

    def edit(m):
        m.subgraphs[0].operators[index].builtinOptions.fusedActivationFunction = act
    return patch_model(model, edit)


@pytest.mark.parametrize("op_name,act", [("AVERAGE_POOL_2D", 2), ("MAX_POOL_2D", 3), ("MAX_POOL_2D", 2)])
def test_pool_fused_activation(op_name, act):
    """The converter does not fuse activations into pools, so the option is set in the flatbuffer:
    RELU_N1_TO_1 (2) and RELU6 (3) clamp the output to their quantized range as TFLite's kernels do."""
    layer = L.AveragePooling2D if op_name == "AVERAGE_POOL_2D" else L.MaxPooling2D
    base = int8_tflite(lambda x: layer(3, 2, "same")(x), [(9, 8, 6)], f"act_{op_name}")
    model = _with_activation(base, op_name, act)
    assert first_op(model, op_name).options["fused_activation_function"] == act
    assert_bit_exact(model)
    if act == 2:   # the clamp is active: outputs lie within q(-1)..q(1) of the output quantization
        it = tinyengine_tflite.Interpreter(model_content=model)
        it.allocate_tensors()
        d = it.get_input_details()[0]
        it.set_tensor(d["index"], np.random.default_rng(0).integers(-128, 128, d["shape"]).astype(np.int8))
        it.invoke()
        o = it.get_output_details()[0]
        scale, zp = o["quantization"]
        y = it.get_tensor(o["index"]).astype(int)
        assert y.min() >= zp + round(-1 / scale) - 1 and y.max() <= zp + round(1 / scale) + 1


def test_pool_quantization_mismatch_is_refused():
    base = int8_tflite(lambda x: L.AveragePooling2D(2)(x), [(6, 6, 3)], "pool_mismatch")
    out_t = first_op(base, "AVERAGE_POOL_2D").outputs[0]

    def edit(m):
        m.subgraphs[0].tensors[out_t].quantization.scale = [0.5]
    with pytest.raises(tinyengine_tflite.UnsupportedOperatorError, match="AVERAGE_POOL_2D.*quantization"):
        tinyengine_tflite.compile_model(patch_model(base, edit))


MEAN_CASES = {
    # name: (input shape, build); the converter gives MEAN's output its own scale and zero point
    "gap": ((7, 9, 5), lambda x: L.GlobalAveragePooling2D()(x)),
    "gap_keepdims": ((7, 9, 5), lambda x: L.GlobalAveragePooling2D(keepdims=True)(x)),
    "gap_3x3x256": ((3, 3, 256), lambda x: L.GlobalAveragePooling2D()(x)),
    "axis3": ((4, 5, 6), lambda x: tf.reduce_mean(x, axis=3)),
    "axis2_keepdims": ((4, 5, 6), lambda x: tf.reduce_mean(x, axis=2, keepdims=True)),
    "axis1_3": ((4, 5, 6), lambda x: tf.reduce_mean(x, axis=[1, 3])),
    "axis_last_3d": ((6, 10), lambda x: tf.reduce_mean(x, axis=-1)),
    "axis1_3d_keepdims": ((6, 10), lambda x: tf.reduce_mean(x, axis=1, keepdims=True)),
    "gap_400px": ((20, 20, 6), lambda x: L.GlobalAveragePooling2D()(x)),  # past the DSP path's 256 values
}


@pytest.mark.parametrize("case", sorted(MEAN_CASES))
def test_mean(case):
    """Different input and output quantization (the converter's choice)."""
    shape, build = MEAN_CASES[case]
    model = int8_tflite(build, [shape], f"mean_{case}")
    assert "MEAN" in op_names(model)
    assert_bit_exact(model)


@pytest.mark.parametrize("case", ["gap", "axis3", "axis2_keepdims", "axis1_3"])
def test_mean_same_quantization(case):
    """Output quantization set equal to the input's (as in the MCUNet models): the references still take the
    integer QuantizedMeanOrSum path (rounded), not the truncating float-free Mean."""
    shape, build = MEAN_CASES[case]
    base = int8_tflite(build, [shape], f"mean_{case}")
    op = first_op(base, "MEAN")
    g = read_model(base)
    scale, zp = g.tensors[op.inputs[0]].qparams()

    def edit(m):
        q = m.subgraphs[0].tensors[op.outputs[0]].quantization
        q.scale, q.zeroPoint = [scale], [zp]
    model = patch_model(base, edit)
    assert read_model(model).tensors[op.outputs[0]].qparams() == (scale, zp)
    assert_bit_exact(model)


@pytest.mark.parametrize("case", ["pool:avg3x3_s2_same", "pool:avg_global", "pool:avg3x3_s1_same_35ch",
                                  "pool:avg_global_289px", "mean:gap", "mean:gap_3x3x256", "mean:axis2_keepdims",
                                  "mean:axis1_3", "mean:axis3", "mean:gap_400px"])
def test_dsp_path(case, emulated_dsp):
    """The DSP path (4 channels summed per load in 16-bit lanes, windows of up to 256 values; the rest portable)
    through the host emulation of the intrinsics: channel tails, clipped windows, strided and contiguous
    reductions."""
    kind, name = case.split(":")
    if kind == "pool":
        shape, layer = POOL_CASES[name]
        model = int8_tflite(lambda x: layer()(x), [shape], f"pool_{name}")
    else:
        shape, build = MEAN_CASES[name]
        model = int8_tflite(build, [shape], f"mean_{name}")
    assert_bit_exact(model, seeds=(0, 1), tflm=False)


def test_transpose_then_means():
    """The MCUNet head: TRANSPOSE to NCHW, then MEAN over the last axis twice."""
    def build(x):
        x = L.Conv2D(7, 1)(x)
        x = tf.transpose(x, [0, 3, 1, 2])
        return tf.reduce_mean(tf.reduce_mean(x, axis=3), axis=2)
    model = int8_tflite(build, [(3, 5, 4)], "mean_nchw_head")
    assert op_names(model).count("MEAN") == 2 and "TRANSPOSE" in op_names(model)
    assert_bit_exact(model)


def test_mean_non_constant_axis_is_refused():
    base = int8_tflite(MEAN_CASES["axis3"][1], [MEAN_CASES["axis3"][0]], "mean_axis3")
    axis_t = first_op(base, "MEAN").inputs[1]

    def edit(m):   # the axis tensor loses its data: it becomes a runtime tensor
        m.subgraphs[0].tensors[axis_t].buffer = 0
    with pytest.raises(tinyengine_tflite.UnsupportedOperatorError, match="MEAN.*axis.*constant"):
        tinyengine_tflite.compile_model(patch_model(base, edit))
