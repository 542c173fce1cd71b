"""EvolutionOracle (TinyNAS stage 2) driven directly, with synthetic fitness: limits, novelty, evolution,
generations, resume, and the arch <-> hyperparameters codec. Uses the exact memory profiler."""
import random

import numpy as np
import pytest

from keras_mcunet import SearchSpace
from keras_mcunet.profiler import profile
from tuner import EvolutionOracle, arch_from_values, arch_to_values, declare_arch_hyperparameters
from tuner.kt_compat import TrialStatus, keras_tuner

SPACE = SearchSpace(width_mults=(0.3,), resolutions=(40,), in_channels=1, num_classes=10,
                    stage_channels=(24, 40, 80), stage_strides=(2, 2, 2), stage_depths=((1, 2), (1, 2, 3), (1, 2)))
AUDIO = SearchSpace(width_mults=(0.2, 0.5), resolutions=((49, 10), 32), in_channels=1, num_classes=12,
                    expand_ratios=(1, 3, 6), stage_channels=(24, 40), stage_strides=(2, 2),
                    stage_depths=((1, 2), (1, 3)))
BIG = 10 ** 9


def _median_sram():
    rng = random.Random(0)
    return int(np.median([profile(SPACE.sample(rng)).peak_sram_bytes for _ in range(200)]))


def _oracle(tmp_path, name="p", **kwargs):
    kwargs = {"sram_limit": BIG, "flash_limit": BIG, "population_size": 12, "generations": 3, "seed": 1,
              **kwargs}
    oracle = EvolutionOracle(SPACE, **kwargs)
    oracle._set_project_dir(str(tmp_path), name)
    oracle.verbose = 0
    return oracle


def _genes(arch):
    return [arch.width_mult, arch.resolution, *arch.depths, *(g for s in arch.ks for g in s),
            *(g for s in arch.expand for g in s)]


def _similarity(target):
    """Fraction of positions where an arch's genes equal the target's (a smooth synthetic objective)."""
    goal = _genes(target)

    def fitness(arch):
        genes = _genes(arch)
        return sum(a == b for a, b in zip(genes, goal)) / max(len(genes), len(goal))
    return fitness


def _drive(oracle, fitness, limit=None, tuner_id="tuner0"):
    """Run trials like a tuner: create, report, end. Returns [(trial_id, arch, score)]."""
    done = []
    while limit is None or len(done) < limit:
        trial = oracle.create_trial(tuner_id)
        if trial.status == TrialStatus.STOPPED:
            break
        assert trial.status == TrialStatus.RUNNING
        arch = oracle.arch_of(trial)
        score = fitness(arch)
        oracle.update_trial(trial.trial_id, {"val_accuracy": score})
        trial.status = TrialStatus.COMPLETED
        oracle.end_trial(trial)
        done.append((trial.trial_id, arch, score))
    return done


def test_arch_hyperparameters_round_trip_with_conditional_blocks():
    hp = declare_arch_hyperparameters(SPACE)
    names = {p.name for p in hp.space}
    assert {"width_mult", "resolution", "stage1_depth", "stage2_block2_kernel", "stage3_block1_expand"} <= names
    rng = random.Random(0)
    for _ in range(30):
        arch = SPACE.sample(rng)
        values = arch_to_values(arch)
        assert arch_from_values(SPACE, values) == arch
        trial_hp = hp.copy()
        trial_hp.values = dict(values)
        trial_hp.ensure_active_values()          # KerasTuner keeps exactly the active genes
        assert trial_hp.values == values
        assert arch_from_values(SPACE, trial_hp) == arch
        # blocks beyond a stage's depth are inactive
        assert ("stage2_block2_kernel" in values) == (arch.depths[1] == 3)
    audio = AUDIO.make_arch([[3], [5, 3, 3]], [[1], [6, 3, 1]], 0.5, (49, 10))
    values = arch_to_values(audio)
    assert values["resolution"] == "49x10"
    assert arch_from_values(AUDIO, values) == audio
    with pytest.raises(ValueError, match="lack 'stage2_depth'"):
        arch_from_values(SPACE, {k: v for k, v in arch_to_values(SPACE.min_arch()).items() if k != "stage2_depth"})


