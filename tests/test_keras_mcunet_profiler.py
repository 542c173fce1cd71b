"""The exact memory profiler: what it predicts from an ArchConfig alone is what tinyengine_tflite allocates for
the exported int8 model."""
import numpy as np
import pytest

import keras_mcunet as km
import tinyengine_tflite


def _export(arch, seed):
    from keras_mcunet._tf import keras
    keras.utils.set_random_seed(seed)
    model = km.build_model(arch)
    rep = np.random.default_rng(seed).uniform(0, 1, (4, *arch.input_shape)).astype(np.float32)
    return km.export_tflite(model, None, representative_data=rep)


def _archs():
    small = km.SearchSpace(width_mults=(0.2, 0.3), resolutions=(32, 48, (40, 24)), num_classes=5)
    audio = km.SearchSpace(width_mults=(0.25,), resolutions=((49, 10),), in_channels=1, num_classes=12)
    archs = [small.sample(rng=i) for i in range(16)] + [audio.sample(rng=100 + i) for i in range(3)]
    return archs + [small.max_arch(), small.min_arch()]


# The default run checks one of each kind (random small, audio, the largest); -m slow checks them all.
_DEFAULT_RUN = {0, 16, 19}


@pytest.mark.parametrize("k", [pytest.param(k, marks=[] if k in _DEFAULT_RUN else [pytest.mark.slow])
                               for k in range(len(_archs()))])
def test_profile_equals_compiled_export(k):
    arch = _archs()[k]
    profile = km.profile(arch)
    report = tinyengine_tflite.convert(_export(arch, k), None)
    assert profile.peak_sram_bytes == report.peak_sram_bytes
    assert abs(profile.flash_bytes - report.flash_bytes) <= 0.02 * report.flash_bytes
    assert profile.macs == report.macs
    assert profile.fits(report.peak_sram_bytes, report.flash_bytes + report.flash_bytes // 50)
    assert not profile.fits(report.peak_sram_bytes - 1)


def test_profile_rejects_non_arch():
    with pytest.raises(ValueError, match="ArchConfig"):
        km.profile({"width_mult": 0.5})


def test_profile_grows_with_width_and_resolution():
    space = km.SearchSpace()
    arch = space.sample(rng=3)
    from dataclasses import replace
    wider = replace(arch, width_mult=1.0) if arch.width_mult < 1.0 else arch
    bigger = replace(arch, resolution=224) if arch.resolution != 224 else arch
    assert km.profile(wider).flash_bytes >= km.profile(arch).flash_bytes
    assert km.profile(bigger).peak_sram_bytes >= km.profile(arch).peak_sram_bytes
