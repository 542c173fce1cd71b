"""The kernels' DSP path (Cortex-M4/M7/M33 SIMD) against the references, the scratch-size functions against the
planner, and warning-free Cortex-M builds of the kernel library.

The host cannot run the DSP instructions, so the DSP path is tested twice: on the host through the C emulation
of the intrinsics (kernels built with -DTE_EMULATE_DSP), and for real on the emulated Cortex-M4 (cortexm)."""
import ctypes
import shutil
import subprocess

import numpy as np
import pytest
from modelgen import int8_tflite
from reference import SUITE_DIR, assert_bit_exact, suite_models
from test_te_conv import CONV_CASES, DW_CASES

from keras_mcunet._tf import keras
from tinyengine_tflite.build import compiler
from tinyengine_tflite.codegen import KERNEL_DIR
from tinyengine_tflite.compiler import compile_model
from tinyengine_tflite.schedule import schedule

L = keras.layers
ARM_GCC = "arm-none-eabi-gcc"
# Suite models small enough for every test run (the others take minutes to convert or run).
DSP_SUITE = ["mcunet_vww_tinyengine", "mlperf_ic_resnet8_int8", "mlperf_kws_ref_int8", "mlperf_vww_96_int8",
             "mlperf_ad01_int8", "tinymaix_cifar10_q", "tflm_micro_speech_int8"]

KERNEL_CASES = {
    **{f"conv_{k}": v for k, v in CONV_CASES.items()},
    **{f"dw_{k}": v for k, v in DW_CASES.items()},
    "conv_first_layer_3ch": ((17, 15, 3), lambda: L.Conv2D(16, 3, strides=2, padding="same", activation="relu6")),
    "conv1x1_odd_channels": ((7, 5, 9), lambda: L.Conv2D(11, 1)),
    "dw3x3_s2": ((11, 10, 6), lambda: L.DepthwiseConv2D(3, strides=2, padding="same")),
    "dw5x5_s1": ((9, 9, 5), lambda: L.DepthwiseConv2D(5, padding="same", activation="relu6")),
    "dw7x7_s2": ((13, 12, 4), lambda: L.DepthwiseConv2D(7, strides=2, padding="same")),
    "dense_odd": ((37,), lambda: L.Dense(7)),
    # te_conv2d_1x1_s8_c4's speed path: a clamped activation, then the whole int8 range; odd pixel counts
    "conv1x1_c4_relu6": ((7, 5, 8), lambda: L.Conv2D(12, 1, activation="relu6")),
    "conv1x1_c4_linear": ((5, 3, 12), lambda: L.Conv2D(6, 1)),
}


@pytest.fixture
def emulated_dsp(tmp_path, monkeypatch):
    """Host builds compile the kernels' DSP path with its C emulation of the intrinsics (a compiler wrapper that
    adds -DTE_EMULATE_DSP; the build cache keys on the compiler, so these libraries are kept apart)."""
    cc = tmp_path / "cc-emulate-dsp"
    cc.write_text(f'#!/bin/sh\nexec {compiler()} -DTE_EMULATE_DSP "$@"\n')
    cc.chmod(0o755)
    monkeypatch.setenv("CC", str(cc))


@pytest.mark.parametrize("case", sorted(KERNEL_CASES))
def test_dsp_path_bit_exact(case, emulated_dsp):
    shape, layer = KERNEL_CASES[case]
    assert_bit_exact(int8_tflite(lambda x: layer()(x), [shape], case), seeds=(0, 1), tflm=False)


def _roomy_conv_model(stride: int) -> bytes:
    """A 3x3 convolution with in_c a multiple of 4 after a larger layer: the arena has room at the 3x3 for the
    scratch of its faster variant (te_conv2d_s8_q15)."""
    def build(x):
        x = L.Conv2D(32, 1, activation="relu")(x)
        x = L.MaxPooling2D(2)(x)
        return L.Conv2D(6, 3, strides=stride, padding="same", activation="relu6")(x)
    return int8_tflite(build, [(12, 12, 8)], f"roomy_conv_s{stride}")


