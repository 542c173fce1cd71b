"""PAD folded into the following convolution (TinyEngine's trick): bit-exact, and the padded copy is gone."""
import pytest
from modelgen import int8_tflite, op_names
from reference import SUITE_DIR, assert_bit_exact

import tinyengine_tflite
from keras_mcunet._tf import keras

L = keras.layers

CASES = {
    "pad_conv": ((9, 8, 3), lambda x: L.Conv2D(5, 3, strides=2, padding="valid")(L.ZeroPadding2D(1)(x))),
    "pad_dw_asym": ((10, 7, 6), lambda x: L.DepthwiseConv2D(3, strides=2, padding="valid")(
        L.ZeroPadding2D(((0, 1), (2, 1)))(x))),
    "pad_dw7": ((12, 12, 4), lambda x: L.DepthwiseConv2D(7, padding="valid", activation="relu6")(
        L.ZeroPadding2D(((3, 2), (1, 3)))(x))),
    "pad_pointwise": ((6, 5, 4), lambda x: L.Conv2D(3, 1, padding="valid")(L.ZeroPadding2D(((1, 2), (0, 1)))(x))),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_pad_is_fused_and_bit_exact(case):
    shape, build = CASES[case]
    model = int8_tflite(build, [shape], case)
    assert "PAD" in op_names(model)
    lowered, _ = tinyengine_tflite.compile_model(model)
    assert [layer.op for layer in lowered.layers if layer.op == "PAD"] == []
    assert_bit_exact(model)


def test_pad_with_two_consumers_stays():
    def build(x):
        p = L.ZeroPadding2D(((1, 0), (0, 1)))(x)
        return L.Add()([L.Conv2D(4, 2, padding="valid")(p), L.Conv2D(4, 2, padding="valid")(p)])
    model = int8_tflite(build, [(6, 6, 2)], "pad_shared")
    lowered, _ = tinyengine_tflite.compile_model(model)
    assert [layer.op for layer in lowered.layers].count("PAD") == 1
    assert_bit_exact(model)


def test_mcunet_vww_meets_tinyengine_memory():
    """TinyEngine's published peak for this model is 92 KB; without PAD fusion the planner needed 161 KB."""
    report = tinyengine_tflite.convert(SUITE_DIR / "mcunet_vww_tinyengine.tflite")
    assert report.peak_sram_bytes <= 92 * 1024
    assert "PAD" not in [layer.op for layer in report.layers]
