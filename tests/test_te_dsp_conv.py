"""The scratch-less convolutions' leading pixels through the q15 path (te_conv.c: te_q15_lead, the scratch in the
output's tail) and the DSP ADD rows: the DSP path (host emulation of the intrinsics, and the real Cortex-M4
build on the emulator) against the references and the portable path, bit for bit."""
import shutil

import numpy as np
import pytest
from modelgen import int8_tflite
from reference import SUITE_DIR, assert_bit_exact, suite_models
from test_te_dsp import ARM_GCC, _assert_cortex_m4_equals_host, emulated_dsp  # noqa: F401 (a fixture)

from keras_mcunet._tf import keras
from tinyengine_tflite.compiler import compile_model

L = keras.layers

# Single-layer models leave the q15 variant no room: te_conv2d_1x1_s8_c4 / te_conv2d_s8 run, their leading pixel
# pairs through the q15 path (depth * channels >= 128), the rest (odd pixel counts, the pixels whose outputs
# hold the scratch) through their own loops.
LEAD_CASES = {
    # 1x1, in_c a multiple of 4: te_conv_mode's whole-range and clamped requantizations, odd pixel counts
    "c4_linear_odd_px": ((7, 5, 16), lambda: L.Conv2D(24, 1), "te_conv2d_1x1_s8_c4"),
    "c4_relu6": ((6, 5, 8), lambda: L.Conv2D(48, 1, activation="relu6"), "te_conv2d_1x1_s8_c4"),
    "c4_deep": ((3, 5, 64), lambda: L.Conv2D(10, 1, activation="relu"), "te_conv2d_1x1_s8_c4"),
    # below the depth * channels threshold: no lead
    "c4_shallow": ((5, 5, 4), lambda: L.Conv2D(16, 1), "te_conv2d_1x1_s8_c4"),
    # im2col: in_c not a multiple of 4 (int8 columns in the scratch too), odd channel counts, strides, borders
    "im2col_c5_same": ((9, 7, 5), lambda: L.Conv2D(8, 3, padding="same"), "te_conv2d_s8"),
    "im2col_c8_odd_out": ((9, 7, 8), lambda: L.Conv2D(7, 3, padding="same", activation="relu"), "te_conv2d_s8"),
    "im2col_c3_s2": ((17, 15, 3), lambda: L.Conv2D(16, 3, strides=2, padding="same", activation="relu6"),
                     "te_conv2d_s8"),
    "im2col_c16_valid": ((8, 9, 16), lambda: L.Conv2D(16, 3, padding="valid"), "te_conv2d_s8"),
}


def _lead_model(case: str) -> bytes:
    shape, layer, _ = LEAD_CASES[case]
    return int8_tflite(lambda x: layer()(x), [shape], f"lead_{case}")


def _default_and_slow(default: list, slow: list) -> list:
    """Cases for pytest.mark.parametrize: `default` in the default suite, `slow` behind -m slow (each case
    compiles and runs a model; the default run keeps one of each kernel and shape kind)."""
    return list(default) + [pytest.param(c, marks=pytest.mark.slow) for c in slow]


# one 1x1 with an odd pixel count, one im2col with an odd output channel count, the 3-channel first layer
_LEAD_DEFAULT = ["c4_linear_odd_px", "im2col_c8_odd_out", "im2col_c3_s2"]


@pytest.mark.parametrize("case", sorted(LEAD_CASES))
def test_lead_kernel_chosen(case):
    lowered, sched = compile_model(_lead_model(case))
    assert [sched.kernel(lowered, i)[0] for i in range(len(lowered.layers))] == [LEAD_CASES[case][2]]


@pytest.mark.parametrize("case", _default_and_slow(_LEAD_DEFAULT, sorted(set(LEAD_CASES) - set(_LEAD_DEFAULT))))
def test_lead_dsp_path_bit_exact(case, emulated_dsp):  # noqa: F811
    assert_bit_exact(_lead_model(case), seeds=(0, 1), tflm=False)


@pytest.mark.parametrize("case", ["c4_linear_odd_px", "im2col_c5_same"])
def test_lead_portable_bit_exact(case):
    assert_bit_exact(_lead_model(case), seeds=(0,), tflm=False)


@pytest.mark.cortexm
@pytest.mark.skipif(shutil.which(ARM_GCC) is None, reason=f"{ARM_GCC} is not installed")
@pytest.mark.parametrize("case", _default_and_slow(["im2col_c8_odd_out", "c4_relu6"],
                                                   ["c4_linear_odd_px", "im2col_c5_same"]))