@pytest.mark.parametrize("stride", [1, 2])
def test_faster_variant_where_room_and_bit_exact(stride, emulated_dsp):
    """The schedule gives the 3x3 convolution its faster variant (a larger scratch in a gap of the plan) without
    changing the arena, and the DSP path of that variant is bit-exact."""
    model = _roomy_conv_model(stride)
    lowered, sched = compile_model(model)
    assert [sched.kernel(lowered, i)[0] for i in sorted(sched.faster)] == ["te_conv2d_s8_q15"]
    for layer in lowered.layers:
        layer.faster = None
    assert schedule(lowered).arena_bytes == sched.arena_bytes
    assert_bit_exact(model, seeds=(0, 1), tflm=False)


QUANT_FAST_CHECK = r"""
#include <stdio.h>
#include "te_common.h"
/* te_quant_fast against te_multiply_by_quantized_multiplier + offset on pseudo-random values wherever it fits,
 * with the offset folded in (te_quant_fast_fits) and added after it (te_quant_fast_fits_wide). */
int main(void) {
    uint64_t st = 88172645463325252ull;
    long checked = 0, wrong = 0;
    for (long i = 0; i < 3000000; ++i) {
        uint32_t r[6];
        for (int k = 0; k < 6; ++k) {
            st ^= st << 13; st ^= st >> 7; st ^= st << 17; r[k] = (uint32_t)st;
        }
        const int32_t shift = -(int32_t)(r[0] % 33) + 1;
        const int32_t mult = r[1] % 32 == 0 ? 0 : (int32_t)(0x40000000u | (r[1] & 0x3fffffffu));
        const int32_t off = (int32_t)(r[2] % 259) - 129;
        const uint32_t kind = r[3] % 4;
        int32_t x = kind == 0 ? (int32_t)r[4] : kind == 1 ? (int32_t)(r[4] % 200001) - 100000
                  : kind == 2 ? (int32_t)(r[4] % 21) - 10 : (int32_t)r[4] >> (r[5] % 31);
        if (r[5] % 997 == 0) x = r[4] & 1 ? INT32_MIN : INT32_MAX;
        if (te_quant_fast_fits_wide(mult, shift)) {
            ++checked;
            wrong += te_quant_fast_scale(te_quant_fast_channel(mult, shift, 0), x) + off !=
                     te_multiply_by_quantized_multiplier(x, mult, shift) + off;
        }
        if (!te_quant_fast_fits(mult, shift, off)) continue;
        ++checked;
        wrong += te_quant_fast_scale(te_quant_fast_channel(mult, shift, off), x) !=
                 te_multiply_by_quantized_multiplier(x, mult, shift) + off;
    }
    /* the extremes: every shift, the largest offsets, multipliers and accumulators */
    const int32_t xs[] = {INT32_MIN, INT32_MIN + 1, -1, 0, 1, INT32_MAX - 1, INT32_MAX};
    const int32_t ms[] = {0, 1 << 30, INT32_MAX};
    for (int32_t shift = -31; shift <= 1; ++shift) {
        for (int32_t off = -128; off <= 128; off += 128) {
            for (int i = 0; i < 7; ++i) {
                for (int j = 0; j < 3; ++j) {
                    if (te_quant_fast_fits_wide(ms[j], shift)) {
                        ++checked;
                        wrong += te_quant_fast_scale(te_quant_fast_channel(ms[j], shift, 0), xs[i]) !=
                                 te_multiply_by_quantized_multiplier(xs[i], ms[j], shift);
                    }
                    if (!te_quant_fast_fits(ms[j], shift, off)) continue;
                    ++checked;
                    wrong += te_quant_fast_scale(te_quant_fast_channel(ms[j], shift, off), xs[i]) !=
                             te_multiply_by_quantized_multiplier(xs[i], ms[j], shift) + off;
                }
            }
        }
    }
    printf("%ld %ld\n", checked, wrong);
    return 0;
}
"""


def test_quant_fast_equals_tflite_rounding(tmp_path):
    """te_quant_fast (one 64-bit multiply-accumulate for TFLite's two roundings and the output offset) equals
    te_multiply_by_quantized_multiplier plus the offset on 3 million draws and on the extremes of every operand
    (where its 64-bit sum comes closest to overflowing), with the offset folded in (right shifts 2..23) and
    added after it (2..31)."""
    src = tmp_path / "quant_fast.c"
    src.write_text(QUANT_FAST_CHECK)
    exe = tmp_path / "quant_fast"
    subprocess.run([compiler(), "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", f"-I{KERNEL_DIR}", "-o", str(exe),
                    str(src)], check=True)
    checked, wrong = map(int, subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.split())
    assert checked > 1_000_000 and wrong == 0


