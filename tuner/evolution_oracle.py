"""TinyNAS stage 2: evolutionary search as a KerasTuner Oracle (MCUNet / Once-for-All).

Trials come in generations of `population_size`. Generation 0 is random subnets; each later generation is
bred from the `parent_ratio` best subnets evaluated so far (the parents survive, as in OFA, so they are the top
of every earlier generation): a `mutation_ratio` share by mutation (each gene resampled with probability
`mutation_prob`) of a random parent, the rest by crossover of two random parents. Every candidate is checked
with the exact memory profiler (and the optional MAC limit) before it becomes a trial, and is new (never a
repeat of an earlier trial); a child that fails either check is bred again, up to `max_attempts` times, and
then replaced by a random subnet that passes.

A generation starts only when every trial of the earlier ones has ended (until then `create_trial` answers
IDLE, which matters only with several workers). Trial ids are the trial's index, zero-padded, so the
generation and breeding of a trial follow from its id, and each candidate is drawn from a random generator
seeded by (seed, trial id): the oracle is fully restored from its trial files and `get_state`, and a resumed
search proposes exactly what the interrupted one would have.

Defaults are OFA's: population 100, 25% parents, half of each generation from mutation, mutation probability
0.1. `generations=0` is random search under the same limits.
"""
from __future__ import annotations

import os
import random

from keras_mcunet.search_space import ArchConfig, SearchSpace
from tinyengine_tflite.arguments import check_count, check_ratio

from .kt_compat import TrialStatus, keras_tuner
from .arch_hyperparameters import arch_from_values, arch_to_values, declare_arch_hyperparameters
from .limits import Limits, kib
from .project_files import write_json
from .trial_display import CompactDisplay

_ENDED = (TrialStatus.COMPLETED, TrialStatus.FAILED, TrialStatus.INVALID, TrialStatus.STOPPED)
# The supernet scores a TinyNASTuner trial reports, and which way each is better.
OBJECTIVES = {"val_loss": "min", "val_accuracy": "max"}
DEFAULT_OBJECTIVE = "val_accuracy"


def objective_of(objective) -> keras_tuner.Objective:
    """A keras_tuner.Objective from a name of OBJECTIVES (None: DEFAULT_OBJECTIVE) or an Objective as it is."""
    if isinstance(objective, keras_tuner.Objective):
        return objective
    name = DEFAULT_OBJECTIVE if objective is None else objective
    if name not in OBJECTIVES:
        raise ValueError(f"objective must be one of {', '.join(map(repr, OBJECTIVES))} or a keras_tuner.Objective, "
                         f"got {objective!r}")
    return keras_tuner.Objective(name, direction=OBJECTIVES[name])