def test_every_trial_fits_the_limits_and_is_new(tmp_path):
    sram = _median_sram()
    flash = int(np.median([profile(SPACE.sample(s)).flash_bytes for s in range(200)]) * 1.2)
    oracle = _oracle(tmp_path, sram_limit=sram, flash_limit=flash, population_size=10, generations=2)
    done = _drive(oracle, _similarity(SPACE.max_arch()))
    assert len(done) == 30 == oracle.max_trials
    for _, arch, _ in done:
        p = profile(arch)
        assert p.peak_sram_bytes <= sram and p.flash_bytes <= flash
    assert len({arch for _, arch, _ in done}) == len(done)          # never the same subnet twice
    # The limits bind (about half of the random subnets break the SRAM limit), so candidates were rejected.
    assert oracle.rejections["limits"] > 0
    ids = [trial_id for trial_id, _, _ in done]
    assert ids == [f"{i:02d}" for i in range(30)]
    assert [oracle.generation_of(i) for i in ids] == [i // 10 for i in range(30)]


def test_evolution_beats_its_random_first_generation(tmp_path):
    target = SPACE.sample(random.Random(123))
    oracle = _oracle(tmp_path, population_size=16, generations=4, mutation_prob=0.2)
    done = _drive(oracle, _similarity(target))
    by_generation = [[s for i, _, s in done if oracle.generation_of(i) == g] for g in range(5)]
    assert np.mean(by_generation[-1]) > np.mean(by_generation[0]) + 0.1
    assert max(by_generation[-1]) >= max(by_generation[0])
    # Parents are the top 25% (4 of 16) of everything evaluated before the generation.
    parents = oracle.parents(before_generation=4)
    assert len(parents) == 4
    earlier = sorted((s for i, _, s in done if oracle.generation_of(i) < 4), reverse=True)
    assert [p.score for p in parents] == earlier[:4]


def test_crossover_children_take_every_gene_from_a_parent(tmp_path):
    oracle = _oracle(tmp_path, population_size=8, generations=1, mutation_ratio=0.0)   # all crossover
    done = _drive(oracle, _similarity(SPACE.max_arch()))
    assert oracle.rejections["random_fallback"] == 0
    parents = [oracle.arch_of(t) for t in oracle.parents(1)]
    assert len(parents) == 2
    for _, child, _ in done[8:]:
        for i, (ks, es) in enumerate(zip(child.ks, child.expand)):
            assert len(ks) in {p.depths[i] for p in parents}
            for j, (k, e) in enumerate(zip(ks, es)):
                assert k in {p.ks[i][j] for p in parents if j < p.depths[i]}
                assert e in {p.expand[i][j] for p in parents if j < p.depths[i]}
        assert child not in parents


def test_mutation_children_stay_close_to_a_parent(tmp_path):
    oracle = _oracle(tmp_path, population_size=8, generations=1, mutation_ratio=1.0, mutation_prob=0.1)
    done = _drive(oracle, _similarity(SPACE.max_arch()))
    parents = [oracle.arch_of(t) for t in oracle.parents(1)]

    def distance(a, b):   # genes that differ, a missing block counting as one per gene
        ga, gb = _genes(a), _genes(b)
        return sum(x != y for x, y in zip(ga, gb)) + abs(len(ga) - len(gb))
    children = [arch for _, arch, _ in done[8:]]
    close = [min(distance(c, p) for p in parents) for c in children]
    random_distance = [min(distance(a, p) for p in parents) for _, a, _ in done[:8] if a not in parents]
    assert np.mean(close) < np.mean(random_distance)


def test_next_generation_waits_for_the_previous_one(tmp_path):
    oracle = _oracle(tmp_path, population_size=4, generations=1)
    first = [oracle.create_trial(f"w{i}") for i in range(4)]          # four workers take generation 0
    assert all(t.status == TrialStatus.RUNNING for t in first)
    waiting = oracle.create_trial("w4")
    assert waiting.status == TrialStatus.IDLE                           # generation 1 needs generation 0's scores
    for t in first:
        oracle.update_trial(t.trial_id, {"val_accuracy": 0.5})
        t.status = TrialStatus.COMPLETED
        oracle.end_trial(t)
    assert oracle.create_trial("w4").status == TrialStatus.RUNNING


def test_max_macs_is_a_hard_limit(tmp_path):
    macs = sorted(profile(SPACE.sample(s)).macs for s in range(200))
    cap = macs[len(macs) // 3]
    oracle = _oracle(tmp_path, max_macs=cap, population_size=6, generations=1)
    done = _drive(oracle, lambda arch: profile(arch).macs / cap)        # rewards MACs: pushes against the cap
    assert all(profile(arch).macs <= cap for _, arch, _ in done)
    assert oracle.rejections["limits"] > 0


def test_resumed_oracle_continues_exactly(tmp_path):
    fitness = _similarity(SPACE.sample(random.Random(7)))
    reference = _drive(_oracle(tmp_path, "reference"), fitness)
    first = _oracle(tmp_path, "resumed")
    part = _drive(first, fitness, limit=17)                             # stop in generation 1
    state = first.get_state()
    assert state["evolution"]["population_size"] == 12 and "rejections" in state
    again = _oracle(tmp_path, "resumed")
    again.reload()                                                      # trial files + oracle.json
    assert sorted(again.trials) == [i for i, _, _ in part]
    rest = _drive(again, fitness)
    assert [(i, a) for i, a, _ in part + rest] == [(i, a) for i, a, _ in reference]


def test_resume_with_other_settings_is_rejected(tmp_path):
    _drive(_oracle(tmp_path, "p", population_size=6, generations=1), lambda a: 0.5, limit=3)
    other = _oracle(tmp_path, "p", population_size=8, generations=1)
    with pytest.raises(ValueError, match="population_size"):
        other.reload()


def test_ongoing_trial_of_a_killed_run_is_retried_not_duplicated(tmp_path):
    oracle = _oracle(tmp_path, population_size=4, generations=0)
    _drive(oracle, lambda a: 0.5, limit=2)
    ongoing = oracle.create_trial("tuner0")                                 # killed while this one ran
    again = _oracle(tmp_path, population_size=4, generations=0)
    again.reload()
    retried = again.create_trial("tuner0")
    assert retried.trial_id == ongoing.trial_id
    assert again.arch_of(retried) == oracle.arch_of(ongoing)


def test_a_kill_while_saving_leaves_the_previous_files_readable(tmp_path, monkeypatch):
    """KerasTuner writes oracle.json and trial.json in place: a SIGKILL mid-write left an empty oracle.json
    that no resume could read. Every state file now goes through a temporary file and os.replace."""
    from tinyengine_tflite import json_files
    oracle = _oracle(tmp_path, population_size=4, generations=0)
    done = _drive(oracle, lambda a: 0.5, limit=2)

    def killed(*args):
        raise KeyboardInterrupt("killed before the rename")
    monkeypatch.setattr(json_files.os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        _drive(oracle, lambda a: 0.5, limit=1)
    monkeypatch.undo()
    again = _oracle(tmp_path, population_size=4, generations=0)
    again.reload()
    assert {i for i, s in again.trials.items() if s.status == TrialStatus.COMPLETED} == {i for i, _, _ in done}


def test_limits_no_subnet_can_meet_name_the_smallest_one():
    smallest = profile(SPACE.min_arch())
    with pytest.raises(ValueError, match=f"smallest one needs .*{smallest.peak_sram_bytes} bytes"):
        EvolutionOracle(SPACE, sram_limit=smallest.peak_sram_bytes - 1, flash_limit=BIG)
    with pytest.raises(ValueError, match="flash"):
        EvolutionOracle(SPACE, sram_limit=BIG, flash_limit=smallest.flash_bytes - 1)


@pytest.mark.parametrize("kwargs, message", [
    ({"sram_limit": -1}, "sram_limit must be positive"),
    ({"flash_limit": 0}, "flash_limit must be positive"),
    ({"max_macs": -5}, "max_macs must be positive"),
    ({"sram_limit": "320KB"}, "sram_limit must be a positive number"),
    ({"population_size": 1}, "population_size must be an int >= 2"),
    ({"generations": -1}, "generations must be an int >= 0"),
    ({"parent_ratio": 0}, "parent_ratio must be a number in"),
    ({"mutation_prob": 1.5}, "mutation_prob must be a number in"),
    ({"objective": "val_f1"}, "objective must be one of 'val_loss', 'val_accuracy'"),
])
def test_bad_arguments_are_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        EvolutionOracle(SPACE, **{"sram_limit": BIG, "flash_limit": BIG, **kwargs})


def test_generations_zero_is_random_search(tmp_path):
    oracle = _oracle(tmp_path, population_size=9, generations=0)
    done = _drive(oracle, lambda a: 0.5)
    assert len(done) == 9 and oracle.max_trials == 9
    assert isinstance(oracle, keras_tuner.Oracle)


def test_trials_cross_grpc_protos_intact_and_quietly(capfd):
    """Workers get trials as protos: conditional block genes survive, and nothing is printed."""
    from tuner.kt_compat import Trial
    hp = declare_arch_hyperparameters(SPACE)
    arch = SPACE.make_arch([[5, 3], [3, 5, 3], [5]], [[6, 3], [3, 3, 6], [4]])
    hp.values = arch_to_values(arch)
    trial = Trial(hp, trial_id="07")
    back = Trial.from_proto(trial.to_proto())
    assert arch_from_values(SPACE, back.hyperparameters) == arch
    assert back.hyperparameters.is_active(back.hyperparameters._hps["stage2_block2_kernel"][0])
    assert capfd.readouterr().out == ""
