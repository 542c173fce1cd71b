"""What a sample pipeline may spend: the memory limits of the search and how much work each stage may do, its
presets, and the command-line options that set them."""
from __future__ import annotations

import argparse
import re
from dataclasses import dataclass, replace

KB = 1024
DEFAULT_SRAM_LIMIT = 256 * KB     # the default part's (samples.deploy.DEFAULT_PART) memory
DEFAULT_FLASH_LIMIT = 1024 * KB


@dataclass
class PipelineBudget:
    """Memory limits of the search and how much work each stage may do."""
    sram_limit: int = DEFAULT_SRAM_LIMIT
    flash_limit: int = DEFAULT_FLASH_LIMIT
    max_macs: int | None = None
    patches: str | None = None              # "auto": search and deploy with patch-based inference (MCUNetV2)
    width_mults: tuple | None = None        # None: the task's grid for the preset
    resolutions: tuple | None = None
    space_samples: int = 500
    min_fit_fraction: float = 0.1
    supernet_epochs: int = 15
    supernet_steps_per_epoch: int | None = None
    num_random: int = 2
    population_size: int = 30
    generations: int = 8
    calibration_batches: int = 5
    batch_size: int = 32
    finetune_epochs: int = 10
    supernet_learning_rate: float = 1e-2
    learning_rate: float = 1e-3             # fine-tuning (and training a given arch)
    qat_epochs: int = 3
    qat_learning_rate: float = 1e-4
    compact_space: bool = False             # stage depths of at most 2 blocks (the quick preset)

    def search_kwargs(self) -> dict:
        keys = ("max_macs", "space_samples", "min_fit_fraction", "supernet_epochs", "supernet_steps_per_epoch",
                "num_random", "population_size", "generations", "calibration_batches", "batch_size",
                "finetune_epochs")
        kw = {k: getattr(self, k) for k in keys}
        kw.update(supernet_learning_rate=self.supernet_learning_rate, finetune_learning_rate=self.learning_rate)
        if self.patches is not None:     # MCUNetV2 searches the patch stage's receptive field too
            kw.update(patches=self.patches, redistribute_receptive_field=True)
        return kw


# Budgets of the presets. "quick" is the main job's (minutes on 2 CPU cores, on the small default data);
# "paper" is keras_mcunet.search's own defaults (MCUNet's settings; hours to days on a CPU).
PRESETS = {
    "quick": PipelineBudget(space_samples=200, supernet_epochs=6, population_size=10, generations=3,
                            calibration_batches=2, finetune_epochs=8, qat_epochs=2, compact_space=True),
    "standard": PipelineBudget(),
    "paper": PipelineBudget(space_samples=1000, supernet_epochs=30, population_size=100, generations=20,
                            calibration_batches=10, finetune_epochs=30, qat_epochs=5),
}


def parse_bytes(text) -> int:
    """'262144', '256K', '256KB', '256 KiB', '1M', '1MB', '0.5MB' -> bytes (powers of 1024)."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*(k|kb|kib|m|mb|mib|b)?\s*", str(text), re.I)
    if m is None:
        raise argparse.ArgumentTypeError(f"not a byte size: {text!r} (e.g. 262144, 256KB, 1MB)")
    unit = (m.group(2) or "b").lower()
    value = float(m.group(1)) * {"b": 1, "k": KB, "m": KB * KB}[unit[0]]
    if value <= 0 or value != int(value):
        raise argparse.ArgumentTypeError(f"a byte size must be a positive whole number of bytes, got {text!r}")
    return int(value)


def _positive_list(kind, what: str):
    def parse(text) -> tuple:
        try:
            values = tuple(kind(v) for v in str(text).split(",") if v.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected comma-separated {what}, got {text!r}") from None
        if not values or any(v <= 0 for v in values):
            raise argparse.ArgumentTypeError(f"expected positive {what}, got {text!r}")
        return values
    return parse


def add_budget_arguments(parser: argparse.ArgumentParser, default_preset: str = "standard") -> None:
    """The memory limits and search-budget options shared by the sample command lines."""
    g = parser.add_argument_group("memory limits (the search only keeps models that fit)")
    g.add_argument("--sram-limit", type=parse_bytes, default=DEFAULT_SRAM_LIMIT,
                   help="peak SRAM limit in bytes, or e.g. 256KB (default %(default)s bytes)")
    g.add_argument("--flash-limit", type=parse_bytes, default=DEFAULT_FLASH_LIMIT,
                   help="flash limit for the model's constants in bytes, or e.g. 1MB (default %(default)s bytes)")
    g.add_argument("--max-macs", type=int, default=None, help="optional cap on MACs per inference")
    g.add_argument("--patches", choices=("none", "auto"), default="none",
                   help="auto: patch-based inference (MCUNetV2): the search checks the SRAM limit against the "
                        "patch-based peak of each candidate (the first layers run patch by patch where that lowers "
                        "the peak, at most 20%% more MACs) and the model is deployed that way (default %(default)s)")
    g = parser.add_argument_group("search budget (a preset, then any of these to override it)")
    g.add_argument("--preset", choices=sorted(PRESETS), default=default_preset,
                   help="budget preset (default %(default)s): quick = minutes on 2 CPU cores, standard = "
                        "the full space, an hour or more, paper = keras_mcunet.search's MCUNet defaults")
    g.add_argument("--width-mults", type=_positive_list(float, "numbers"),
                   help="stage-1 width multipliers, e.g. 0.3,0.5")
    g.add_argument("--resolutions", type=_positive_list(int, "integers"),
                   help="stage-1 input resolutions, e.g. 64,96 (VWW only)")
    for name, kind, what in (("space-samples", int, "random subnets per (W, R) in stage 1"),
                             ("supernet-epochs", int, "supernet training epochs"),
                             ("supernet-steps", int, "batches per supernet epoch (default: one pass)"),
                             ("population", int, "evolution population size"),
                             ("generations", int, "evolution generations"),
                             ("finetune-epochs", int, "fine-tuning epochs of the winner"),
                             ("qat-epochs", int, "quantization-aware training epochs"),
                             ("batch-size", int, "batch size"),
                             ("supernet-learning-rate", float, "learning rate of supernet training"),
                             ("learning-rate", float, "learning rate of fine-tuning")):
        g.add_argument(f"--{name}", type=kind, help=what)


def budget_from_args(args) -> PipelineBudget:
    budget = replace(PRESETS[args.preset], sram_limit=args.sram_limit, flash_limit=args.flash_limit,
                     max_macs=args.max_macs, patches=None if args.patches == "none" else args.patches)
    overrides = {"width_mults": args.width_mults, "resolutions": args.resolutions,
                 "space_samples": args.space_samples, "supernet_epochs": args.supernet_epochs,
                 "supernet_steps_per_epoch": args.supernet_steps, "population_size": args.population,
                 "generations": args.generations, "finetune_epochs": args.finetune_epochs,
                 "qat_epochs": args.qat_epochs, "batch_size": args.batch_size, "learning_rate": args.learning_rate,
                 "supernet_learning_rate": args.supernet_learning_rate}
    budget = replace(budget, **{k: v for k, v in overrides.items() if v is not None})
    for k in ("space_samples", "population_size", "batch_size"):
        if getattr(budget, k) < 1:
            raise ValueError(f"{k} must be at least 1, got {getattr(budget, k)}")
    for k in ("supernet_epochs", "generations", "finetune_epochs", "qat_epochs"):
        if getattr(budget, k) < 0:
            raise ValueError(f"{k} must be at least 0, got {getattr(budget, k)}")
    return budget