def test_lead_on_cortex_m4_matches_host(case, tmp_path):
    _assert_cortex_m4_equals_host(_lead_model(case), tmp_path)


@pytest.mark.parametrize("path", suite_models(), ids=lambda p: p.stem)
def test_planner_never_overlaps_lead_kernels_input_and_output(path):
    """te_conv2d_1x1_s8_c4 and te_conv2d_s8 use their output's tail as scratch while they read the input: the
    plan must never place the two together (te_conv.h)."""
    lowered, sched = compile_model(path.read_bytes())
    for i, layer in enumerate(lowered.layers):
        if sched.kernel(lowered, i)[0] not in ("te_conv2d_1x1_s8_c4", "te_conv2d_s8"):
            continue
        (src,), (dst,) = layer.inputs, layer.outputs
        a0, b0 = sched.buffer_offset(src), sched.buffer_offset(dst)
        a1, b1 = a0 + lowered.buffers[src].nbytes, b0 + lowered.buffers[dst].nbytes
        assert a1 <= b0 or b1 <= a0, f"layer {i}: input [{a0}, {a1}) overlaps output [{b0}, {b1})"


# --- ADD / SUB: te_rescale.h's DSP rows (te_sum_fast_dsp_row) -------------------------------------------------

def test_dsp_add_sub_rows_equal_portable_exhaustively(tmp_path):
    """te_add_s8 / te_sub_s8 built with the DSP path (its C emulation: the SMMLAR output stage) equal the portable
    build's te_add_s8_general / te_sub_s8_general on every pair of int8 inputs (the whole range of both), same-shape
    and broadcast (stride 0), clamped activations or not, both operand orders, for random parameters where the
    fast form applies; and, same-shape, run in place (output == input 1) they give the same outputs."""
    import ctypes
    import subprocess

    from test_te_elementwise import KERNELS, add_sub_exhaustive_cases

    from tinyengine_tflite.build import compiler

    libs = {}
    for name, flags in (("dsp", ["-DTE_EMULATE_DSP"]), ("portable", [])):
        lib = tmp_path / f"libelementwise_{name}.so"
        subprocess.run([compiler(), "-std=c99", "-O2", *flags, "-fPIC", "-shared", "-o", str(lib),
                        str(KERNELS / "te_elementwise.c"), str(KERNELS / "te_binary.c")], check=True)
        libs[name] = ctypes.CDLL(str(lib))
    ptr = ctypes.POINTER(ctypes.c_int8)
    clamped = set()
    for case in add_sub_exhaustive_cases(np.random.default_rng(23), 16):
        if case.params[10] != -128:
            clamped.add(case.params)
        want = np.zeros(65536, np.int8)
        getattr(libs["portable"], case.kernel + "_general")(case.struct, case.first.ctypes.data_as(ptr),
                                                            case.second.ctypes.data_as(ptr), want.ctypes.data_as(ptr))
        for lib in libs.values():
            got = np.zeros(65536, np.int8)
            getattr(lib, case.kernel)(case.struct, case.first.ctypes.data_as(ptr), case.second.ctypes.data_as(ptr),
                                      got.ctypes.data_as(ptr))
            np.testing.assert_array_equal(got, want, err_msg=case.what)
        if case.same_shape:             # (in place only where input 1 has the output's shape)
            inplace = case.first.copy()
            getattr(libs["dsp"], case.kernel)(case.struct, inplace.ctypes.data_as(ptr),
                                              case.second.ctypes.data_as(ptr), inplace.ctypes.data_as(ptr))
            np.testing.assert_array_equal(inplace, want, err_msg="in place " + case.what)
    assert clamped


ADD_CASES = {
    "add_same": ([(5, 7, 6), (5, 7, 6)], lambda x, y: L.Add()([x, y])),
    "add_relu6_odd": ([(3, 5, 3), (3, 5, 3)], lambda x, y: L.ReLU(6.0)(L.Add()([x, y]))),
    "add_channel_bcast": ([(6, 5, 7), (1, 1, 7)], lambda x, y: x + y),
    "add_row_bcast_relu": ([(6, 5, 7), (6, 1, 7)], lambda x, y: L.ReLU()(x + y)),
}


@pytest.mark.parametrize("case", _default_and_slow(["add_channel_bcast", "add_relu6_odd"],
                                                   sorted(set(ADD_CASES) - {"add_channel_bcast", "add_relu6_odd"})))
