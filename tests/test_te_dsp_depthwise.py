"""The depthwise DSP path's channel-group ring (te_depthwise.c, te_dw_ring4: 4 channels gathered at once into a
ring of int16 rows, per-channel SMLAD tiles; 3x3 / 5x5 / 7x7, stride.w 1 or 2, depth multiplier 1), compared with
==: on the host (emulated intrinsics, -O2) against the portable build and a NumPy model of TFLite's reference
kernel, for every kernel size and stride, padding (SAME, VALID, one-sided, past the kernel), channel counts that
are not a multiple of 4 (the tail goes through the per-channel path), rows whose last tile has 1-3 outputs, the
full int8 activation range (one SSAT) and a clamped one, requantization outside te_quant_fast's range (the ring
is not taken), normal and in place; its scratch (te_dw_ring4_bytes) against the planner's formula through ctypes;
and on the emulated Cortex-M4 (the real DSP instructions) against the host build."""
import ctypes
import shutil
import subprocess

import numpy as np
import pytest
from modelgen import int8_tflite
from test_te_depthwise import _reference, _run, build_libraries

from keras_mcunet._tf import keras
from tinyengine_tflite.build import compiler
from tinyengine_tflite.codegen import KERNEL_DIR
from tinyengine_tflite.ops.conv import depthwise_buffer_size, depthwise_inplace_buffer_size, depthwise_layer

L = keras.layers
ARM_GCC = "arm-none-eabi-gcc"
BUILDS = {"portable": ["-O2"], "dsp": ["-O2", "-DTE_EMULATE_DSP"], "dsp_size": ["-Os", "-DTE_EMULATE_DSP"]}

# (in h, w, c), k, stride, (pad top, pad left)
RING_CASES = [
    ((7, 9, 4), 3, 1, (1, 1)),          # one group; 4 + 4 + 1 outputs a row
    ((6, 6, 8), 3, 1, (1, 1)),          # two groups; 4 + 2
    ((5, 7, 5), 3, 1, (1, 1)),          # a tail channel; 4 + 3
    ((3, 3, 12), 3, 1, (1, 1)),         # a 3x3 plane (a tile of 3)
    ((25, 5, 9), 3, 1, (1, 1)),         # kws's shape, odd channels
    ((8, 10, 7), 3, 1, (0, 0)),         # VALID
    ((6, 7, 4), 3, 1, (0, 1)),          # one-sided padding
    ((9, 13, 6), 3, 2, (1, 1)),         # stride 2: 4 + 2 + 1
    ((10, 10, 8), 3, 2, (0, 0)),        # stride 2 VALID (padding only past the input)
    ((12, 11, 13), 3, 2, (1, 1)),       # 6 outputs a row, 3 tail channels
    ((5, 5, 4), 3, 2, (1, 1)),          # a tile of 3 with stride 2
    ((11, 6, 9), 5, 1, (2, 2)),
    ((5, 5, 8), 5, 2, (2, 2)),          # mcunet's 5x5 -> 3x3
    ((10, 10, 4), 5, 1, (2, 2)),
    ((9, 11, 5), 5, 2, (2, 2)),
    ((10, 7, 6), 7, 1, (3, 3)),
    ((3, 3, 8), 7, 1, (3, 3)),          # window wider than the input
    ((13, 12, 5), 7, 2, (3, 3)),
    ((10, 10, 4), 7, 2, (3, 3)),        # mcunet's 7x7 stride 2
    ((6, 5, 4), 3, 1, (3, 0)),          # padding past the kernel: the in-place kernel goes through the plane
]


@pytest.fixture(scope="module")
def libraries(tmp_path_factory):
    return build_libraries(tmp_path_factory, BUILDS)


def _case_id(case):
    (ih, iw, ic), k, s, (pt, pl) = case
    return f"{ih}x{iw}x{ic}_k{k}_s{s}_p{pt}{pl}"


def _layer_and_data(spec, seed, full_range, fast_quant):
    (ih, iw, ic), k, stride, pads = spec
    rng = np.random.default_rng(seed)
    oh = (ih + 2 * pads[0] - k) // stride + 1
    ow = (iw + 2 * pads[1] - k) // stride + 1
    zp_in, zp_out = int(rng.integers(-128, 128)), int(rng.integers(-20, 20))
    lo, hi = (-128, 127) if full_range else (zp_out, min(127, zp_out + 90))
    x = rng.integers(-128, 128, size=(ih, iw, ic)).astype(np.int64)
    filt = rng.integers(-127, 128, size=(k, k, ic)).astype(np.int64)
    bias = rng.integers(-3000, 3000, size=ic).astype(np.int64)
    mult = rng.integers(1 << 30, 1 << 31, size=ic).astype(np.int64)
    shift = rng.integers(-12, -5, size=ic).astype(np.int64)
    if not fast_quant:
        shift[-1] = 1                       # one channel outside te_quant_fast's range: no ring
    quant = dict(input_offset=-zp_in, output_offset=zp_out, act_min=lo, act_max=hi)
    layer = depthwise_layer(0, 0, 1, (ih, iw, ic), (oh, ow, ic), (k, k), (stride, stride), (1, 1), pads, quant)
    folded = bias - zp_in * filt.reshape(-1, ic).sum(axis=0)
    consts = [np.ascontiguousarray(filt.transpose(2, 0, 1)).astype(np.int8), folded.astype(np.int32),
              mult.astype(np.int32), shift.astype(np.int32)]
    want = _reference(x, filt, bias, mult, shift, layer.params, 1, k, stride, pads, zp_in, zp_out, lo, hi)
    return layer, x, consts, want


