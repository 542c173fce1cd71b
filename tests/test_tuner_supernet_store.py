"""tuner.supernet_store: searches of the same data at several budgets share the supernet of a space."""
import os
import subprocess
import sys
import threading
from dataclasses import replace

import numpy as np
import pytest

import keras_mcunet as km
from keras_mcunet.supernet import Supernet
from tuner.search_config import SupernetConfig
from tuner.supernet_store import data_fingerprint, supernet_key, training_lock

SPACE = km.SearchSpace(width_mults=(0.25,), resolutions=(16,), in_channels=1, num_classes=10,
                       stage_channels=(24, 40), stage_strides=(2, 2), stage_depths=((1, 2), (1, 2)),
                       kernel_sizes=(3, 5), expand_ratios=(3, 6))


def _data(n=256, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 16, 16, 1), dtype=np.float32), rng.integers(0, 10, n)


def test_the_key_changes_with_everything_the_weights_depend_on():
    train, settings = _data(), SupernetConfig(epochs=3)
    key = supernet_key(SPACE, settings, 32, 0, train)
    assert key == supernet_key(SPACE, SupernetConfig(epochs=3, shared_dir="elsewhere"), 32, 0, _data())
    changed_x = (train[0].copy(), train[1])
    changed_x[0][5, 3, 3, 0] += 1e-3
    others = [supernet_key(replace(SPACE, kernel_sizes=(3,)), settings, 32, 0, train),
              supernet_key(SPACE, SupernetConfig(epochs=4), 32, 0, train),
              supernet_key(SPACE, SupernetConfig(epochs=3, num_random=1), 32, 0, train),
              supernet_key(SPACE, SupernetConfig(epochs=3, distill=False), 32, 0, train),
              supernet_key(SPACE, settings, 16, 0, train),
              supernet_key(SPACE, settings, 32, 1, train),
              supernet_key(SPACE, settings, 32, 0, changed_x),
              supernet_key(SPACE, settings, 32, 0, (train[0], train[1][::-1].copy()))]
    assert len({key, *others}) == len(others) + 1
    assert data_fingerprint(train) != data_fingerprint((train[0].astype(np.float64), train[1]))


def test_data_it_cannot_read_twice_shares_nothing():
    from keras_mcunet._tf import tf
    dataset = tf.data.Dataset.from_tensor_slices(_data(8)).batch(4)
    assert supernet_key(SPACE, SupernetConfig(), 32, 0, dataset) is None


def test_the_lock_waits_for_a_live_owner_and_takes_over_a_dead_ones(tmp_path):
    directory = str(tmp_path / "abc")
    owner = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(1.5)"])
    (tmp_path / "abc.lock").write_text(str(owner.pid))
    said, entered = [], threading.Event()

    def enter():
        with training_lock(directory, say=lambda *a, **k: said.append(a[0]), poll_seconds=0.05):
            assert (tmp_path / "abc.lock").read_text() == str(os.getpid())
            entered.set()
    thread = threading.Thread(target=enter)
    thread.start()
    assert not entered.wait(0.5)             # the owner is alive: it waits
    assert said and f"process {owner.pid}" in said[0]
    owner.wait()                             # the owner ends without releasing its lock
    thread.join(10)
    assert entered.is_set() and not (tmp_path / "abc.lock").exists()


def test_searches_at_two_budgets_train_one_supernet(tmp_path, monkeypatch):
    steps = []
    sandwich = Supernet._sandwich
    monkeypatch.setattr(Supernet, "_sandwich", lambda self, *a: steps.append(1) or sandwich(self, *a))
    train, val = _data(), _data(64, seed=1)
    shared = tmp_path / "supernets"
    args = dict(num_classes=10, flash_limit=1024 * 1024, directory=str(tmp_path), space=SPACE,
                supernet_epochs=2, supernet_steps_per_epoch=3, population_size=2, generations=0,
                calibration_batches=1, batch_size=32, finetune_epochs=1, shared_supernets=str(shared), verbose=0)
    km.search(train, val, sram_limit=256 * 1024, project_name="a", **args)
    assert len(steps) == 2 * 3
    (entry,) = [p for p in shared.iterdir() if p.is_dir()]
    assert (entry / "trained.json").exists() and not (tmp_path / "a" / "supernet").exists()
    assert not list(shared.glob("*.lock"))
    km.search(train, val, sram_limit=128 * 1024, project_name="b", **args)
    assert len(steps) == 2 * 3               # restored, not trained again
    assert len([p for p in shared.iterdir() if p.is_dir()]) == 1
    with pytest.raises(ValueError, match="shared_supernets|shared_dir"):
        km.search(train, val, sram_limit=128 * 1024, project_name="d", **{**args, "shared_supernets": 3})
