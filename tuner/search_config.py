"""The settings of `keras_mcunet.search` (tuner.pipeline.search) as one object, grouped by stage.

    SearchConfig(num_classes=10, limits=Limits(320 * 1024, 1024 * 1024),
                 space=SpaceConfig(width_mults=(0.3, 0.5)), supernet=SupernetConfig(epochs=10),
                 evolution=EvolutionConfig(population_size=50), finetune=FinetuneConfig(epochs=5))

search() also takes every setting as a keyword argument (`sram_limit=`, `supernet_epochs=`, ...; KEYWORDS maps
each onto its group and field); an unknown keyword is a TypeError. Every field is checked when the object is
made, and error messages name the keyword argument.
"""
from __future__ import annotations

import os

from dataclasses import dataclass, field, fields, replace
from typing import Any

from keras_mcunet.search_space import SearchSpace
from tinyengine_tflite.arguments import check_choice, check_count, check_number, check_ratio, check_text

from .evolution_oracle import OBJECTIVES, DEFAULT_OBJECTIVE
from .limits import Limits

FINETUNE_STARTS = ("supernet", "scratch")


@dataclass(frozen=True)
class SpaceConfig:
    """Stage 1. base: the SearchSpace (default: the paper's); width_mults / resolutions override its grid. Without
    `resolutions`, a space with the paper's default resolutions is capped at the data's own resolution (inputs
    are never upsampled); resolutions set here or on the space are used as given. samples: random subnets per
    (W, R); spaces where fewer than min_fit_fraction of them fit are discarded. redistribute_receptive_field:
    search MCUNetV2's redistributed space (SearchSpace.redistribute_receptive_field: fewer blocks possible in the
    patch stage, more later); by default on for patches="auto" searches of the paper's space (no base given)."""
    base: SearchSpace | None = None
    width_mults: tuple | None = None
    resolutions: tuple | None = None
    samples: int = 1000
    min_fit_fraction: float = 0.1
    redistribute_receptive_field: bool | None = None   # None: when searching with patches="auto" and no base

    def __post_init__(self):
        if self.base is not None and not isinstance(self.base, SearchSpace):
            raise ValueError(f"space must be a SearchSpace, got {type(self.base).__name__}")
        for name in ("width_mults", "resolutions"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, tuple(getattr(self, name)))
        object.__setattr__(self, "samples", check_count(self.samples, "space_samples"))
        object.__setattr__(self, "min_fit_fraction", check_ratio(self.min_fit_fraction, "min_fit_fraction"))


@dataclass(frozen=True)
class SupernetConfig:
    """Stage 2a: `epochs` of `steps_per_epoch` batches (default: one pass over the data), Adam at learning_rate
    with cosine decay, num_random random subnets per sandwich step, in-place distillation (BigNAS, OFA).
    shared_dir: a folder where trained supernets are kept for other searches (tuner.supernet_store): a search
    whose stage 1 picks a space already trained there on the same data with the same settings and seed restores
    that supernet instead of training it (e.g. one supernet for several memory budgets)."""
    epochs: int = 30
    steps_per_epoch: int | None = None
    learning_rate: float = 1e-2
    num_random: int = 2
    distill: bool = True
    shared_dir: str | None = None

    def __post_init__(self):
        object.__setattr__(self, "epochs", check_count(self.epochs, "supernet_epochs", minimum=0))
        if self.steps_per_epoch is not None:
            object.__setattr__(self, "steps_per_epoch",
                               check_count(self.steps_per_epoch, "supernet_steps_per_epoch"))
        object.__setattr__(self, "learning_rate", check_number(self.learning_rate, "supernet_learning_rate"))
        object.__setattr__(self, "num_random", check_count(self.num_random, "num_random", minimum=0))
        object.__setattr__(self, "distill", bool(self.distill))
        if self.shared_dir is not None:
            if not isinstance(self.shared_dir, (str, os.PathLike)):
                raise ValueError(f"shared_supernets must be a folder path or None, got {self.shared_dir!r}")
            object.__setattr__(self, "shared_dir", os.fspath(self.shared_dir))