@pytest.mark.parametrize("path", suite_models(), ids=lambda p: p.stem)
def test_faster_variants_keep_the_arena(path):
    lowered, sched = compile_model(path.read_bytes())
    for layer in lowered.layers:
        layer.faster = None
    assert schedule(lowered).arena_bytes == sched.arena_bytes


@pytest.mark.parametrize("name", DSP_SUITE)
def test_dsp_path_bit_exact_suite(name, emulated_dsp):
    assert_bit_exact((SUITE_DIR / f"{name}.tflite").read_bytes(), seeds=(0,), tflm=False)


def _struct(params: dict):
    """A ctypes mirror of a layer's parameter struct: every field an int32_t, in declaration order."""
    cls = type("P", (ctypes.Structure,), {"_fields_": [(k, ctypes.c_int32) for k in params]})
    return cls(**{k: int(v) for k, v in params.items()})


@pytest.fixture(scope="module")
def kernel_library(tmp_path_factory):
    out = tmp_path_factory.mktemp("kernels") / "libte_kernels.so"
    subprocess.run([compiler(), "-std=c99", "-O2", "-fPIC", "-shared", "-o", str(out),
                    *map(str, sorted(KERNEL_DIR.glob("te_*.c")))], check=True)
    return ctypes.CDLL(str(out))


@pytest.mark.parametrize("path", suite_models(), ids=lambda p: p.stem)
def test_buffer_sizes_match_planner(path, kernel_library):
    """For every layer of every suite model, the scratch the planner reserves equals what the kernel's C
    te_<kernel>_get_buffer_size function asks for (the one source of truth), and a kernel without such a
    function takes no scratch."""
    lowered, sched = compile_model(path.read_bytes())
    checked = 0
    for i, layer in enumerate(lowered.layers):
        kernel, scratch = sched.kernel(lowered, i)
        size_fn = getattr(kernel_library, f"{kernel}_get_buffer_size", None) if layer.takes_scratch or \
            i in sched.inplace or i in sched.faster else None
        if size_fn is None:
            assert scratch == 0, f"layer {i} ({kernel}) reserves {scratch} B of scratch without a size function"
            continue
        size_fn.restype = ctypes.c_int32
        params = _struct(layer.params)
        assert size_fn(ctypes.byref(params)) == scratch, f"layer {i} ({kernel})"
        checked += 1
    if any(layer.op in ("CONV_2D", "DEPTHWISE_CONV_2D") for layer in lowered.layers):
        assert checked


CPUS = ["cortex-m0plus", "cortex-m3", "cortex-m4", "cortex-m7", "cortex-m33"]


