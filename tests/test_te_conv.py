"""CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED against the TFLite reference kernels."""
import flatbuffers
import numpy as np
import pytest
from modelgen import int8_tflite, op_names
from reference import assert_bit_exact, run_litert, run_tflm, run_tinyengine

from keras_mcunet._tf import keras
from tinyengine_tflite.quant import quantize_multiplier
from tinyengine_tflite.schema import fb

L = keras.layers

CONV_CASES = {
    # name: (input shape, layer factory)
    "conv3x3_same_relu6": ((9, 7, 5), lambda: L.Conv2D(6, 3, padding="same", activation="relu6")),
    "conv1x1": ((6, 6, 13), lambda: L.Conv2D(7, 1)),
    "conv_s2_valid": ((11, 9, 3), lambda: L.Conv2D(8, 3, strides=2, padding="valid", activation="relu")),
    "conv_s2_same_5x5": ((10, 13, 4), lambda: L.Conv2D(5, 5, strides=2, padding="same")),
    "conv_dilated": ((12, 10, 3), lambda: L.Conv2D(4, 3, dilation_rate=2, padding="same")),
    "conv_rect_kernel": ((8, 9, 3), lambda: L.Conv2D(3, (1, 3), strides=(1, 2), padding="same")),
    "conv1x1_s2": ((8, 8, 6), lambda: L.Conv2D(5, 1, strides=2)),
}

DW_CASES = {
    "dw3x3_same": ((9, 7, 5), lambda: L.DepthwiseConv2D(3, padding="same", activation="relu6")),
    "dw7x7_same": ((10, 11, 3), lambda: L.DepthwiseConv2D(7, padding="same")),
    "dw_s2_valid": ((11, 9, 7), lambda: L.DepthwiseConv2D(3, strides=2, padding="valid")),
    "dw_s2_same_5x5": ((12, 10, 4), lambda: L.DepthwiseConv2D(5, strides=2, padding="same", activation="relu")),
    "dw_depth_mult2": ((8, 6, 3), lambda: L.DepthwiseConv2D(3, depth_multiplier=2, padding="same")),
    "dw_dilated": ((12, 12, 4), lambda: L.DepthwiseConv2D(3, dilation_rate=2, padding="same")),
}


@pytest.mark.parametrize("case", sorted(CONV_CASES))
def test_conv2d(case):
    shape, layer = CONV_CASES[case]
    model = int8_tflite(lambda x: layer()(x), [shape], case)
    assert "CONV_2D" in op_names(model)
    assert_bit_exact(model)


@pytest.mark.parametrize("case", sorted(DW_CASES))
def test_depthwise(case):
    shape, layer = DW_CASES[case]
    model = int8_tflite(lambda x: layer()(x), [shape], case)
    assert "DEPTHWISE_CONV_2D" in op_names(model)
    assert_bit_exact(model)


def test_depthwise_in_place_chain():
    """Two in-place depthwise layers in a row, between convolutions: outputs still bit-exact."""
    def build(x):
        x = L.Conv2D(8, 1, activation="relu6")(x)
        x = L.DepthwiseConv2D(3, padding="same", activation="relu6")(x)
        x = L.DepthwiseConv2D(5, strides=2, padding="same")(x)
        return L.Conv2D(4, 1)(x)
    model = int8_tflite(build, [(10, 9, 3)], "dw_chain")
    import tinyengine_tflite
    lowered, sched = tinyengine_tflite.compile_model(model)
    assert len(sched.inplace) == 2
    assert_bit_exact(model)


@pytest.mark.parametrize("units,shape", [(10, (32,)), (3, (17,)), (6, (4, 5))])
def test_fully_connected(units, shape):
    """The converter writes per-channel FULLY_CONNECTED weights. LiteRT's reference kernel rounds the
    requantization once, TFLM's twice: the default conversion equals LiteRT, reference="tflm" equals TFLM."""
    model = int8_tflite(lambda x: L.Dense(units, activation="relu")(L.Flatten()(x) if len(shape) > 1 else x),
                        [shape], f"fc_{units}_{len(shape)}")
    assert "FULLY_CONNECTED" in op_names(model)
    assert_bit_exact(model)


