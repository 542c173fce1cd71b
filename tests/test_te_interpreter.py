"""tinyengine_tflite.Interpreter behaves like tf.lite.Interpreter: details, errors, independence, caching."""
import multiprocessing
import os

import numpy as np
import pytest
from modelgen import int8_tflite
from reference import SUITE_DIR

import tinyengine_tflite
from ai_edge_litert.interpreter import Interpreter as LiteRT, OpResolverType
from keras_mcunet._tf import keras


def _float_io_model():
    return int8_tflite(lambda x: keras.layers.Conv2D(3, 3, padding="same")(x), [(7, 6, 2)], "interp_float_io",
                       float_io=True)


def _both(model):
    ours = tinyengine_tflite.Interpreter(model_content=model)
    ref = LiteRT(model_content=model, experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    return ours, ref


@pytest.mark.parametrize("which", ["int8", "float"])
def test_details_match_tflite(which):
    model = (SUITE_DIR / "tflm_hello_world_int8.tflite").read_bytes() if which == "int8" else _float_io_model()
    ours, ref = _both(model)
    ours.allocate_tensors()
    ref.allocate_tensors()
    for a, b in zip(ours.get_input_details() + ours.get_output_details(),
                    ref.get_input_details() + ref.get_output_details()):
        for key in ("name", "index", "dtype", "quantization"):
            assert a[key] == b[key], key
        assert (a["shape"] == b["shape"]).all()
        for key in ("scales", "zero_points"):
            assert (a["quantization_parameters"][key] == b["quantization_parameters"][key]).all()


def test_float_io_is_quantized_like_tflite():
    model = _float_io_model()
    ours, ref = _both(model)
    for it in (ours, ref):
        it.allocate_tensors()
    rng = np.random.default_rng(0)
    for k in range(4):
        x = rng.normal(0, 2.0, (1, 7, 6, 2)).astype(np.float32)
        if k == 0:  # exact halves and out-of-range values exercise rounding and clamping
            x.flat[:6] = np.array([0.5, -0.5, 1e6, -1e6, 0.0, 2.5], dtype=np.float32)
        outs = []
        for it in (ours, ref):
            it.set_tensor(it.get_input_details()[0]["index"], x)
            it.invoke()
            outs.append(it.get_tensor(it.get_output_details()[0]["index"]))
        assert outs[0].dtype == np.float32 and (outs[0].view(np.uint32) == outs[1].view(np.uint32)).all()


def test_errors_are_the_same_kind_as_tflite():
    model = (SUITE_DIR / "tflm_hello_world_int8.tflite").read_bytes()
    ours, ref = _both(model)
    for it in (ours, ref):
        with pytest.raises(RuntimeError):
            it.invoke()
        with pytest.raises(ValueError):
            it.set_tensor(0, np.zeros((1, 1), np.int8))
        it.allocate_tensors()
        idx = it.get_input_details()[0]["index"]
        with pytest.raises(ValueError, match="FLOAT32"):
            it.set_tensor(idx, np.zeros((1, 1), np.float32))
        with pytest.raises(ValueError, match="Dimension mismatch"):
            it.set_tensor(idx, np.zeros((1, 2), np.int8))
        with pytest.raises(ValueError, match="Dimension mismatch"):
            it.set_tensor(idx, np.zeros((1,), np.int8))
    with pytest.raises(ValueError):
        tinyengine_tflite.Interpreter()


def test_two_interpreters_are_independent():
    model = (SUITE_DIR / "tflm_hello_world_int8.tflite").read_bytes()
    a = tinyengine_tflite.Interpreter(model_content=model)
    b = tinyengine_tflite.Interpreter(model_path=str(SUITE_DIR / "tflm_hello_world_int8.tflite"))
    for it in (a, b):
        it.allocate_tensors()
    a.set_tensor(0, np.array([[10]], np.int8))
    b.set_tensor(0, np.array([[-100]], np.int8))
    a.invoke()
    b.invoke()
    out = a.get_output_details()[0]["index"]
    ya, yb = a.get_tensor(out), b.get_tensor(out)
    a.invoke()
    assert (a.get_tensor(out) == ya).all() and ya[0, 0] != yb[0, 0]
    assert (a.get_tensor(0) == [[10]]).all()


def _build_in_child(cache):
    os.environ["TINYENGINE_CACHE"] = cache
    it = tinyengine_tflite.Interpreter(model_path=str(SUITE_DIR / "mlperf_ad01_int8.tflite"))
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], np.ones((1, 640), np.int8))
    it.invoke()
    return it.get_tensor(it.get_output_details()[0]["index"]).tobytes()