@pytest.mark.cortexm
@pytest.mark.skipif(shutil.which(ARM_GCC) is None, reason=f"{ARM_GCC} is not installed")
@pytest.mark.parametrize("opt", ["-O2", "-Os"])
@pytest.mark.parametrize("cpu", CPUS)
def test_kernels_build_warning_free(cpu, opt, tmp_path):
    r = subprocess.run([ARM_GCC, f"-mcpu={cpu}", "-mthumb", "-std=c99", opt, "-Wall", "-Wextra", "-Werror", "-c",
                        *map(str, sorted(KERNEL_DIR.glob("te_*.c")))], cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    # the DSP path is the one built where the core has the extension
    nm = subprocess.run(["arm-none-eabi-objdump", "-d", "te_conv.o"], cwd=tmp_path, capture_output=True,
                        text=True).stdout
    assert ("smlad" in nm) == (cpu not in ("cortex-m0plus", "cortex-m3"))


@pytest.mark.cortexm
@pytest.mark.skipif(shutil.which(ARM_GCC) is None, reason=f"{ARM_GCC} is not installed")
@pytest.mark.parametrize("name", ["mcunet_vww_tinyengine", "mlperf_kws_ref_int8", "mlperf_ic_resnet8_int8",
                                  "mlperf_vww_96_int8"])
def test_cortex_m4_dsp_build_matches_host(name, tmp_path):
    """The real DSP build (-mcpu=cortex-m4) on the emulator gives the host's output, which equals LiteRT's
    (test_dsp_path_bit_exact_suite and the suite tests)."""
    from tinyengine_tflite.cortexm import run_on_cortexm
    run = run_on_cortexm(SUITE_DIR / f"{name}.tflite", part="stm32h743", work_dir=tmp_path)
    assert run.status == "ok", run.reason
    assert run.output_matches_host is True


def _assert_cortex_m4_equals_host(model, tmp_path) -> None:
    """The model's emulated Cortex-M4 (DSP, -O2) output equals the host's for two random inputs."""
    from tinyengine_tflite.cortexm import run_on_cortexm
    for seed in (0, 1):
        run = run_on_cortexm(model, part="stm32h743", work_dir=tmp_path, seed=seed)
        assert run.status == "ok", run.reason
        assert run.output_matches_host is True


def _q15_blocks_model() -> bytes:
    """1x1 and 3x3 convolutions whose q15 depth is an odd and an even number of 4-value blocks (9 and 45; 3),
    after a larger layer, so that the faster q15 variant (its assembly inner loop on Cortex-M) has room."""
    def build(x):
        x = L.Conv2D(36, 1, activation="relu")(x)
        x = L.MaxPooling2D(2)(x)
        x = L.Conv2D(20, 1)(x)
        return L.Conv2D(6, 3, padding="same", activation="relu6")(x)
    return int8_tflite(build, [(10, 10, 12)], "q15_blocks")


@pytest.mark.cortexm
@pytest.mark.skipif(shutil.which(ARM_GCC) is None, reason=f"{ARM_GCC} is not installed")
def test_q15_variant_on_cortex_m4_matches_host(tmp_path):
    model = _q15_blocks_model()
    lowered, sched = compile_model(model)
    assert {sched.kernel(lowered, i)[0] for i in sched.faster} == {"te_conv2d_s8_q15"} and len(sched.faster) >= 2
    _assert_cortex_m4_equals_host(model, tmp_path)


def _no_room_model() -> bytes:
    """A 1x1 convolution of 3 depth blocks (odd) over an odd pixel count, then a 3x3 one of 23 blocks (depth 90
    padded), with no room in the arena for the q15 variant: te_mac_2x2's on-the-fly DSP loop (assembly on
    Cortex-M) in te_conv2d_1x1_s8_c4 and te_conv2d_s8."""
    def build(x):
        x = L.Conv2D(10, 1, activation="relu6")(x)
        return L.Conv2D(6, 3, padding="same")(x)
    return int8_tflite(build, [(7, 5, 12)], "no_room_conv")


@pytest.mark.cortexm
@pytest.mark.skipif(shutil.which(ARM_GCC) is None, reason=f"{ARM_GCC} is not installed")
def test_no_room_conv_on_cortex_m4_matches_host(tmp_path):
    model = _no_room_model()
    lowered, sched = compile_model(model)
    assert not sched.faster
    assert [sched.kernel(lowered, i)[0] for i in range(len(lowered.layers))] == ["te_conv2d_1x1_s8_c4",
                                                                                "te_conv2d_s8"]
    _assert_cortex_m4_equals_host(model, tmp_path)


def _q15_wide_model() -> bytes:
    """After a larger layer (room for the q15 variant): a 1x1 convolution of 10 depth blocks (even) to 13
    channels (odd) over 25 pixels (odd) with two channels of tiny weights, whose right shifts past 23 take the
    requantization with the offset added after the shift (TE_RQ_WIDE_FULL), then a 3x3 one over 13 channels
    (not a multiple of 4: te_im2col_q15_any)."""
    def build(x):
        def tiny_channels(shape, dtype=None):
            w = np.random.default_rng(5).normal(0, 0.3, shape)
            w[..., 3] *= 1e-7
            w[..., 7] = 0.0
            return keras.backend.constant(w, dtype=dtype)
        x = L.Conv2D(40, 1, activation="relu")(x)
        x = L.MaxPooling2D(2)(x)
        x = L.Conv2D(13, 1, kernel_initializer=tiny_channels)(x)
        return L.Conv2D(8, 3, padding="same", activation="relu6")(x)
    return int8_tflite(build, [(10, 10, 12)], "q15_wide")


@pytest.fixture
def live_constant_channels(monkeypatch):
    """Channels whose output never changes keep their own requantization (the lowering's constant_channels
    finds none): the requantization paths they would take are tested as such."""
    import tinyengine_tflite.ops.conv as conv
    monkeypatch.setattr(conv, "constant_channels",
                        lambda filt, bias, *_: (np.zeros(len(bias), bool), np.zeros(len(bias), np.int64)))


def _shifts(layer):
    return next(c.data for c in layer.consts if c.name == "shift")


def test_q15_wide_requantization_bit_exact(emulated_dsp, live_constant_channels):
    """The q15 variant with right shifts past 23 (the offset added after the shift) on the host's DSP path (the
    tiny channels are constant, and a deeper layer's could be live)."""
    model = _q15_wide_model()
    lowered, sched = compile_model(model)
    assert [sched.kernel(lowered, i)[0] for i in sorted(sched.faster)] == ["te_conv2d_s8_q15"] * 2
    assert min(_shifts(lowered.layers[min(sched.faster)])) < -23
    assert_bit_exact(model, seeds=(0, 1), tflm=False)


def test_q15_wide_model_portable_bit_exact(live_constant_channels):
    assert_bit_exact(_q15_wide_model(), seeds=(0, 1), tflm=False)


@pytest.mark.cortexm
@pytest.mark.skipif(shutil.which(ARM_GCC) is None, reason=f"{ARM_GCC} is not installed")
def test_q15_wide_on_cortex_m4_matches_host(tmp_path, live_constant_channels):
    _assert_cortex_m4_equals_host(_q15_wide_model(), tmp_path)


def test_zero_multiplier_takes_a_fast_shift(live_constant_channels):
    """A zero multiplier (mlperf_vww_96 has some) is lowered with shift -2, which te_quant_fast serves; its
    values are 0 whatever the shift (where its channel is not lowered as a constant one)."""
    lowered, _ = compile_model((SUITE_DIR / "mlperf_vww_96_int8.tflite").read_bytes())
    zero = [s for layer in lowered.layers for c in layer.consts if c.name == "mult"
            for m, s in zip(c.data, _shifts(layer)) if m == 0]
    assert zero and set(zero) == {-2}


def _q15_rows_model() -> bytes:
    """q15 convolutions whose columns come row by row from the input where both windows lie inside: a 3x3 with
    dilation 2 in height (padding same: border windows too), and a 3x2 stride (1, 2) valid one with 3 output
    columns (pixel pairs that straddle two output rows, an odd pixel count)."""
    def build(x):
        x = L.Conv2D(40, 1, activation="relu")(x)
        x = L.MaxPooling2D(2)(x)
        y = L.Conv2D(12, 3, dilation_rate=(2, 1), padding="same")(x)
        z = L.Conv2D(12, (3, 2), strides=(1, 2), padding="valid")(x)
        return y, z
    return int8_tflite(build, [(14, 12, 12)], "q15_rows")


def _q15_narrow_rows_model() -> bytes:
    """A first-layer q15 convolution over one input channel (kernel rows of 3 bytes, shorter than a word; 7 output
    columns: pixel pairs straddle rows), before a larger layer that leaves it room."""
    def build(x):
        x = L.Conv2D(8, 3, padding="same", activation="relu")(x)
        return L.Conv2D(32, 1)(x)
    return int8_tflite(build, [(9, 7, 1)], "q15_narrow_rows")


ROWS_MODELS = {"rows": _q15_rows_model, "narrow_rows": _q15_narrow_rows_model}
ROWS_Q15_LAYERS = {"rows": [2, 3], "narrow_rows": [0]}


@pytest.mark.parametrize("name", sorted(ROWS_MODELS))
def test_q15_rows_bit_exact(name, emulated_dsp):
    model = ROWS_MODELS[name]()
    lowered, sched = compile_model(model)
    assert sorted(sched.faster) == ROWS_Q15_LAYERS[name]
    assert {sched.kernel(lowered, i)[0] for i in sched.faster} == {"te_conv2d_s8_q15"}
    assert_bit_exact(model, seeds=(0, 1), tflm=False)


@pytest.mark.parametrize("name", sorted(ROWS_MODELS))
def test_q15_rows_model_portable_bit_exact(name):
    assert_bit_exact(ROWS_MODELS[name](), seeds=(0, 1), tflm=False)


@pytest.mark.cortexm
@pytest.mark.skipif(shutil.which(ARM_GCC) is None, reason=f"{ARM_GCC} is not installed")
@pytest.mark.parametrize("name", sorted(ROWS_MODELS))
def test_q15_rows_on_cortex_m4_matches_host(name, tmp_path):
    _assert_cortex_m4_equals_host(ROWS_MODELS[name](), tmp_path)
