"""DEPTHWISE_CONV_2D kernels called directly (ctypes) on shapes the suite models lack, against a NumPy model of
TFLite's reference kernel: every variant (any kernel, 3x3 / 5x5 / 7x7; normal and in-place, straight over the
input or through the plane) on its three code paths: portable C, the DSP path's tiles (emulated intrinsics,
-O2) and the DSP path built for size (emulated intrinsics, -Os). Odd widths, stride 2, padding (also past
the kernel, as a fused PAD gives), awkward channel counts, positive and negative shifts; compared with ==."""
import ctypes
import subprocess

import numpy as np
import pytest
from reference import SUITE_DIR
from sanitized import SANITIZE, build, input_bytes, run, sanitizer_clean

import tinyengine_tflite
from tinyengine_tflite.build import compiler, kernel_objects
from tinyengine_tflite.codegen import KERNEL_DIR
from tinyengine_tflite.ops.conv import depthwise_layer

BUILDS = {"portable": ["-O2"], "dsp_tiles": ["-O2", "-DTE_EMULATE_DSP"], "dsp_size": ["-Os", "-DTE_EMULATE_DSP"]}

# (in h, w, c), k, stride, (pad top, pad left), depth multiplier
CASES = [
    ((7, 9, 3), 3, 1, (1, 1), 1),
    ((5, 1, 5), 3, 1, (1, 1), 1),       # one column
    ((6, 2, 2), 3, 1, (1, 1), 1),
    ((6, 7, 3), 3, 1, (1, 1), 1),       # 4 + 3 outputs a row
    ((9, 13, 7), 3, 2, (1, 1), 1),      # odd width, stride 2 (4 + 2 + 1 outputs a row)
    ((8, 10, 4), 3, 2, (0, 0), 1),      # VALID
    ((11, 6, 17), 5, 1, (2, 2), 1),
    ((9, 11, 3), 5, 2, (2, 2), 1),
    ((5, 7, 4), 5, 1, (2, 2), 1),
    ((9, 9, 2), 7, 2, (3, 3), 1),
    ((10, 7, 6), 7, 1, (3, 3), 1),
    ((13, 12, 5), 7, 2, (3, 3), 1),
    ((3, 3, 9), 7, 1, (3, 3), 1),       # window wider than the input
    ((6, 5, 3), 3, 1, (3, 0), 1),       # padding past the kernel: the in-place kernel goes through the plane
    ((4, 4, 4), 3, 1, (2, 3), 1),       # output wider than the input: through the plane too
    ((7, 5, 3), 3, 1, (1, 1), 2),       # depth multiplier (not in place)
    ((5, 9, 2), 3, 3, (1, 1), 1),       # stride 3: the generic tap loop
]


def build_libraries(tmp_path_factory, builds: dict) -> dict:
    """{name: te_depthwise.c built as a shared library with that name's flags} (the object from the build cache,
    compiled warning-free)."""
    out = {}
    for name, flags in builds.items():
        so = tmp_path_factory.mktemp(name) / "libte_dw.so"
        built = kernel_objects(KERNEL_DIR, [compiler(), "-std=c99", "-Wall", "-Wextra", "-Werror", "-fPIC", *flags],
                               names=["te_depthwise.c"])
        assert built.messages == ""
        subprocess.run([compiler(), "-shared", "-o", str(so), str(built.objects["te_depthwise.c"])], check=True)
        out[name] = ctypes.CDLL(str(so))
    return out


@pytest.fixture(scope="module")
def libraries(tmp_path_factory):
    return build_libraries(tmp_path_factory, BUILDS)


def _mbqm(x, mult, shift):
    """TFLite MultiplyByQuantizedMultiplier (two roundings), elementwise on int64 arrays of int32 values."""
    left, right = np.maximum(shift, 0), np.maximum(-shift, 0)
    x = ((x << left) + 2**31) % 2**32 - 2**31
    ab = x * mult
    nudge = np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    v = ab + nudge
    high = np.where(v >= 0, v >> 31, -((-v) >> 31))
    mask = (1 << right) - 1
    threshold = (mask >> 1) + (high < 0)
    return (high >> right) + ((high & mask) > threshold)


