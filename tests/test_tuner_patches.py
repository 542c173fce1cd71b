"""TinyNAS with patch-based inference (MCUNetV2): the profiler gives the compiler's patch-based peak for an arch,
the limits and the evolution check candidates against it, the space can redistribute the receptive field, and the
sample application searches and deploys with --patches auto."""
import json
import random
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import keras_mcunet as km
import tinyengine_tflite
from keras_mcunet.profiler import profile
from tuner import EvolutionOracle, Limits, SearchConfig, SpaceConfig
from tuner.pipeline import stage1_space

# High-resolution first stages, where patch-based execution pays off.
SPACE = km.SearchSpace(width_mults=(0.3,), resolutions=(96,), num_classes=2, stage_channels=(16, 24, 40),
                       stage_strides=(2, 2, 2), stage_depths=((1, 2), (1, 2), (1,)))


def _export(arch, seed=0):
    from keras_mcunet._tf import keras
    keras.utils.set_random_seed(seed)
    model = km.build_model(arch)
    rep = np.random.default_rng(seed).uniform(0, 1, (4, *arch.input_shape)).astype(np.float32)
    return km.export_tflite(model, None, representative_data=rep)


@pytest.mark.parametrize("seed", [0, pytest.param(1, marks=pytest.mark.slow)])
def test_patch_profile_equals_the_compiled_export(seed):
    arch = SPACE.sample(rng=seed)
    prof = profile(arch, patches="auto")
    report = tinyengine_tflite.convert(_export(arch, seed), None, patches="auto")
    assert report.patches is not None and prof.patch_plan == report.patches.plan == "{}x{}@{}".format(
        report.patches.rows, report.patches.cols, report.patches.split)
    assert prof.peak_sram_bytes == report.peak_sram_bytes < prof.layerwise_peak_sram_bytes
    assert prof.layerwise_peak_sram_bytes == report.layerwise_peak_sram_bytes == profile(arch).peak_sram_bytes
    assert prof.macs == report.macs > profile(arch).macs                  # the recomputed halos are counted
    assert prof.macs <= 1.2 * profile(arch).macs                          # within the default overhead cap
    assert profile(arch, patches=None) == profile(arch, patches="none") == profile(arch)
    assert profile(arch).patch_plan is None


def test_mac_overhead_cap_is_passed_through():
    arch = SPACE.sample(rng=0)
    none_allowed = profile(arch, patches="auto", max_mac_overhead=0.0)
    assert none_allowed.patch_plan is None and none_allowed.peak_sram_bytes == profile(arch).peak_sram_bytes
    assert profile(arch, patches="auto", max_mac_overhead=1.0).peak_sram_bytes <= \
        profile(arch, patches="auto").peak_sram_bytes


def test_limits_check_the_patch_based_peak():
    arch = SPACE.sample(rng=0)
    layerwise, patched = profile(arch), profile(arch, patches="auto")
    limit = (layerwise.peak_sram_bytes + patched.peak_sram_bytes) // 2
    assert not Limits(limit, 10 ** 9).check(arch)[0]
    fits, prof = Limits(limit, 10 ** 9, patches="auto").check(arch)
    assert fits and prof == patched
    assert Limits(limit, 10 ** 9, patches="auto").to_dict()["patches"] == "auto"
    assert "patches" not in Limits(limit, 10 ** 9).to_dict()                  # saved projects keep their keys
    assert Limits(limit, 10 ** 9, patches="none").patches is None
    assert "patch-based" in Limits(limit, 10 ** 9, patches="auto").describe()
    with pytest.raises(ValueError, match="memory_model='tinyengine'"):
        Limits(limit, 10 ** 9, memory_model="tflm", patches="auto")
    with pytest.raises(ValueError, match="patches"):
        Limits(limit, 10 ** 9, patches="3x3")
    with pytest.raises(ValueError, match="max_mac_overhead"):
        Limits(limit, 10 ** 9, patches="auto", max_mac_overhead=-0.1)


def test_evolution_under_a_patch_based_limit_finds_what_layerwise_cannot(tmp_path):
    rng = random.Random(0)
    archs = [SPACE.sample(rng) for _ in range(40)]
    limit = min(profile(a).peak_sram_bytes for a in archs) - 1            # no layer-wise subnet fits
    assert any(profile(a, patches="auto").peak_sram_bytes <= limit for a in archs)
    oracle = EvolutionOracle(SPACE, limit, 10 ** 9, patches="auto", population_size=4, generations=1, seed=0)
    oracle._set_project_dir(str(tmp_path), "p")
    oracle.verbose = 0
    for _ in range(4):
        trial = oracle.create_trial("t0")
        arch = oracle.arch_of(trial)
        assert profile(arch, patches="auto").peak_sram_bytes <= limit < profile(arch).peak_sram_bytes
        oracle.update_trial(trial.trial_id, {"val_accuracy": 0.5})
        oracle.end_trial(trial)
    with pytest.raises(ValueError, match="no subnet|smallest"):
        EvolutionOracle(SPACE, limit, 10 ** 9, population_size=4, generations=1, seed=0)


