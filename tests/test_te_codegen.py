"""Generated C: C99, warning-free on the host and Cortex-M, sanitizer-clean, no malloc, names sanitized."""
import re
import shutil
import subprocess

import numpy as np
import pytest
from modelgen import int8_tflite
from reference import SUITE_DIR, run_tinyengine

import flatbuffers
import tinyengine_tflite
from keras_mcunet._tf import keras
from tinyengine_tflite.schema import fb

STRICT = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic"]

MAIN_C = r"""
#include <stdio.h>
#include <string.h>
#include "model.h"

int main(int argc, char **argv) {
    (void)argc;
    FILE *f = fopen(argv[1], "rb");
    if (!f || fread(model_input(0), 1, MODEL_INPUT0_SIZE, f) != MODEL_INPUT0_SIZE) return 1;
    fclose(f);
    model_invoke();
    f = fopen(argv[2], "wb");
    if (!f || fwrite(model_output(0), 1, MODEL_OUTPUT0_SIZE, f) != MODEL_OUTPUT0_SIZE) return 1;
    fclose(f);
    return 0;
}
"""


def _model():
    def build(x):
        x = keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu6")(x)
        x = keras.layers.DepthwiseConv2D(3, padding="same", activation="relu6")(x)
        x = keras.layers.Conv2D(6, 1)(x)
        return keras.layers.Conv2D(4, 3, padding="valid")(x)
    return int8_tflite(build, [(15, 11, 3)], "codegen_net")


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    out = tmp_path_factory.mktemp("gen")
    report = tinyengine_tflite.convert(_model(), out)
    return out, report


def test_files_and_api(generated):
    out, report = generated
    assert {"model.h", "model.c", "model_weights.h", "model_weights.c", "te_kernels.h", "te_common.h", "te_conv.c",
            "CMakeLists.txt", "Makefile"} <= set(report.files)
    assert sorted(report.files) == sorted(p.name for p in out.iterdir())
    header = (out / "model.h").read_text()
    for decl in ("int8_t *model_input(int i);", "int8_t *model_output(int i);", "int model_invoke(void);",
                 "model_input_scale[]", "model_output_zero_point[]", f"#define MODEL_ARENA_BYTES {report.arena_bytes}"):
        assert decl in header
    source = (out / "model.c").read_text()
    # the lowering picks each layer's kernel variant: im2col for the 3x3s, the 1x1 kernel (either: the q15 variant
    # where the arena has room), depthwise unrolled for 3x3
    im2col, q15, pointwise = (source.count(f"{k}(&L") for k in ("te_conv2d_s8", "te_conv2d_s8_q15",
                                                                   "te_conv2d_1x1_s8_c4"))
    assert im2col + q15 + pointwise == 3 and pointwise <= 1
    assert "te_depthwise_conv_s8_inplace_k3(&L" in source


def test_no_malloc_and_nothing_host_specific(generated):
    out, _ = generated
    for f in out.glob("*.[ch]"):
        text = f.read_text()
        assert not re.search(r"\b(malloc|calloc|realloc|free|printf|fopen)\s*\(", text), f.name
        assert "#include <stdio.h>" not in text and "#include <stdlib.h>" not in text, f.name


def test_host_strict_build(generated, tmp_path):
    out, _ = generated
    srcs = [str(p) for p in out.glob("*.c")]
    r = subprocess.run(["gcc", *STRICT, "-O2", "-c", *srcs], cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


@pytest.mark.cortexm
@pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None,
                    reason="arm-none-eabi-gcc is not installed (apt-get install gcc-arm-none-eabi; .ci/run does)")
def test_cortex_m4_strict_build(generated, tmp_path):
    out, _ = generated
    srcs = [str(p) for p in out.glob("*.c")]
    r = subprocess.run(["arm-none-eabi-gcc", *STRICT, "-mcpu=cortex-m4", "-mthumb", "-Os", "-c", *srcs],
                       cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_sanitizers_clean_and_same_output(generated, tmp_path):
    out, _ = generated
    (tmp_path / "main.c").write_text(MAIN_C)
    exe = tmp_path / "run"
    r = subprocess.run(["gcc", *STRICT, "-g", "-O1", "-fsanitize=address,undefined", "-fno-sanitize-recover=all",
                        f"-I{out}", str(tmp_path / "main.c"), *[str(p) for p in out.glob("*.c")], "-o", str(exe)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    model = _model()
    x = np.random.default_rng(3).integers(-128, 128, (1, 15, 11, 3)).astype(np.int8)
    (tmp_path / "in.bin").write_bytes(x.tobytes())
    r = subprocess.run([str(exe), str(tmp_path / "in.bin"), str(tmp_path / "out.bin")], capture_output=True,
                       text=True)
    assert r.returncode == 0 and "runtime error" not in r.stderr and "ERROR" not in r.stderr, r.stderr
    got = np.frombuffer((tmp_path / "out.bin").read_bytes(), dtype=np.int8)
    assert (got == run_tinyengine(model, [x])[0].reshape(-1)).all()


def test_hostile_names_stay_data(tmp_path):
    m = fb.ModelT.InitFromPackedBuf((SUITE_DIR / "tflm_hello_world_int8.tflite").read_bytes(), 0)
    evil = b'x */ #include "/etc/passwd" /* \n int evil(void) { return 1; } //'
    for t in m.subgraphs[0].tensors:
        t.name = evil
    b = flatbuffers.Builder(1024)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    tinyengine_tflite.convert(bytes(b.Output()), tmp_path)
    text = "".join((tmp_path / f).read_text() for f in ("model.c", "model.h", "model_weights.c", "model_weights.h"))
    code = re.sub(r"/\*.*?\*/", "", text, flags=re.S)  # what the compiler sees outside comments
    assert "passwd" in text and "passwd" not in code and "evil" not in code
    r = subprocess.run(["gcc", *STRICT, "-c", str(tmp_path / "model.c"), "-o", str(tmp_path / "m.o")],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_prefix_must_be_identifier(tmp_path):
    with pytest.raises(ValueError, match="not a C identifier"):
        tinyengine_tflite.convert(SUITE_DIR / "tflm_hello_world_int8.tflite", tmp_path, prefix="my-model;")
    report = tinyengine_tflite.convert(SUITE_DIR / "tflm_hello_world_int8.tflite", tmp_path, prefix="hello")
    assert "hello.c" in report.files and "int hello_invoke(void);" in (tmp_path / "hello.h").read_text()