@pytest.mark.parametrize("quant", ["full", "clamped", "not_fast"])
@pytest.mark.parametrize("case", range(len(RING_CASES)), ids=lambda i: _case_id(RING_CASES[i]))
def test_ring_matches_portable_and_reference(case, quant, libraries):
    layer, x, consts, want = _layer_and_data(RING_CASES[case], 300 + case, quant == "full", quant != "not_fast")
    kernels = sorted({layer.kernel, "te_depthwise_conv_s8", layer.inplace.kernel, "te_depthwise_conv_s8_inplace"})
    assert len(kernels) == 4
    for kernel in kernels:
        got = {build: _run(lib, kernel, layer, x, consts, "inplace" in kernel) for build, lib in libraries.items()}
        assert np.array_equal(got["dsp"], got["portable"]), kernel
        for build, out in got.items():
            assert np.array_equal(out, want), (kernel, build)


def _sizes(lib, layer):
    p = layer.params
    struct = type("P", (ctypes.Structure,), {"_fields_": [(k.replace(".", "_"), ctypes.c_int32) for k in p]})
    params = struct(*[int(v) for v in p.values()])
    out = []
    for fn in ("te_depthwise_conv_s8_get_buffer_size", "te_depthwise_conv_s8_inplace_get_buffer_size"):
        f = getattr(lib, fn)
        f.restype = ctypes.c_int32
        out.append(f(ctypes.byref(params)))
    return out


@pytest.mark.parametrize("case", range(len(RING_CASES)), ids=lambda i: _case_id(RING_CASES[i]))
def test_ring_scratch_matches_planner(case, libraries):
    """The kernels' sizes (which hold the ring where the shape allows it) equal the planner's, every build."""
    layer, *_ = _layer_and_data(RING_CASES[case], 300 + case, True, True)
    want = [depthwise_buffer_size(layer.params), depthwise_inplace_buffer_size(layer.params)]
    for lib in libraries.values():
        assert _sizes(lib, layer) == want
    assert layer.inplace.scratch_bytes == want[1] and layer.scratch_bytes == want[0]


def test_ring_scratch_only_where_it_applies(libraries):
    """Shapes the ring does not take (dilation, depth multiplier, stride.w 3, fewer than 4 channels, a 1x1 or
    non-square kernel) keep the per-channel sizes."""
    def per_channel(p):
        kh, kw = p["kernel.h"], p["kernel.w"]
        width = (p["output.w"] - 1) * p["stride.w"] + (kw - 1) * p["dilation.w"] + 1
        return 2 * kh * (kw + kw % 2) + 2 * kh * ((width + 2) // 2 * 2)
    for in_shape, out_c, k, stride, dil in [((9, 9, 8), 8, (3, 3), (1, 1), (2, 2)),
                                            ((9, 9, 4), 8, (3, 3), (1, 1), (1, 1)),
                                            ((9, 9, 8), 8, (3, 3), (3, 3), (1, 1)),
                                            ((9, 9, 3), 3, (3, 3), (1, 1), (1, 1)),
                                            ((9, 9, 8), 8, (3, 5), (1, 1), (1, 1))]:
        oh = (in_shape[0] - dil[0] * (k[0] - 1) - 1) // stride[0] + 1
        ow = (in_shape[1] - dil[1] * (k[1] - 1) - 1) // stride[1] + 1
        layer = depthwise_layer(0, 0, 1, in_shape, (oh, ow, out_c), k, stride, dil, (0, 0))
        assert depthwise_buffer_size(layer.params) == per_channel(layer.params)
        assert _sizes(libraries["dsp"], layer)[0] == per_channel(layer.params)


def _dw_stack(x):
    """Depthwise layers the ring takes, each after a 1x1 convolution (so it runs in place): 3x3 stride 1 and 2,
    5x5, 7x7 stride 2, 13 channels (a tail of 1), ReLU6 and linear activations."""
    x = L.Conv2D(12, 1)(x)
    x = L.DepthwiseConv2D(3, padding="same", activation="relu6")(x)
    x = L.Conv2D(13, 1)(x)
    x = L.DepthwiseConv2D(3, strides=2, padding="same")(x)
    x = L.Conv2D(8, 1)(x)
    x = L.DepthwiseConv2D(5, padding="same", activation="relu6")(x)
    x = L.Conv2D(9, 1)(x)
    x = L.DepthwiseConv2D(7, strides=2, padding="same")(x)
    return L.Conv2D(4, 1)(x)


@pytest.mark.cortexm
@pytest.mark.skipif(shutil.which(ARM_GCC) is None, reason=f"{ARM_GCC} is not installed")
def test_ring_on_cortex_m4_matches_host(tmp_path):
    """The real DSP build (-mcpu=cortex-m4 -O2) of depthwise layers the ring takes, on the emulator, gives the
    host's (portable) output for two random inputs."""
    from tinyengine_tflite.cortexm import run_on_cortexm
    model = int8_tflite(_dw_stack, [(14, 11, 5)], "dw_ring_stack")
    for seed in (0, 1):
        run = run_on_cortexm(model, part="stm32h743", work_dir=tmp_path, seed=seed)
        assert run.status == "ok", run.reason
        assert run.output_matches_host is True
