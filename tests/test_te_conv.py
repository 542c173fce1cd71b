"""CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED against the TFLite reference kernels."""
import pytest
from modelgen import int8_tflite, op_names
from reference import assert_bit_exact

from keras_mcunet._tf import keras

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
    requantization once, TFLM's per-channel kernel twice: they can differ by one LSB, and the engine follows
    LiteRT (per-tensor FULLY_CONNECTED, as in the suite models, matches both; see test_suite)."""
    model = int8_tflite(lambda x: L.Dense(units, activation="relu")(L.Flatten()(x) if len(shape) > 1 else x),
                        [shape], f"fc_{units}_{len(shape)}")
    assert "FULLY_CONNECTED" in op_names(model)
    assert_bit_exact(model, tflm=False)
    import tinyengine_tflite
    from reference import random_inputs, run_tflm, run_tinyengine
    details = tinyengine_tflite.Interpreter(model_content=model).get_input_details()
    for seed in range(3):
        x = random_inputs(details, seed)
        diff = run_tinyengine(model, x)[0].astype(int) - run_tflm(model, x, 1)[0].astype(int)
        assert abs(diff).max() <= 1


def test_float_io_conv():
    model = int8_tflite(lambda x: L.Conv2D(4, 3, padding="same")(x), [(6, 5, 3)], "float_io_conv", float_io=True)
    names = op_names(model)
    assert names[0] == "QUANTIZE" and names[-1] == "DEQUANTIZE"
    assert_bit_exact(model)