@dataclass(frozen=True)
class EvolutionConfig:
    """Stage 2b, OFA's evolution: population_size x (generations + 1) trials (see tuner.EvolutionOracle)."""
    population_size: int = 100
    generations: int = 20
    parent_ratio: float = 0.25
    mutation_ratio: float = 0.5
    mutation_prob: float = 0.1
    objective: str = DEFAULT_OBJECTIVE

    def __post_init__(self):
        object.__setattr__(self, "population_size", check_count(self.population_size, "population_size", 2))
        object.__setattr__(self, "generations", check_count(self.generations, "generations", 0))
        object.__setattr__(self, "parent_ratio", check_ratio(self.parent_ratio, "parent_ratio", low_open=True))
        object.__setattr__(self, "mutation_ratio", check_ratio(self.mutation_ratio, "mutation_ratio"))
        object.__setattr__(self, "mutation_prob", check_ratio(self.mutation_prob, "mutation_prob"))
        check_choice(self.objective, "objective", tuple(OBJECTIVES))

    def oracle_kwargs(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class FinetuneConfig:
    """Stage 3: `epochs` of Adam at learning_rate (cosine decay), starting from the supernet's weights (the
    paper's and OFA's way) or from scratch; the best epoch on the validation data is kept either way. The
    defaults are the supernet's own rate and 30 epochs: the shared weights need both to specialize to one subnet
    (10 epochs at 3e-3, the earlier defaults, left it below the same architecture trained from scratch; see
    BENCHMARKS.md's TinyNAS evidence)."""
    epochs: int = 30
    learning_rate: float = 1e-2
    start_from: str = "supernet"

    def __post_init__(self):
        object.__setattr__(self, "epochs", check_count(self.epochs, "finetune_epochs", minimum=0))
        object.__setattr__(self, "learning_rate", check_number(self.learning_rate, "finetune_learning_rate"))
        check_choice(self.start_from, "finetune_from", FINETUNE_STARTS)


def _default_limits() -> Limits:
    return Limits(320 * 1024, 1024 * 1024)     # an STM32F746's SRAM and flash


@dataclass(frozen=True)
class SearchConfig:
    """Everything search() needs besides the data. directory/project_name: where the project lives (and is
    resumed from; overwrite=True starts afresh). calibration_batches x batch_size training inputs recalibrate
    batch norm per subnet; batch_size is also the training batch. strategy: a tf.distribute strategy for supernet
    training and fine-tuning. worker_timeout: seconds a distributed worker waits for the chief."""
    num_classes: int
    limits: Limits = field(default_factory=_default_limits)
    space: SpaceConfig = field(default_factory=SpaceConfig)
    supernet: SupernetConfig = field(default_factory=SupernetConfig)
    evolution: EvolutionConfig = field(default_factory=EvolutionConfig)
    finetune: FinetuneConfig = field(default_factory=FinetuneConfig)
    directory: str = "."
    project_name: str = "tinynas"
    overwrite: bool = False
    calibration_batches: int = 10
    batch_size: int = 32
    strategy: Any = None
    seed: int = 0
    verbose: int = 1
    worker_timeout: float = 3600.0

    def __post_init__(self):
        object.__setattr__(self, "num_classes", check_count(self.num_classes, "num_classes"))
        for name, kind in (("limits", Limits), ("space", SpaceConfig), ("supernet", SupernetConfig),
                           ("evolution", EvolutionConfig), ("finetune", FinetuneConfig)):
            if not isinstance(getattr(self, name), kind):
                raise ValueError(f"{name} must be a {kind.__name__}, got {type(getattr(self, name)).__name__}")
        object.__setattr__(self, "directory", str(self.directory))
        check_text(self.project_name, "project_name")
        object.__setattr__(self, "calibration_batches", check_count(self.calibration_batches, "calibration_batches"))
        object.__setattr__(self, "batch_size", check_count(self.batch_size, "batch_size"))
        object.__setattr__(self, "worker_timeout", check_number(self.worker_timeout, "worker_timeout"))

    @classmethod
    def from_keywords(cls, config: SearchConfig | None = None, **keywords) -> SearchConfig:
        """`config` (default: a new one) with search()'s keyword arguments applied; TypeError on an unknown one."""
        unknown = sorted(set(keywords) - set(KEYWORDS))
        if unknown:
            raise TypeError(f"search() got unexpected keyword argument(s) {', '.join(map(repr, unknown))}; its "
                            f"settings are {', '.join(sorted(KEYWORDS))}")
        if config is not None and not isinstance(config, SearchConfig):
            raise TypeError(f"config must be a SearchConfig, got {type(config).__name__}")
        top = {k: v for k, v in keywords.items() if KEYWORDS[k][0] is None}
        groups: dict[str, dict] = {}
        for keyword, value in keywords.items():
            group, name = KEYWORDS[keyword]
            if group is not None:
                groups.setdefault(group, {})[name] = value
        if config is None:
            if "num_classes" not in top:
                raise TypeError("search() needs num_classes (as a keyword or in config=SearchConfig(...))")
            config = cls(num_classes=top["num_classes"])
        changes = {**top, **{g: replace(getattr(config, g), **values) for g, values in groups.items()}}
        return replace(config, **changes) if changes else config

    def resume_key(self, full_space: SearchSpace) -> dict:
        """The settings a resumed search must share with the saved one (search_config.json)."""
        evolution = self.evolution.oracle_kwargs()
        del evolution["generations"]   # more generations continue the search
        return {"limits": self.limits.to_dict(), "space": repr(full_space), "space_samples": self.space.samples,
                "min_fit_fraction": self.space.min_fit_fraction, "seed": self.seed, **evolution}


# search()'s keyword arguments: keyword -> (group of SearchConfig, or None for its own fields; field name)
KEYWORDS = {
    **{name: ("limits", name) for name in ("sram_limit", "flash_limit", "max_macs", "memory_model", "patches",
                                           "max_mac_overhead")},
    "space": ("space", "base"), "width_mults": ("space", "width_mults"), "resolutions": ("space", "resolutions"),
    "space_samples": ("space", "samples"), "min_fit_fraction": ("space", "min_fit_fraction"),
    "redistribute_receptive_field": ("space", "redistribute_receptive_field"),
    "supernet_epochs": ("supernet", "epochs"), "supernet_steps_per_epoch": ("supernet", "steps_per_epoch"),
    "supernet_learning_rate": ("supernet", "learning_rate"), "num_random": ("supernet", "num_random"),
    "supernet_distill": ("supernet", "distill"), "shared_supernets": ("supernet", "shared_dir"),
    **{f.name: ("evolution", f.name) for f in fields(EvolutionConfig)},
    "finetune_epochs": ("finetune", "epochs"), "finetune_learning_rate": ("finetune", "learning_rate"),
    "finetune_from": ("finetune", "start_from"),
    **{f.name: (None, f.name) for f in fields(SearchConfig)
       if f.name not in ("limits", "space", "supernet", "evolution", "finetune")},
}
