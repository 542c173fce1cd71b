"""Convolution and depthwise channels whose output never changes (a dead ReLU channel: a bias near +-2^30, a shift near -31)
become zero weights with a bias that requantizes to their value (tinyengine_tflite.ops.conv.constant_channels),
so that their layer keeps the kernels' fast requantization; the outputs stay TFLite's, bit for bit."""
import numpy as np
import pytest
from reference import SUITE_DIR, assert_bit_exact, shared_missing

from tinyengine_tflite.compiler import compile_model
from tinyengine_tflite.ops.conv import CONSTANT_BIAS_SHIFT, CONSTANT_MULT, CONSTANT_SHIFT, constant_channels
from tinyengine_tflite.ops.lut import mbqm

OUT_ZP, ACT = -128, (-128, 127)


def _requant(acc: int, mult: int, shift: int) -> int:
    return min(max(mbqm(acc, mult, shift) + OUT_ZP, ACT[0]), ACT[1])


def _channels():
    rng = np.random.default_rng(0)
    depth = 72
    filt = rng.integers(-127, 128, size=(6, depth))
    # a live channel, dead ones stuck low (bias -2^30) and high (+2^30, tiny multiplier: a value above the
    # zero point), a zero multiplier, one saturated high whatever the input, a live one with a small multiplier
    bias = np.array([1200, -2 ** 30, 2 ** 30, 5000, 2 ** 29, 0], dtype=np.int64)
    mult = np.array([1_500_000_000, 1_700_000_000, 1_320_764_593, 0, 1_500_000_000, 1_000_000_000])
    shift = np.array([-9, -31, -27, -2, -20, -14])
    return filt, bias, mult, shift


def test_constant_channels_are_those_whose_every_input_gives_one_value():
    filt, bias, mult, shift = _channels()
    const, value = constant_channels(filt, bias, mult, shift, OUT_ZP, *ACT)
    assert const.tolist() == [False, True, True, True, True, False]
    rng = np.random.default_rng(1)
    inputs = np.concatenate([rng.integers(-128, 128, size=(300, filt.shape[1])),
                             np.where(filt > 0, 127, -128)[None, 0], np.where(filt > 0, -128, 127)[None, 0]])
    for c in range(len(bias)):
        outputs = {_requant(int(bias[c] + filt[c] @ x), int(mult[c]), int(shift[c])) for x in inputs}
        if const[c]:
            assert outputs == {value[c]}
            # the replacement: zero weights, CONSTANT_* requantization
            assert _requant(int((value[c] - OUT_ZP) << CONSTANT_BIAS_SHIFT), CONSTANT_MULT, CONSTANT_SHIFT) == value[c]
        else:
            assert len(outputs) > 1
    assert OUT_ZP < value[2] < ACT[1] and value[4] == ACT[1]   # dead high: neither the zero point nor saturated


@pytest.mark.skipif(bool(shared_missing("models")), reason=str(shared_missing("models")))
@pytest.mark.parametrize("name", ["mlperf_vww_96_int8", "mcunet_vww_tinyengine"])
def test_dead_channels_leave_every_layer_on_the_fast_requantization(name):
    """MLPerf Tiny's person detection has dead channels in 9 of its 14 convolutions, MCUNet's in its depthwise
    layers (shifts of -23): after lowering, every channel of every convolution and depthwise convolution meets
    the kernels' SMMLAR conditions (te_conv.c's te_conv_smml_fits, te_depthwise.c's te_dw_smml_fits: shift in
    [-22, -1], |bias| far below 2^30), and the model stays bit-exact with LiteRT's and TFLM's reference kernels."""
    model = (SUITE_DIR / f"{name}.tflite").read_bytes()
    lowered, _ = compile_model(model)
    layers = [layer for layer in lowered.layers if layer.op in ("CONV_2D", "DEPTHWISE_CONV_2D")]
    for layer in layers:
        consts = {c.name: np.asarray(c.data) for c in layer.consts}
        assert consts["shift"].min() >= -22 and consts["shift"].max() <= -1, (layer.op, layer.op_index)
        assert np.abs(consts["bias"]).max() < 2 ** 29
    assert_bit_exact(model, seeds=(0, 1))