def test_dsp_add_bit_exact(case, emulated_dsp):  # noqa: F811
    shapes, fn = ADD_CASES[case]
    assert_bit_exact(int8_tflite(fn, shapes, f"dsp_{case}"), seeds=(0, 1), tflm=False)


@pytest.mark.cortexm
@pytest.mark.skipif(shutil.which(ARM_GCC) is None, reason=f"{ARM_GCC} is not installed")
@pytest.mark.parametrize("case", _default_and_slow(["add_row_bcast_relu"], ["add_same"]))
def test_dsp_add_on_cortex_m4_matches_host(case, tmp_path):
    shapes, fn = ADD_CASES[case]
    _assert_cortex_m4_equals_host(int8_tflite(fn, shapes, f"dsp_{case}"), tmp_path)


def _fixed_blocks_model() -> bytes:
    """Linear convolutions (the whole int8 range: te_pairs_asm's SMMLAR form) whose q15 depth is each block count
    that has its depth loop written out on Cortex-M (te_conv.c's TE_PAIRS_SMML_FIXED_ASM: 2, 4, 6, 7, 8 and 16
    blocks of 4 values: 1x1 convolutions of 8, 16, 24, 32, 40 and 64 channels, a 3x3 one of 3 channels), and each
    form of the depth loop beside them (12 blocks: four a trip; 14: two a trip; 3 and 5: an odd one first)."""
    def build(x):
        x = L.Conv2D(8, 3, padding="same")(x)                      # 27 values: 7 blocks
        for channels in (16, 24, 32, 64, 48, 40, 56, 12, 20, 10):  # depths 8, 16, 24, 32, 64, 48, 40, 56, 12, 20
            x = L.Conv2D(channels, 1)(x)
        return x
    return int8_tflite(build, [(9, 8, 3)], "fixed_blocks")


@pytest.mark.cortexm
@pytest.mark.skipif(shutil.which(ARM_GCC) is None, reason=f"{ARM_GCC} is not installed")
def test_fixed_block_counts_on_cortex_m4_match_host(tmp_path):
    model = _fixed_blocks_model()
    lowered, sched = compile_model(model)
    kernels = [sched.kernel(lowered, i)[0] for i in range(len(lowered.layers))]
    # every layer runs te_q15_run: the q15 variant, or a scratch-less kernel's leading pixels through it
    assert set(kernels) <= {"te_conv2d_s8_q15", "te_conv2d_1x1_s8_c4", "te_conv2d_s8"} and len(kernels) == 11
    _assert_cortex_m4_equals_host(model, tmp_path)


# Output widths that take each path of te_depthwise.c's te_dw_k3s1_row4_asm (a 3x3 stride-1 depthwise row of 4
# channels over the whole int8 range): no whole tile and 1, 2 or 3 outputs (1, 2, 3); whole tiles alone (4, 8);
# whole tiles then 2 or 3 (6, 7); the last tile one of 5 (5, 9, 13).
DW_ROW_WIDTHS = (1, 2, 3, 4, 5, 6, 7, 8, 9, 13)


def _dw_rows_model() -> bytes:
    """One linear 3x3 depthwise convolution per width of DW_ROW_WIDTHS over 8 channels (two groups of 4; padded
    rows gather from an odd first column), one over 6 (a group, then 2 channels on the per-channel path), and
    unpadded ones over 9 and 8 input columns (rows gathered from an even first column, then an odd or no last
    one)."""
    def build(*xs):
        padded = [L.DepthwiseConv2D(3, padding="same")(x) for x in xs[:-2]]
        return padded + [L.DepthwiseConv2D(3, padding="valid")(x) for x in xs[-2:]]
    shapes = [(3, w, 8) for w in DW_ROW_WIDTHS] + [(4, 5, 6), (4, 9, 8), (3, 8, 4)]
    return int8_tflite(build, shapes, "dw_k3s1_rows")


@pytest.mark.cortexm
@pytest.mark.skipif(shutil.which(ARM_GCC) is None, reason=f"{ARM_GCC} is not installed")
def test_depthwise_row_tails_on_cortex_m4_match_host(tmp_path):
    model = _dw_rows_model()
    lowered, sched = compile_model(model)
    kernels = {sched.kernel(lowered, i)[0] for i in range(len(lowered.layers))}
    assert kernels <= {"te_depthwise_conv_s8_k3", "te_depthwise_conv_s8_inplace_k3"} and len(lowered.layers) == 13
    _assert_cortex_m4_equals_host(model, tmp_path)