def test_receptive_field_redistribution():
    base = km.SearchSpace()
    moved = base.redistribute_receptive_field()
    assert moved.stage_depths[:2] == ((1, 2, 3, 4),) * 2                  # the patch stage may be shallower
    assert moved.stage_depths[2:5] == ((2, 3, 4, 5),) * 3                 # the later stages deeper
    assert moved.stage_depths[5] == base.stage_depths[5]                  # the single last block stays
    assert base.redistribute_receptive_field(1).stage_depths[1] == (2, 3, 4, 5)
    for bad in (0, 6, 1.5):
        with pytest.raises(ValueError, match="patch_stages"):
            base.redistribute_receptive_field(bad)
    # a search with patches="auto" of the paper's space searches the redistributed one, others the space as given
    patched = SearchConfig(num_classes=2, limits=Limits(256 * 1024, 1 << 20, patches="auto"))
    assert stage1_space(patched, (96, 96, 3), say=lambda _: None).stage_depths == moved.stage_depths
    plain = SearchConfig(num_classes=2)
    assert stage1_space(plain, (96, 96, 3), say=lambda _: None).stage_depths == base.stage_depths
    own = replace(patched, space=SpaceConfig(base=SPACE))
    assert stage1_space(own, (96, 96, 3), say=lambda _: None).stage_depths == SPACE.stage_depths
    asked = replace(own, space=SpaceConfig(base=SPACE, redistribute_receptive_field=True))
    assert stage1_space(asked, (96, 96, 3), say=lambda _: None).stage_depths == ((1, 2), (1, 2), (1,))
    config = SearchConfig.from_keywords(num_classes=2, patches="auto", max_mac_overhead=0.3,
                                        redistribute_receptive_field=False)
    assert config.limits.patches == "auto" and config.limits.max_mac_overhead == 0.3
    assert config.space.redistribute_receptive_field is False


def test_sample_budget_takes_patches():
    from samples.budget import budget_from_args
    from samples.vww.__main__ import build_parser
    b = budget_from_args(build_parser().parse_args(["--preset", "quick", "--patches", "auto"]))
    assert b.patches == "auto"
    kw = b.search_kwargs()
    assert kw["patches"] == "auto" and kw["redistribute_receptive_field"] is True
    plain = budget_from_args(build_parser().parse_args(["--preset", "quick"]))
    assert plain.patches is None and "patches" not in plain.search_kwargs()


@pytest.mark.slow
def test_vww_sample_searches_and_deploys_patch_based(tmp_path, capsys):
    """python -m samples.vww --patches auto: searched under the patch-based SRAM limit, deployed patch-based,
    the deployed C and the emulated firmware equal the Python path."""
    from samples.vww.__main__ import main
    out = tmp_path / "vww"
    limit = 40 * 1024
    args = ["--out", str(out), "--preset", "quick", "--patches", "auto", "--sram-limit", str(limit),
            "--samples-per-class", "60", "--val-samples-per-class", "10", "--width-mults", "0.3",
            "--resolutions", "96", "--space-samples", "20", "--supernet-epochs", "1", "--supernet-steps", "4",
            "--population", "2", "--generations", "1", "--finetune-epochs", "1", "--qat-epochs", "1", "--quiet",
            "--no-bench"]
    assert main(args) == 0
    res = json.loads((out / "results.json").read_text())
    arch = km.ArchConfig.from_dict(res["arch"])
    prof = profile(arch, patches="auto")
    assert prof.peak_sram_bytes <= limit
    assert res["model"]["peak_sram_bytes"] == prof.peak_sram_bytes                 # profiler == compiler
    assert res["model"]["patch_plan"] == prof.patch_plan
    assert res["deploy"]["sample"]["input_matches"] and res["deploy"]["sample"]["logits_match"]
    if shutil.which("arm-none-eabi-gcc"):
        assert res["firmware"]["matches_host"]
    assert "patch-based inference" in (out / "results.md").read_text()
    assert "patch" in Path(out / "deploy" / "memory_report.txt").read_text()