class EvolutionOracle(keras_tuner.Oracle):
    """Evolutionary architecture search over `space` under memory limits.

    Args:
        space: the SearchSpace (for TinyNAS, the stage-1 space with W and R fixed, which the supernet holds).
        sram_limit, flash_limit: bytes. max_macs: optional cap on MACs (a latency proxy). memory_model: whose
            peak SRAM the limits check, "tinyengine" or "tflm" (tuner.limits.Limits). patches / max_mac_overhead:
            "auto" checks TinyEngine's patch-based peak (tuner.limits.Limits).
        population_size, generations: trials per generation, and generations after the random first one
            (max_trials = population_size * (generations + 1)).
        parent_ratio, mutation_ratio, mutation_prob: OFA's evolution settings.
        objective: what ranks the subnets: "val_loss" (the supernet's mean cross-entropy on the validation data,
            minimized), "val_accuracy" (maximized) or a keras_tuner.Objective over the tuner's metrics.
        seed: random seed; max_attempts: tries to breed a new child that fits before a random one is taken.
    """

    def __init__(self, space: SearchSpace, sram_limit: int, flash_limit: int, *, max_macs: int | None = None,
                 memory_model: str = "tinyengine", patches: str | None = None, max_mac_overhead: float = 0.2,
                 population_size: int = 100, generations: int = 20, parent_ratio: float = 0.25,
                 mutation_ratio: float = 0.5, mutation_prob: float = 0.1, objective=None, seed: int | None = None,
                 max_attempts: int = 200, max_retries_per_trial: int = 0, max_consecutive_failed_trials: int = 3):
        if not isinstance(space, SearchSpace):
            raise ValueError(f"EvolutionOracle expects a SearchSpace, got {type(space).__name__}")
        self.space = space
        self.limits = Limits(sram_limit, flash_limit, max_macs, memory_model, patches, max_mac_overhead)
        self.population_size = check_count(population_size, "population_size", 2)
        self.generations = check_count(generations, "generations", 0)
        self.parent_ratio = check_ratio(parent_ratio, "parent_ratio", low_open=True)
        self.mutation_ratio = check_ratio(mutation_ratio, "mutation_ratio")
        self.mutation_prob = check_ratio(mutation_prob, "mutation_prob")
        self.max_attempts = check_count(max_attempts, "max_attempts", 1)
        self.num_parents = max(1, round(self.parent_ratio * self.population_size))
        self.num_mutations = round(self.mutation_ratio * self.population_size)
        self._check_feasible()
        super().__init__(
            objective=objective_of(objective),
            max_trials=self.population_size * (self.generations + 1),
            hyperparameters=declare_arch_hyperparameters(space), allow_new_entries=False, tune_new_entries=False,
            seed=seed, max_retries_per_trial=max_retries_per_trial,
            max_consecutive_failed_trials=max_consecutive_failed_trials)
        if seed is not None:   # the base class replaces a falsy seed (0) by a random one
            self.seed = self._seed_state = int(seed)
        self._display = CompactDisplay(self)
        # Why candidates were rejected (for reporting); kept in the state.
        self.rejections = {"limits": 0, "duplicate": 0, "random_fallback": 0}

    def _check_feasible(self):
        """Fail early, with numbers, when not even the space's smallest subnet fits."""
        best = None
        for w in self.space.width_mults:
            for r in self.space.resolutions:
                fits, prof = self.limits.check(self.space.min_arch(w, r))
                if fits:
                    return
                if best is None or prof.peak_sram_bytes < best.peak_sram_bytes:
                    best = prof
        raise ValueError(
            f"no subnet of the space fits {self.limits.describe()}: the smallest one needs "
            f"{kib(best.peak_sram_bytes)} of SRAM ({best.peak_sram_bytes} bytes), {kib(best.flash_bytes)} of flash "
            f"and {best.macs / 1e6:.2f} MMACs ({', '.join(self.limits.violations(best))})")

    # --- candidates -----------------------------------------------------------------------------------------
    def arch_of(self, trial) -> ArchConfig:
        """The subnet a trial evaluates."""
        return arch_from_values(self.space, trial.hyperparameters)

    def generation_of(self, trial_id: str) -> int:
        return int(trial_id) // self.population_size

    def _acceptable(self, arch: ArchConfig) -> bool:
        fits, _ = self.limits.check(arch)
        if not fits:
            self.rejections["limits"] += 1
            return False
        if self._duplicate(arch_to_values(arch)):
            self.rejections["duplicate"] += 1
            return False
        return True

    def _random_candidate(self, rng: random.Random) -> ArchConfig | None:
        for _ in range(self.max_attempts * 10):
            arch = self.space.sample(rng)
            if self._acceptable(arch):
                return arch
        return None

    def parents(self, before_generation: int) -> list:
        """The best completed trials of the generations before `before_generation`, best first."""
        done = [t for t in self.trials.values()
                if t.status == TrialStatus.COMPLETED and t.score is not None
                and self.generation_of(t.trial_id) < before_generation]
        done.sort(key=lambda t: int(t.trial_id))   # ties go to the earlier trial, whatever the load order
        done.sort(key=lambda t: -t.score if self.objective.direction == "max" else t.score)
        return done[:self.num_parents]

    def _bred_candidate(self, rng: random.Random, position: int, parents: list) -> ArchConfig | None:
        archs = [self.arch_of(t) for t in parents]
        for _ in range(self.max_attempts):
            if position < self.num_mutations:
                child = self.space.mutate(rng.choice(archs), self.mutation_prob, rng)
            else:
                child = self.space.crossover(rng.choice(archs), rng.choice(archs), rng)
            if self._acceptable(child):
                return child
        return None

    def populate_space(self, trial_id):
        index = int(trial_id)
        generation, position = divmod(index, self.population_size)
        rng = random.Random(f"{self.seed}:{trial_id}")
        arch = None
        if generation > 0:
            earlier_running = [t.trial_id for t in self.trials.values()
                               if self.generation_of(t.trial_id) < generation and t.status not in _ENDED]
            if earlier_running or self._retry_queue:
                return {"status": TrialStatus.IDLE}   # wait for the previous generation to end
            parents = self.parents(generation)
            if parents:
                arch = self._bred_candidate(rng, position, parents)
            if arch is None:
                self.rejections["random_fallback"] += 1
        if arch is None:
            arch = self._random_candidate(rng)
        if arch is None:   # the space has no new subnet that fits
            return {"status": TrialStatus.STOPPED}
        return {"status": TrialStatus.RUNNING, "values": arch_to_values(arch)}

    # --- state ----------------------------------------------------------------------------------------------
    @keras_tuner.synchronized
    def end_trial(self, trial):
        super().end_trial(trial)
        self.save()   # the base class saves before it drops the trial from the ongoing ones

    def save(self):
        """KerasTuner writes its JSON files in place, so a kill mid-write leaves an empty oracle.json that no
        resume can read: the oracle's state goes through the project's atomic writer instead."""
        write_json(self._get_oracle_fname(), self.get_state(), indent=None)

    def _save_trial(self, trial):
        write_json(os.path.join(self._get_trial_dir(trial.trial_id), "trial.json"), trial.get_state(), indent=None)

    def reload(self):
        """Reload trials and state; trials that were running when the search stopped are run again, unless
        their trial file says they had ended (a kill between ending a trial and saving the oracle)."""
        super().reload()
        self._retry_queue = [i for i in self._retry_queue
                             if self.trials[i].status not in (TrialStatus.COMPLETED, TrialStatus.FAILED)]

    def _config(self) -> dict:
        """What a resumed search must share with the saved one."""
        return {"space": repr(self.space), "limits": self.limits.to_dict(),
                "population_size": self.population_size, "parent_ratio": self.parent_ratio,
                "mutation_ratio": self.mutation_ratio, "mutation_prob": self.mutation_prob}

    def get_state(self):
        state = super().get_state()
        state.update(evolution=self._config(), rejections=dict(self.rejections))
        return state

    def set_state(self, state):
        saved = state.get("evolution")
        if saved is not None:
            now = self._config()
            changed = sorted(k for k in now if saved.get(k) != now[k])
            if changed:
                raise ValueError(
                    f"the project in {self._project_dir} was searched with other settings ({', '.join(changed)} "
                    f"differ: saved {[saved.get(k) for k in changed]}, now {[now[k] for k in changed]}); use "
                    f"another project_name or overwrite=True")
        super().set_state(state)
        self.rejections = {"limits": 0, "duplicate": 0, "random_fallback": 0, **state.get("rejections", {})}
