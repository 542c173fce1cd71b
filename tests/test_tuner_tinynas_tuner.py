"""TinyNASTuner (a KerasTuner BaseTuner) on a small trained supernet: trial metrics, files, best models and
hyperparameters, summary, reload."""
import json

import numpy as np
import pytest

from keras_mcunet import SearchSpace, Supernet
from keras_mcunet.profiler import profile
from tuner import EvolutionOracle, TinyNASTuner, arch_from_values

SPACE = SearchSpace(width_mults=(0.25,), resolutions=(16,), in_channels=1, num_classes=4, kernel_sizes=(3, 5),
                    expand_ratios=(3, 6), stage_channels=(24, 40), stage_strides=(2, 1),
                    stage_depths=((1, 2), (2, 3)))
BIG = 10 ** 9


def _toy_data(n, seed=0):
    """Four classes told apart by brightness and by which half of the image is lit."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, n)
    x = rng.normal(0, 0.5, (n, 16, 16, 1)).astype(np.float32) + (y // 2)[:, None, None, None]
    x[:, :8] += (y % 2)[:, None, None, None]
    return x, y


@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    directory = tmp_path_factory.mktemp("tuner")
    train, val = _toy_data(384), _toy_data(128, seed=1)
    supernet = Supernet(SPACE, seed=0)
    supernet.fit_supernet(train, epochs=2, batch_size=32, verbose=False)
    oracle = EvolutionOracle(SPACE, BIG, BIG, population_size=4, generations=1, seed=0)
    tuner = TinyNASTuner(oracle, supernet, calibration_batches=2, batch_size=32, directory=str(directory),
                         project_name="p")
    tuner.search(val, calibration_data=train[0], verbose=0)
    return tuner, supernet, train, val, directory


def test_trials_record_accuracy_memory_and_macs(searched):
    tuner, supernet, train, val, directory = searched
    trials = list(tuner.oracle.trials.values())
    assert len(trials) == 8 and all(t.status == "COMPLETED" for t in trials)
    for trial in trials[:3]:
        arch = tuner.arch_of(trial)
        p = profile(arch)
        m = trial.metrics
        assert m.get_last_value("peak_sram_kb") == pytest.approx(p.peak_sram_bytes / 1024)
        assert m.get_last_value("flash_kb") == pytest.approx(p.flash_bytes / 1024)
        assert m.get_last_value("mmacs") == pytest.approx(p.macs / 1e6)
        # The fitness is the subnet's supernet accuracy after BN recalibration, reproducibly.
        again = supernet.score_arch(arch, val, train[0], batches=2, batch_size=32)
        assert trial.score == pytest.approx(again.accuracy, abs=1e-6)
        # ... and its mean cross-entropy is recorded beside it (the other objective)
        assert m.get_last_value("val_loss") == pytest.approx(again.loss, rel=1e-5) and again.loss > 0
        saved = json.loads((directory / "p" / f"trial_{trial.trial_id}" / "arch.json").read_text())
        assert saved["val_loss"] == pytest.approx(again.loss, rel=1e-5)
        assert saved["profile"]["peak_sram_bytes"] == p.peak_sram_bytes and saved["profile"]["macs"] == p.macs
        assert arch_from_values(SPACE, trial.hyperparameters) == arch
        assert (directory / "p" / f"trial_{trial.trial_id}" / "trial.json").exists()
    assert sorted(tuner.trials_run) == sorted(t.trial_id for t in trials)
    assert max(t.score for t in trials) > 0.4        # the supernet learned the toy task (chance is 0.25)


def test_best_models_hyperparameters_and_summary(searched, capsys):
    tuner, supernet, train, _, _ = searched
    best_trials = tuner.oracle.get_best_trials(2)
    assert best_trials[0].score == max(t.score for t in tuner.oracle.trials.values())
    hps = tuner.get_best_hyperparameters(2)
    archs = [arch_from_values(SPACE, hp) for hp in hps]
    assert archs == tuner.get_best_archs(2) == [tuner.arch_of(t) for t in best_trials]
    models = tuner.get_best_models(2)
    assert len(models) == 2
    for model, arch in zip(models, archs):
        assert tuple(model.input_shape[1:]) == (16, 16, 1)
        expected = supernet.predict_arch(arch, train[0][:32])
        np.testing.assert_allclose(model.predict(train[0][:32], verbose=0), expected, atol=1e-4)
    tuner.results_summary(3)
    out = capsys.readouterr().out
    assert "Results summary" in out and "val_accuracy" in out and "SRAM KB" in out
    assert best_trials[0].trial_id in out


def test_reloaded_tuner_runs_no_finished_trial(searched):
    tuner, supernet, train, val, directory = searched
    oracle = EvolutionOracle(SPACE, BIG, BIG, population_size=4, generations=1, seed=0)
    again = TinyNASTuner(oracle, supernet, directory=str(directory), project_name="p")
    assert again.remaining_trials == 0
    before = list(again.trials_run)
    again.search(val, calibration_data=train[0], verbose=0)
    assert again.trials_run == before
    # More generations continue the same project: only the new trials run.
    more = TinyNASTuner(EvolutionOracle(SPACE, BIG, BIG, population_size=4, generations=2, seed=0), supernet,
                        calibration_batches=2, batch_size=32, directory=str(directory), project_name="p")
    more.search(val, calibration_data=train[0], verbose=0)
    assert more.trials_run == before + ["08", "09", "10", "11"]


def test_supernet_of_another_space_is_rejected(searched):
    other = Supernet(SearchSpace(width_mults=(0.25,), resolutions=(24,), in_channels=1, num_classes=4,
                                 kernel_sizes=(3, 5), expand_ratios=(3, 6), stage_channels=(24, 40),
                                 stage_strides=(2, 1), stage_depths=((1, 2), (2, 3))))
    with pytest.raises(ValueError, match="not the supernet's"):
        TinyNASTuner(EvolutionOracle(SPACE, BIG, BIG), other, project_name="x")
    tuner = searched[0]
    with pytest.raises(ValueError, match="calibration_data"):
        TinyNASTuner(EvolutionOracle(SPACE, BIG, BIG, population_size=4, generations=1, seed=0), tuner.supernet,
                     directory=str(searched[4]), project_name="q").search(searched[3])


def test_val_loss_objective_ranks_by_the_lowest_loss(searched, tmp_path):
    _, supernet, train, val, _ = searched
    oracle = EvolutionOracle(SPACE, BIG, BIG, population_size=4, generations=1, seed=0, objective="val_loss")
    tuner = TinyNASTuner(oracle, supernet, calibration_batches=2, batch_size=32, directory=str(tmp_path),
                         project_name="loss")
    tuner.search(val, calibration_data=train[0], verbose=0)
    trials = list(tuner.oracle.trials.values())
    losses = {t.trial_id: t.metrics.get_last_value("val_loss") for t in trials}
    assert [t.score for t in trials] == [losses[t.trial_id] for t in trials]
    assert tuner.oracle.get_best_trials(1)[0].trial_id == min(losses, key=losses.get)
