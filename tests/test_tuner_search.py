"""keras_mcunet.search end to end (stage 1, supernet, evolution, fine-tuning) on scikit-learn's digits with
tiny budgets: numpy and tf.data inputs, the project files, loading a finished search, and errors."""
import json

import numpy as np
import pytest

import keras_mcunet as km
from keras_mcunet._tf import keras, tf
from keras_mcunet.profiler import profile
from tuner import NoFeasibleSpaceError

SPACE = km.SearchSpace(stage_channels=(24, 40, 80), stage_strides=(2, 2, 2), stage_depths=((1, 2), (1, 2), (1, 2)),
                       kernel_sizes=(3, 5), expand_ratios=(3, 6))
SRAM, FLASH = 48 * 1024, 96 * 1024
BUDGET = dict(width_mults=(0.2, 0.3), resolutions=(32, 48), space_samples=40, min_fit_fraction=0.05,
              supernet_epochs=2, supernet_steps_per_epoch=12, population_size=4, generations=1,
              calibration_batches=2, batch_size=32, finetune_epochs=2, verbose=0)


def _digits():
    from sklearn.datasets import load_digits
    d = load_digits()
    x = (d.images / 16.0)[..., None].astype(np.float32)          # 8x8x1, resized by search
    return (x[:1200], d.target[:1200]), (x[1200:], d.target[1200:])


@pytest.fixture(scope="module")
def numpy_run(tmp_path_factory):
    directory = tmp_path_factory.mktemp("search")
    train, val = _digits()
    model = km.search(train, val, num_classes=10, sram_limit=SRAM, flash_limit=FLASH, directory=str(directory),
                      project_name="digits", space=SPACE, **BUDGET)
    return model, directory / "digits", train, val


def test_search_returns_a_trained_model_within_the_limits(numpy_run):
    model, project, _, (x_val, y_val) = numpy_run
    best = json.loads((project / "best_arch.json").read_text())
    arch = km.ArchConfig.from_dict(best["arch"])
    p = profile(arch)
    assert p.peak_sram_bytes <= SRAM and p.flash_bytes <= FLASH
    assert best["profile"]["peak_sram_bytes"] == p.peak_sram_bytes
    stage1 = json.loads((project / "space_optimization.json").read_text())
    chosen = max((s for s in stage1["stats"] if len(s["macs"]) >= 0.05 * s["num_samples"]),
                 key=lambda s: np.mean(s["macs"]))
    assert (arch.width_mult, arch.resolution) == (chosen["width_mult"], chosen["resolution"])
    assert tuple(model.input_shape[1:]) == (arch.resolution, arch.resolution, 1)
    assert [layer.name for layer in model.layers] == [layer.name for layer in km.build_model(arch).layers]
    x = tf.image.resize(x_val, (arch.resolution, arch.resolution)).numpy()
    accuracy = model.evaluate(x, y_val, verbose=0)[1]
    assert accuracy > 0.3                                                # chance is 0.1
    info = json.loads((project / "best_model.json").read_text())
    assert info["val_accuracy"] == pytest.approx(accuracy, abs=1e-6)


def test_project_holds_every_artifact(numpy_run):
    _, project, _, _ = numpy_run
    for name in ("search_config.json", "space_optimization.json", "space_optimization.txt", "space_macs_cdf.png",
                 "supernet/checkpoint", "supernet/trained.json", "oracle.json", "tuner0.json", "search_progress.png",
                 "best_arch.json", "best_model.weights.h5", "best_model.json"):
        assert (project / name).exists(), name
    trials = sorted(project.glob("trial_*/trial.json"))
    assert len(trials) == 8
    assert all(json.loads(t.read_text())["status"] == "COMPLETED" for t in trials)
    assert "<- chosen" in (project / "space_optimization.txt").read_text()
    assert (project / "space_macs_cdf.png").read_bytes()[:4] == b"\x89PNG"


def test_finished_search_loads_its_model(numpy_run, capsys):
    model, project, train, val = numpy_run
    stamp = (project / "best_model.weights.h5").stat().st_mtime_ns
    again = km.search(train, val, num_classes=10, sram_limit=SRAM, flash_limit=FLASH,
                      directory=str(project.parent), project_name="digits", space=SPACE, **{**BUDGET, "verbose": 1})
    out = capsys.readouterr().out
    assert "reusing the search-space optimization" in out and "loading the fine-tuned model" in out
    assert "supernet epoch" not in out
    assert (project / "best_model.weights.h5").stat().st_mtime_ns == stamp
    x = np.random.default_rng(0).random((4, *model.input_shape[1:]), dtype=np.float32)
    np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-5)