def _reference(x, filt, bias, mult, shift, p, dm, k, stride, pads, zp_in, zp_out, lo, hi):
    ih, iw, ic = x.shape
    oh, ow = p["output.h"], p["output.w"]
    padded = np.full((ih + k + stride * oh, iw + k + stride * ow, ic), zp_in, dtype=np.int64)
    padded[pads[0]:pads[0] + ih, pads[1]:pads[1] + iw] = x
    acc = np.zeros((oh, ow, ic * dm), dtype=np.int64)
    for ky in range(k):
        for kx in range(k):
            win = padded[ky:ky + stride * oh:stride, kx:kx + stride * ow:stride][:oh, :ow]
            acc += (np.repeat(win, dm, axis=2) - zp_in) * filt[ky, kx]
    acc += bias
    return np.clip(_mbqm(acc, mult, shift) + zp_out, lo, hi).astype(np.int8)


def _run(lib, kernel, layer, x, consts, inplace):
    p = layer.params
    struct = type("P", (ctypes.Structure,), {"_fields_": [(k.replace(".", "_"), ctypes.c_int32) for k in p]})
    params = struct(*[int(v) for v in p.values()])
    size_fn = getattr(lib, f"{kernel}_get_buffer_size")
    size_fn.restype = ctypes.c_int32
    scratch = ctypes.create_string_buffer(size_fn(ctypes.byref(params)) + 1)
    scratch[len(scratch) - 1] = b"\x5a"                      # a guard byte past the scratch
    n_out = p["output.h"] * p["output.w"] * p["output.c"]
    buf = np.zeros(max(x.size, n_out), dtype=np.int8)
    buf[:x.size] = x.reshape(-1)
    out = buf if inplace else np.zeros(n_out, dtype=np.int8)
    ptr = ctypes.c_void_p
    getattr(lib, kernel)(ctypes.byref(params), ptr(buf.ctypes.data), *[ptr(c.ctypes.data) for c in consts],
                         ptr(out.ctypes.data), scratch)
    assert scratch[len(scratch) - 1] == b"\x5a", f"{kernel} wrote past its scratch"
    return out[:n_out].reshape(p["output.h"], p["output.w"], p["output.c"])


def _case_id(case):
    (ih, iw, ic), k, stride, pads, dm = case
    return f"{ih}x{iw}x{ic}_k{k}_s{stride}_p{pads[0]}{pads[1]}_m{dm}"


@pytest.mark.parametrize("build", sorted(BUILDS))
@pytest.mark.parametrize("case", range(len(CASES)), ids=lambda i: _case_id(CASES[i]))
def test_depthwise_kernels_match_reference(case, build, libraries):
    _check(CASES[case], case, build, libraries, fast_quant=False)


# Small planes, where the DSP path's speed build runs 4 channels at a time straight from NHWC (te_depthwise.c's
# channel groups: 3x3 and 5x5 kernels, up to 25 outputs with stride 1, 144 with stride 2 or more, every
# channel's requantization te_quant_fast's): channel counts not a multiple of 4 (the rest go one at a time),
# strides 2 and 3, padding on one side only, and in place a ring of up to padding.h + 1 output rows.
GROUP_CASES = [
    ((3, 3, 9), 3, 1, (1, 1), 1),
    ((5, 5, 12), 3, 1, (1, 1), 1),
    ((4, 5, 6), 3, 1, (1, 1), 1),
    ((7, 5, 4), 3, 1, (0, 1), 1),
    ((5, 4, 5), 3, 1, (2, 0), 1),       # pad top 2: three output rows wait in the ring
    ((6, 6, 10), 3, 2, (1, 1), 1),
    ((12, 12, 8), 3, 2, (0, 0), 1),     # VALID
    ((24, 23, 4), 3, 2, (1, 1), 1),     # 12x12 outputs
    ((25, 5, 8), 3, 1, (1, 1), 1),      # a tall plane of narrow rows (kws's)
    ((40, 39, 4), 3, 2, (1, 1), 1),     # 20x20 outputs
    ((6, 3, 8), 3, 3, (1, 1), 1),       # stride 3
    ((5, 5, 7), 5, 2, (2, 2), 1),
    ((3, 4, 5), 5, 1, (2, 2), 1),       # window wider than the input
    ((5, 5, 4), 5, 1, (2, 2), 1),
    ((4, 4, 4), 3, 1, (1, 1), 2),       # depth multiplier: one channel at a time
]


