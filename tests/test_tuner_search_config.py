"""SearchConfig: search()'s settings as one object grouped by stage; keyword arguments map onto it."""
import json

import numpy as np
import pytest

import keras_mcunet as km
from tuner import EvolutionConfig, Limits, SearchConfig, SpaceConfig, SupernetConfig
from tuner.search_config import KEYWORDS


def test_keywords_map_onto_the_groups():
    config = SearchConfig.from_keywords(
        None, num_classes=4, sram_limit=64 * 1024, max_macs=10**6, width_mults=[0.3], space_samples=7,
        supernet_epochs=3, supernet_distill=False, population_size=6, mutation_prob=0.2, finetune_from="scratch",
        finetune_epochs=0, batch_size=8, project_name="p")
    assert config.limits == Limits(64 * 1024, 1024 * 1024, 10**6)
    assert config.space == SpaceConfig(width_mults=(0.3,), samples=7)
    assert (config.supernet.epochs, config.supernet.distill, config.supernet.learning_rate) == (3, False, 1e-2)
    assert (config.evolution.population_size, config.evolution.mutation_prob) == (6, 0.2)
    assert (config.finetune.start_from, config.finetune.epochs) == ("scratch", 0)
    assert (config.batch_size, config.project_name, config.num_classes) == (8, "p", 4)
    # keywords apply on top of a config; the config itself is not changed
    base = SearchConfig(num_classes=4, supernet=SupernetConfig(epochs=5), evolution=EvolutionConfig(generations=2))
    both = SearchConfig.from_keywords(base, generations=4, seed=3)
    assert (both.supernet.epochs, both.evolution.generations, both.seed) == (5, 4, 3)
    assert base.evolution.generations == 2
    assert SearchConfig.from_keywords(base) is base
    # every keyword of the old signature is still accepted; the patch-based ones (MCUNetV2) and the shared
    # supernet store and the evolution's objective are new
    new = {"patches", "max_mac_overhead", "redistribute_receptive_field", "shared_supernets", "objective"}
    assert new <= set(KEYWORDS)
    assert set(KEYWORDS) - new == set(
        "num_classes sram_limit flash_limit max_macs memory_model directory project_name overwrite space "
        "width_mults resolutions space_samples min_fit_fraction supernet_epochs supernet_steps_per_epoch "
        "supernet_learning_rate num_random supernet_distill population_size generations parent_ratio "
        "mutation_ratio mutation_prob calibration_batches batch_size finetune_epochs finetune_learning_rate "
        "finetune_from strategy seed verbose worker_timeout".split())


def test_resume_key_holds_what_search_config_json_always_held():
    config = SearchConfig(num_classes=2)
    key = config.resume_key(km.SearchSpace(num_classes=2))
    assert sorted(key) == sorted(["limits", "space", "space_samples", "min_fit_fraction", "seed", "population_size",
                                  "parent_ratio", "mutation_ratio", "mutation_prob", "objective"])
    assert key["limits"] == {"sram_limit": 320 * 1024, "flash_limit": 1024 * 1024, "max_macs": None}


def test_a_project_saved_before_the_objective_setting_resumes_as_accuracy_ranked(tmp_path):
    from tuner.project_files import SEARCH_CONFIG, check_search_config, write_json
    key = SearchConfig(num_classes=2).resume_key(km.SearchSpace(num_classes=2))
    old = {k: v for k, v in key.items() if k != "objective"}
    write_json(str(tmp_path / SEARCH_CONFIG), json.loads(json.dumps(old)))
    check_search_config(str(tmp_path), {**key, "objective": "val_accuracy"})
    with pytest.raises(ValueError, match="objective: saved 'val_accuracy', now 'val_loss'"):
        check_search_config(str(tmp_path), {**key, "objective": "val_loss"})


def test_search_rejects_unknown_and_missing_settings(tmp_path):
    x, y = np.zeros((8, 16, 16, 1), np.float32), np.zeros(8, np.int64)
    with pytest.raises(TypeError, match=r"unexpected keyword argument\(s\) 'supernet_epoch'.*supernet_epochs"):
        km.search((x, y), (x, y), num_classes=2, supernet_epoch=3, directory=str(tmp_path))
    with pytest.raises(TypeError, match="needs num_classes"):
        km.search((x, y), (x, y), directory=str(tmp_path))
    with pytest.raises(TypeError, match="config must be a SearchConfig"):
        km.search((x, y), (x, y), config={"num_classes": 2})
    with pytest.raises(ValueError, match="space_samples must be an int >= 1"):
        SpaceConfig(samples=0)
    with pytest.raises(ValueError, match="limits must be a Limits"):
        SearchConfig(num_classes=2, limits=(1, 2))
    assert not list(tmp_path.iterdir())                                   # nothing written