def test_winner_can_be_trained_from_scratch_instead(numpy_run, capsys):
    model, project, train, val = numpy_run
    stamps = {p: p.stat().st_mtime_ns for p in project.glob("trial_*/trial.json")}
    again = km.search(train, val, num_classes=10, sram_limit=SRAM, flash_limit=FLASH,
                      directory=str(project.parent), project_name="digits", space=SPACE,
                      **{**BUDGET, "verbose": 1, "finetune_from": "scratch"})
    out = capsys.readouterr().out
    assert "from scratch for 2 epochs" in out and "supernet epoch" not in out
    info = json.loads((project / "best_model.json").read_text())
    assert info["finetune_from"] == "scratch"
    assert [layer.name for layer in again.layers] == [layer.name for layer in model.layers]
    assert any(np.abs(a - b).max() > 1e-3 for a, b in zip(again.get_weights(), model.get_weights()))
    assert all(p.stat().st_mtime_ns == stamp for p, stamp in stamps.items())     # no trial ran again


def test_resuming_with_other_limits_is_refused(numpy_run):
    _, project, train, val = numpy_run
    with pytest.raises(ValueError, match="other settings.*limits"):
        km.search(train, val, num_classes=10, sram_limit=SRAM // 2, flash_limit=FLASH,
                  directory=str(project.parent), project_name="digits", space=SPACE, **BUDGET)


def test_search_accepts_tf_data_and_a_strategy(tmp_path):
    (x, y), (xv, yv) = _digits()
    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    train = tf.data.Dataset.from_tensor_slices((x[:600], y[:600])).shuffle(600, seed=0)
    val = tf.data.Dataset.from_tensor_slices((xv, yv)).batch(64)
    budget = {**BUDGET, "width_mults": (0.2,), "resolutions": (32,), "finetune_epochs": 1}
    model = km.search(train, val, num_classes=10, sram_limit=SRAM, flash_limit=FLASH, directory=str(tmp_path),
                      project_name="ds", space=SPACE, strategy=strategy, **budget)
    assert tuple(model.input_shape[1:]) == (32, 32, 1)
    assert model.distribute_strategy is strategy        # supernet and fine-tuning ran under the strategy
    assert len(list((tmp_path / "ds").glob("trial_*/trial.json"))) == 8


def test_impossible_limits_name_the_smallest_sram(tmp_path):
    import re
    from dataclasses import replace
    train, val = _digits()
    with pytest.raises(NoFeasibleSpaceError, match="smallest peak SRAM found is") as error:
        km.search(train, val, num_classes=10, sram_limit=1024, flash_limit=FLASH, directory=str(tmp_path),
                  project_name="tiny", space=SPACE, **BUDGET)
    named = int(re.search(r"\((\d+) bytes, space w0.2-r32\)", str(error.value)).group(1))
    full = replace(SPACE, num_classes=10, in_channels=1, width_mults=(0.2, 0.3), resolutions=(32, 48))
    assert 1024 < named <= profile(full.min_arch()).peak_sram_bytes
    stage1 = json.loads((tmp_path / "tiny" / "space_optimization.json").read_text())
    assert named == min(s["min_sram_bytes"] for s in stage1["stats"])
    # the table and the plot are still written for the user to look at
    assert (tmp_path / "tiny" / "space_macs_cdf.png").exists()


@pytest.mark.parametrize("kwargs, message", [
    ({"sram_limit": -1}, "sram_limit must be positive"),
    ({"flash_limit": 0}, "flash_limit must be positive"),
    ({"num_classes": 0}, "num_classes must be an int >= 1"),
    ({"supernet_epochs": -1}, "supernet_epochs must be an int >= 0"),
    ({"finetune_learning_rate": 0}, "finetune_learning_rate must be a number > 0"),
    ({"population_size": 1}, "population_size must be an int >= 2"),
    ({"mutation_prob": -0.1}, "mutation_prob must be a number in"),
    ({"min_fit_fraction": 1.5}, "min_fit_fraction must be a number in"),
    ({"finetune_from": "imagenet"}, "finetune_from must be 'supernet' or 'scratch'"),
    ({"objective": "loss"}, "objective must be 'val_loss' or 'val_accuracy'"),
])
def test_bad_arguments(tmp_path, kwargs, message):
    train, val = _digits()
    args = {"num_classes": 10, "sram_limit": SRAM, "flash_limit": FLASH, "directory": str(tmp_path),
            "space": SPACE, **BUDGET, **kwargs}
    with pytest.raises(ValueError, match=message):
        km.search(train, val, **args)