@pytest.mark.parametrize("build", sorted(BUILDS))
@pytest.mark.parametrize("case", range(len(GROUP_CASES)), ids=lambda i: _case_id(GROUP_CASES[i]))
def test_depthwise_channel_groups_match_reference(case, build, libraries):
    _check(GROUP_CASES[case], 100 + case, build, libraries, fast_quant=True)


def _check(spec, seed, build, libraries, fast_quant):
    """Every kernel of the layer `spec` against the reference; fast_quant: every channel's shift in
    te_quant_fast's range (else some channels are outside it)."""
    (ih, iw, ic), k, stride, pads, dm = spec
    case = seed
    rng = np.random.default_rng(seed)
    oh = (ih + 2 * pads[0] - k) // stride + 1
    ow = (iw + 2 * pads[1] - k) // stride + 1
    oc = ic * dm
    zp_in, zp_out = int(rng.integers(-128, 128)), int(rng.integers(-20, 20))
    lo, hi = (-128, 127) if case % 2 else (zp_out, min(127, zp_out + 90))
    x = rng.integers(-128, 128, size=(ih, iw, ic)).astype(np.int64)
    filt = rng.integers(-127, 128, size=(k, k, oc)).astype(np.int64)
    bias = rng.integers(-3000, 3000, size=oc).astype(np.int64)
    mult = rng.integers(1 << 30, 1 << 31, size=oc).astype(np.int64)
    shift = rng.integers(-12, -5, size=oc).astype(np.int64)
    if not fast_quant:
        shift[::3] = rng.integers(0, 2, size=len(shift[::3]))  # some non-negative shifts (no right shift)
        shift[1::4] = -1                                       # a right shift of 1 (not te_quant_fast's)
    mult[::3] >>= 6
    quant = dict(input_offset=-zp_in, output_offset=zp_out, act_min=lo, act_max=hi)
    layer = depthwise_layer(0, 0, 1, (ih, iw, ic), (oh, ow, oc), (k, k), (stride, stride), (1, 1), pads, quant)
    folded = bias - zp_in * filt.reshape(-1, oc).sum(axis=0)
    consts = [np.ascontiguousarray(filt.transpose(2, 0, 1)).astype(np.int8), folded.astype(np.int32),
              mult.astype(np.int32), shift.astype(np.int32)]
    want = _reference(x, filt, bias, mult, shift, layer.params, dm, k, stride, pads, zp_in, zp_out, lo, hi)
    kernels = {layer.kernel, "te_depthwise_conv_s8"}
    if layer.inplace is not None:
        kernels |= {layer.inplace.kernel, "te_depthwise_conv_s8_inplace"}
    assert len(kernels) == (4 if dm == 1 else 2)
    for kernel in sorted(kernels):
        got = _run(libraries[build], kernel, layer, x, consts, "inplace" in kernel)
        assert np.array_equal(got, want), kernel


@pytest.mark.slow
def test_dsp_tiles_clean_in_sanitizer_arena(tmp_path):
    """The tiles read and write only inside their rows and scratch: mcunet_vww (3x3, 5x5 and 7x7 in place,
    strides 1 and 2) with the DSP path's tiles (emulated intrinsics) in the sanitizer-visible arena gives the
    portable build's output (about 35 s; test_depthwise_kernels_match_reference is the fast check)."""
    src = tmp_path / "src"
    tinyengine_tflite.convert(SUITE_DIR / "mcunet_vww_tinyengine.tflite", src)
    data = np.random.default_rng(0).integers(-128, 128, input_bytes(src)).astype(np.int8).tobytes()
    r, tiles = run(build(src, tmp_path, "sanitized", [*SANITIZE, "-DTE_EMULATE_DSP"]), tmp_path, data)
    assert sanitizer_clean(r), r.stderr[-3000:]
    r, portable = run(build(src, tmp_path, "plain", []), tmp_path, data)
    assert r.returncode == 0, r.stderr
    assert tiles == portable and len(portable) > 0