def test_concurrent_builds_share_one_cache_entry(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(3) as pool:
        results = pool.map(_build_in_child, [str(tmp_path)] * 3)
    assert results[0] == results[1] == results[2]
    libs = list(tmp_path.glob("*/libmodel.so"))
    assert len(libs) == 1
    assert not list(tmp_path.glob("*/build-*")), "temporary build folders were left behind"


def test_kernel_objects_compile_once_per_toolchain_flags_and_source(tmp_path, monkeypatch):
    """The kernel library's objects are cached by the compiler (its identity, not its path), the flags, the
    source and every te_*.h beside it; a cache hit gives the first build's warnings back."""
    from tinyengine_tflite.build import compiler, kernel_objects
    from tinyengine_tflite.codegen import copy_kernels
    monkeypatch.setenv("TINYENGINE_CACHE", str(tmp_path / "cache"))
    srcs = []
    for name in ("a", "b", "c"):
        (tmp_path / name).mkdir()
        copy_kernels(tmp_path / name)
        srcs.append(tmp_path / name)
    flags = ["-std=c99", "-O1", "-fPIC", "-Wall"]

    def build(src, cc=compiler(), extra=()):
        got = kernel_objects(src, [cc, *flags, *extra], names=["te_pool.c"])
        return got.objects["te_pool.c"], got.messages
    first, messages = build(srcs[0])
    assert messages == "" and first.exists()
    stamp = first.stat().st_mtime_ns
    assert build(srcs[1])[0] == first and first.stat().st_mtime_ns == stamp       # another copy: a hit
    for folder in ("w1", "w2"):                                                     # equal wrappers: one entry
        wrapper = tmp_path / folder / "cc"
        wrapper.parent.mkdir()
        wrapper.write_text(f'#!/bin/sh\nexec {compiler()} "$@"\n')
        wrapper.chmod(0o755)
    wrapped = build(srcs[0], str(tmp_path / "w1" / "cc"))[0]
    assert wrapped != first and build(srcs[0], str(tmp_path / "w2" / "cc"))[0] == wrapped
    assert build(srcs[0], extra=["-DTE_EMULATE_DSP"])[0] != first                  # other flags
    with open(srcs[1] / "te_common.h", "a") as f:                                  # a header changed
        f.write("/* changed */\n")
    assert build(srcs[1])[0] != first
    with open(srcs[2] / "te_pool.c", "a") as f:                                    # a source that warns
        f.write("static int te_unused_probe;\n")
    warned, messages = build(srcs[2])
    assert warned != first and "te_unused_probe" in messages
    assert build(srcs[2])[1] == messages
    assert not list((tmp_path / "cache").glob("objects/*.tmp*"))


def test_reference_option(tmp_path, monkeypatch):
    """reference="tflm" builds its own cached library, whose outputs equal TFLM's where LiteRT's differ
    (mlperf_ad01's FULLY_CONNECTED layers round differently); tf.lite.Interpreter's other keywords are still
    accepted, and an unknown reference is a ValueError naming the allowed values."""
    from reference import random_inputs, run_litert, run_tflm
    monkeypatch.setenv("TINYENGINE_CACHE", str(tmp_path))
    model = (SUITE_DIR / "mlperf_ad01_int8.tflite").read_bytes()
    its = {ref: tinyengine_tflite.Interpreter(model_content=model, reference=ref, num_threads=2,
                                              experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
           for ref in ("litert", "tflm")}
    x = random_inputs(its["litert"].get_input_details(), 0)[0]
    outs = {}
    for ref, it in its.items():
        it.allocate_tensors()
        it.set_tensor(it.get_input_details()[0]["index"], x)
        it.invoke()
        outs[ref] = it.get_tensor(it.get_output_details()[0]["index"])
    np.testing.assert_array_equal(outs["litert"], run_litert(model, [x])[0])
    np.testing.assert_array_equal(outs["tflm"], run_tflm(model, [x], 1)[0])
    assert np.count_nonzero(outs["litert"] != outs["tflm"]) > 0
    sources = sorted(p.read_text() for p in tmp_path.glob("*/src/model.c"))
    assert len(list(tmp_path.glob("*/libmodel.so"))) == 2 and len(sources) == 2
    assert [".double_rounding = 1" in src for src in sources].count(True) == 1
    for bad in ("tflite", "LiteRT", None):
        with pytest.raises(ValueError, match="'litert', 'tflm'"):
            tinyengine_tflite.Interpreter(model_content=model, reference=bad)
        with pytest.raises(ValueError, match="'litert', 'tflm'"):
            tinyengine_tflite.compile_model(model, reference=bad)
        with pytest.raises(ValueError, match="'litert', 'tflm'"):
            tinyengine_tflite.convert(model, tmp_path / "c", reference=bad)
    assert not (tmp_path / "c").exists()


def test_model_path_kinds_and_keywords_like_tflite():
    """model_path as str, bytes or os.PathLike; tf.lite.Interpreter's keyword arguments accepted, and checked as
    LiteRT checks them (same exception types and messages); OpResolverType has TFLite's members."""
    path = SUITE_DIR / "tflm_hello_world_int8.tflite"
    ref = LiteRT(model_path=str(path), experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    ref.allocate_tensors()
    ref.set_tensor(0, np.array([[37]], np.int8))
    ref.invoke()
    want = ref.get_tensor(ref.get_output_details()[0]["index"])
    for model_path in (str(path), os.fsencode(path), path):
        for resolver in (OpResolverType.BUILTIN_REF, tinyengine_tflite.OpResolverType.AUTO):
            it = tinyengine_tflite.Interpreter(model_path=model_path, num_threads=2, experimental_delegates=[],
                                               experimental_op_resolver_type=resolver,
                                               experimental_preserve_all_tensors=False,
                                               experimental_disable_delegate_clustering=True,
                                               experimental_default_delegate_latest_features=False)
            it.allocate_tensors()
            it.set_tensor(0, np.array([[37]], np.int8))
            it.invoke()
            assert (it.get_tensor(it.get_output_details()[0]["index"]) == want).all()
    assert [(m.name, m.value) for m in tinyengine_tflite.OpResolverType] == \
        [(m.name, m.value) for m in OpResolverType]
    for kwargs, error, message in (({"num_threads": "2"}, ValueError, "type of num_threads should be int"),
                                   ({"num_threads": 0}, ValueError, "num_threads should >= 1"),
                                   ({"experimental_op_resolver_type": "BUILTIN_REF"}, ValueError,
                                    "Unrecognized passed in op resolver type"),
                                   ({"threads": 2}, TypeError, "unexpected keyword argument 'threads'")):
        for cls in (tinyengine_tflite.Interpreter, LiteRT):
            with pytest.raises(error, match=message):
                cls(model_path=str(path), **kwargs)
    with pytest.raises(ValueError, match="no_such.tflite"):
        tinyengine_tflite.Interpreter(model_path=path.parent / "no_such.tflite")


def test_reset_all_variables():
    """A model without state: reset_all_variables() returns None as TFLite's does and leaves the model's
    behaviour alone (stateful models: test_te_svdf)."""
    model = (SUITE_DIR / "mlperf_ad01_int8.tflite").read_bytes()
    ours, ref = _both(model)
    x = np.random.default_rng(5).integers(-128, 128, (1, 640)).astype(np.int8)
    outs = []
    for it in (ours, ref, ours):
        it.allocate_tensors()
        assert it.reset_all_variables() is None
        it.set_tensor(it.get_input_details()[0]["index"], x)
        it.invoke()
        assert it.reset_all_variables() is None
        outs.append(it.get_tensor(it.get_output_details()[0]["index"]))
    assert (outs[0] == outs[1]).all() and (outs[2] == outs[1]).all()