def test_bad_data_is_rejected(tmp_path):
    (x, y), val = _digits()
    args = {"num_classes": 10, "sram_limit": SRAM, "flash_limit": FLASH, "directory": str(tmp_path),
            "space": SPACE, **BUDGET}
    with pytest.raises(ValueError, match="train_data: inputs must be a 4-D array"):
        km.search((x[..., 0], y), val, **args)
    with pytest.raises(ValueError, match="train_data: 1200 inputs but 10 labels"):
        km.search((x, y[:10]), val, **args)
    with pytest.raises(ValueError, match="3 channels"):
        km.search((np.repeat(x, 3, axis=-1), y), val, **args)


def test_training_keeps_its_best_epoch_even_the_starting_weights(tmp_path):
    from tuner.finetune import BestEpoch, train_classifier
    space = km.SearchSpace(width_mults=(0.25,), resolutions=(8,), in_channels=1, num_classes=10,
                           stage_channels=(24,), stage_strides=(2,), stage_depths=((1,),))
    (x, y), (xv, yv) = _digits()
    train, val = (x, y), (xv[:128], yv[:128])
    # Seeded, and at a rate that trains this net on every seed tried (0.94-0.97 after 5 epochs on seeds 0-7, at
    # 3e-2 and at 1e-2; before BN_MOMENTUM 0.9 some seeds stayed near chance at 1e-2 because the BN statistics
    # lagged), so the premise holds by construction.
    keras.utils.set_random_seed(0)
    model = km.build_model(space.max_arch())
    good = train_classifier(model, train, val, epochs=5, learning_rate=3e-2, batch_size=32, verbose=0)
    assert good > 0.5                                         # chance is 0.1
    start = [w.copy() for w in model.get_weights()]
    # A learning rate that wrecks the weights: the result is the starting point, not the wreck.
    again = train_classifier(model, train, val, epochs=2, learning_rate=50.0, batch_size=32,
                             backup_dir=str(tmp_path), verbose=0)
    assert again == good
    for a, b in zip(model.get_weights(), start):
        np.testing.assert_array_equal(a, b)
    saved = BestEpoch(model, str(tmp_path))                   # what a resumed run reads back
    assert (saved.epoch, saved.best) == (0, good)
    # keep_start=False (finetune_subnet's: the search chose those weights by their validation accuracy): the
    # starting weights are no candidate, even when every epoch is worse
    wrecked = train_classifier(model, train, val, epochs=2, learning_rate=50.0, batch_size=32, verbose=0,
                               keep_start=False)
    assert wrecked < good
    assert any(not np.array_equal(a, b) for a, b in zip(model.get_weights(), start))


def test_finetuning_resumes_after_its_last_finished_epoch(tmp_path):
    from tuner.finetune import train_classifier
    space = km.SearchSpace(width_mults=(0.25,), resolutions=(8,), in_channels=1, num_classes=10,
                           stage_channels=(24,), stage_strides=(2,), stage_depths=((1,),))
    (x, y), (xv, yv) = _digits()
    train, val = (x[:256], y[:256]), (xv[:64], yv[:64])
    model = km.build_model(space.min_arch())
    train_classifier(model, train, val, epochs=2, learning_rate=1e-3, batch_size=32, backup_dir=str(tmp_path),
                     verbose=0)
    assert int(model.optimizer.iterations.numpy()) == 2 * 8
    weights = [w.copy() for w in model.get_weights()]
    again = km.build_model(space.min_arch())                 # a new process would start from fresh weights
    train_classifier(again, train, val, epochs=2, learning_rate=1e-3, batch_size=32, backup_dir=str(tmp_path),
                     verbose=0)
    assert int(again.optimizer.iterations.numpy()) == 2 * 8   # restored, nothing left to train
    for a, b in zip(again.get_weights(), weights):
        np.testing.assert_array_equal(a, b)
    train_classifier(again, train, val, epochs=3, learning_rate=1e-3, batch_size=32, backup_dir=str(tmp_path),
                     verbose=0)
    assert int(again.optimizer.iterations.numpy()) == 3 * 8   # one more epoch, not three
