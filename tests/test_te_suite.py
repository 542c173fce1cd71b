"""Every real model of the suite (../shared/models) converts and runs bit-exactly, on several random inputs: the
default conversion against LiteRT's reference kernels, the reference="tflm" conversion against TFLite Micro."""
import pytest
from reference import assert_bit_exact, suite_params

import tinyengine_tflite

# The 2.3 MB ImageNet model takes minutes in the reference interpreters: run it with -m slow.
SLOW = {"mcunetv2_large"}


@pytest.mark.parametrize("path", suite_params(slow=SLOW))
def test_suite_model_bit_exact(path):
    assert_bit_exact(path.read_bytes(), seeds=(0, 1, 2))


@pytest.mark.parametrize("path", suite_params())
def test_suite_model_report(path, tmp_path):
    report = tinyengine_tflite.convert(path, tmp_path)
    assert 0 < report.lower_bound_bytes <= report.peak_sram_bytes
    assert report.flash_bytes <= path.stat().st_size
    assert len(report.layers) > 0 and report.macs > 0