def fc_model(batches, weights, bias, in_q, w_scales, out_q) -> bytes:
    """A one-FULLY_CONNECTED int8 model: input (batches, depth) with quantization in_q = (scale, zero point),
    int8 weights (units, depth) with one scale or one per unit, int32 bias (scale input scale * weight scale),
    output (batches, units) with quantization out_q."""
    weights = np.asarray(weights, dtype=np.int8)
    units, depth = weights.shape
    w_scales = np.asarray(w_scales, dtype=np.float32)
    m = fb.ModelT()
    m.version = 3
    m.buffers = [fb.BufferT()]
    code = fb.OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = fb.BuiltinOperator.FULLY_CONNECTED
    code.version = 5 if w_scales.size > 1 else 4
    m.operatorCodes = [code]
    sg = fb.SubGraphT()
    sg.tensors = []

    def tensor(name, shape, ttype, scales, zero_points, data=None):
        t = fb.TensorT()
        t.name, t.shape, t.type = name, list(shape), ttype
        t.quantization = fb.QuantizationParametersT()
        t.quantization.scale = [float(v) for v in np.atleast_1d(scales)]
        t.quantization.zeroPoint = [int(v) for v in np.atleast_1d(zero_points)]
        buf = fb.BufferT()
        if data is not None:
            buf.data = np.ascontiguousarray(data).reshape(-1).view(np.uint8).tolist()
        m.buffers.append(buf)
        t.buffer = len(m.buffers) - 1
        sg.tensors.append(t)
        return len(sg.tensors) - 1

    zeros = np.zeros(w_scales.size, dtype=np.int64)
    ins = [tensor("in", (batches, depth), fb.TensorType.INT8, in_q[0], in_q[1]),
           tensor("weights", (units, depth), fb.TensorType.INT8, w_scales, zeros, weights),
           tensor("bias", (units,), fb.TensorType.INT32, np.float32(in_q[0]) * w_scales, zeros,
                  np.asarray(bias, dtype=np.int32))]
    out = tensor("out", (batches, units), fb.TensorType.INT8, out_q[0], out_q[1])
    o = fb.OperatorT()
    o.opcodeIndex, o.inputs, o.outputs = 0, ins, [out]
    o.builtinOptionsType = fb.BuiltinOptions.FullyConnectedOptions
    o.builtinOptions = fb.FullyConnectedOptionsT()
    sg.operators = [o]
    sg.inputs, sg.outputs = [ins[0]], [out]
    m.subgraphs = [sg]
    b = flatbuffers.Builder(1024)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


@pytest.mark.parametrize("per_channel,n_differ", [(False, 12), (True, 19)])
def test_fully_connected_rounding_follows_reference(per_channel, n_differ):
    """Every int8 input through 16 one-weight units: LiteRT's kernel requantizes with one rounding and TFLM's
    with two, so the references differ on some outputs; each conversion equals its own reference."""
    rng = np.random.default_rng(3)
    w = rng.integers(-127, 128, (16, 1))
    w_scales = rng.uniform(0.0005, 0.002, 16) if per_channel else [0.0011]
    model = fc_model(256, w, rng.integers(-3000, 3000, 16), (0.05, 3), w_scales, (0.01, -5))
    x = np.arange(-128, 128, dtype=np.int8).reshape(256, 1)
    litert, tflm = run_litert(model, [x])[0], run_tflm(model, [x], 1)[0]
    diff = litert.astype(int) - tflm.astype(int)
    assert np.count_nonzero(diff) == n_differ and np.abs(diff).max() == 1
    np.testing.assert_array_equal(run_tinyengine(model, [x])[0], litert)
    np.testing.assert_array_equal(run_tinyengine(model, [x], "tflm")[0], tflm)


def test_fully_connected_per_tensor_multiplier_in_double():
    """Per-tensor FULLY_CONNECTED: both references form input_scale * weight_scale / output_scale in double (as
    per channel). For these scales, forming the product in float32 gives another multiplier, and the biases are
    accumulators whose output that changes (the first two under single rounding, the last two under double
    rounding): both conversions equal their references there."""
    si, sw, so = 0.020394286, 0.00077534816, 1.0387944
    f32 = np.float32
    assert quantize_multiplier(float(f32(si) * f32(sw)) / float(f32(so))) != \
        quantize_multiplier(float(f32(si)) * float(f32(sw)) / float(f32(so)))
    bias = [-8178877, -8113183, -8310264, -8244570]
    model = fc_model(1, np.ones((4, 1)), bias, (si, 0), [sw], (so, 0))
    x = np.zeros((1, 1), dtype=np.int8)
    np.testing.assert_array_equal(run_tinyengine(model, [x])[0], run_litert(model, [x])[0])
    np.testing.assert_array_equal(run_tinyengine(model, [x], "tflm")[0], run_tflm(model, [x], 1)[0])
    np.testing.assert_array_equal(run_litert(model, [x])[0], [[-124, -123, -126, -125]])
    np.testing.assert_array_equal(run_tflm(model, [x], 1)[0], [[-125, -124, -126, -125]])


def test_float_io_conv():
    model = int8_tflite(lambda x: L.Conv2D(4, 3, padding="same")(x), [(6, 5, 3)], "float_io_conv", float_io=True)
    names = op_names(model)
    assert names[0] == "QUANTIZE" and names[-1] == "DEQUANTIZE"
    assert_bit_exact(model)
