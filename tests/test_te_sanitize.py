"""The sanitizer-visible arena (issue 14): built with -D{P}_SANITIZE_ARENA, every planned allocation is its own
object, so AddressSanitizer reports any kernel that reads or writes outside its planned range. Every suite model
runs through it under -fsanitize=address,undefined and gives the outputs of the ordinary (one-arena) build."""
import re

import numpy as np
import pytest
from reference import SUITE_DIR, suite_params
from sanitized import SANITIZE, build, input_bytes, run, sanitizer_clean

import tinyengine_tflite


@pytest.mark.parametrize("path", suite_params(slow=("mcunetv2_large",)))
def test_suite_model_clean_in_sanitizer_arena(path, tmp_path):
    src = tmp_path / "src"
    tinyengine_tflite.convert(path, src)
    data = np.random.default_rng(0).integers(-128, 128, input_bytes(src)).astype(np.int8).tobytes()
    r, sanitized = run(build(src, tmp_path, "sanitized", SANITIZE), tmp_path, data)
    assert sanitizer_clean(r), r.stderr[-3000:]
    r, plain = run(build(src, tmp_path, "plain", []), tmp_path, data)
    assert r.returncode == 0, r.stderr
    assert sanitized == plain and len(plain) > 0


def test_sanitizer_arena_catches_an_overflow(tmp_path):
    """The check itself: with one allocation a byte short of its plan, ASan reports the kernel that writes it."""
    src = tmp_path / "src"
    tinyengine_tflite.convert(SUITE_DIR / "mlperf_ic_resnet8_int8.tflite", src)
    code = (src / "model.c").read_text()
    out = re.search(r"#define L0_OUT \(te_alloc(\d+)\)", code).group(1)
    size = int(re.search(rf"static int8_t te_alloc{out}\[(\d+)\]", code).group(1))
    (src / "model.c").write_text(code.replace(f"te_alloc{out}[{size}]", f"te_alloc{out}[{size - 1}]"))
    r, _ = run(build(src, tmp_path, "sanitized", SANITIZE), tmp_path, bytes(input_bytes(src)))
    assert r.returncode != 0 and "global-buffer-overflow" in r.stderr, r.stderr[-2000:]
    assert f"0 bytes to the right of global variable 'te_alloc{out}'" in r.stderr, r.stderr[-2000:]
