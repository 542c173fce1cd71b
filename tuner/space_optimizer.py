"""TinyNAS stage 1: search-space optimization (MCUNet, Sec. 3.1).

For each candidate space, a width multiplier W and an input resolution R, sample `num_samples` random subnets,
keep those the exact profiler says fit the memory limits, and look at the distribution of their MACs: a space
whose satisfying models have more MACs is likely to hold more accurate models under the same limits. The space
with the highest mean MACs among its satisfying models wins; spaces where fewer than `min_fit_fraction` of the
samples fit are discarded (a supernet trained on them would spend most of its updates on models that do not
fit). `plot_macs_cdf` draws the paper's figure (cumulative distribution of the satisfying models' MACs).
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field

import numpy as np
from tqdm.auto import tqdm

from keras_mcunet.search_space import Resolution, SearchSpace
from tinyengine_tflite.arguments import check_count, check_ratio
from tinyengine_tflite.json_files import read_json, write_json

from .limits import Limits, kib


class NoFeasibleSpaceError(ValueError):
    """No candidate space has enough subnets within the limits."""


def space_label(width_mult: float, resolution: Resolution) -> str:
    res = resolution if isinstance(resolution, int) else f"{resolution[0]}x{resolution[1]}"
    return f"w{width_mult:g}-r{res}"


@dataclass
class SpaceStats:
    """What sampling one (W, R) space found. `macs` holds the sorted MACs of the satisfying samples."""
    width_mult: float
    resolution: Resolution
    num_samples: int
    macs: list[int]
    min_sram_bytes: int
    min_flash_bytes: int

    @property
    def num_fit(self) -> int:
        return len(self.macs)

    @property
    def fit_fraction(self) -> float:
        return self.num_fit / self.num_samples

    @property
    def mean_macs(self) -> float | None:
        return float(np.mean(self.macs)) if self.macs else None

    @property
    def label(self) -> str:
        return space_label(self.width_mult, self.resolution)

    def to_dict(self) -> dict:
        res = list(self.resolution) if isinstance(self.resolution, tuple) else self.resolution
        return {"width_mult": self.width_mult, "resolution": res, "num_samples": self.num_samples,
                "macs": self.macs, "min_sram_bytes": self.min_sram_bytes, "min_flash_bytes": self.min_flash_bytes}

    @classmethod
    def from_dict(cls, d: dict) -> SpaceStats:
        res = d["resolution"]
        return cls(float(d["width_mult"]), tuple(res) if isinstance(res, list) else int(res), int(d["num_samples"]),
                   [int(m) for m in d["macs"]], int(d["min_sram_bytes"]), int(d["min_flash_bytes"]))


@dataclass
class SpaceOptimizationResult:
    """Stage 1's table. `best` is the chosen (W, R) stats; it raises NoFeasibleSpaceError, naming the
    smallest memory any sample needed, when no space qualifies."""
    limits: Limits
    num_samples: int
    min_fit_fraction: float
    seed: int
    stats: list[SpaceStats] = field(default_factory=list)

    def qualified(self) -> list[SpaceStats]:
        """Spaces with enough satisfying samples, best (highest mean MACs) first."""
        ok = [s for s in self.stats if s.num_fit > 0 and s.fit_fraction >= self.min_fit_fraction]
        return sorted(ok, key=lambda s: (s.mean_macs, s.fit_fraction), reverse=True)

    @property
    def best(self) -> SpaceStats:
        ok = self.qualified()
        if ok:
            return ok[0]
        if not any(s.num_fit for s in self.stats):
            sram = min(self.stats, key=lambda s: s.min_sram_bytes)
            flash = min(self.stats, key=lambda s: s.min_flash_bytes)
            raise NoFeasibleSpaceError(
                f"no sampled subnet fits {self.limits.describe()}: the smallest peak SRAM found is "
                f"{kib(sram.min_sram_bytes)} ({sram.min_sram_bytes} bytes, space {sram.label}) and the smallest "
                f"flash {kib(flash.min_flash_bytes)} ({flash.min_flash_bytes} bytes, space {flash.label}). Raise "
                f"the limits or offer smaller width multipliers / resolutions.")
        top = max(self.stats, key=lambda s: s.fit_fraction)
        raise NoFeasibleSpaceError(
            f"no space has at least {self.min_fit_fraction:.1%} of its samples within {self.limits.describe()}; "
            f"the most is {top.fit_fraction:.1%} ({top.num_fit}/{top.num_samples}) for {top.label}. Lower "
            f"min_fit_fraction, raise the limits or offer smaller width multipliers / resolutions.")

    def best_space(self, space: SearchSpace) -> SearchSpace:
        """`space` with W and R fixed to the winner (what the supernet is trained on)."""
        best = self.best
        return space.subspace(width_mult=best.width_mult, resolution=best.resolution)

    def table(self) -> str:
        """The per-space table, best first, discarded spaces marked."""
        qualified = {id(s) for s in self.qualified()}
        try:
            chosen = id(self.best)
        except NoFeasibleSpaceError:
            chosen = None
        rows = sorted(self.stats, key=lambda s: (id(s) in qualified, s.mean_macs or 0.0), reverse=True)
        lines = [f"Search-space optimization: {self.num_samples} random subnets per space, "
                 f"{self.limits.describe()}",
                 f"{'space':<14}{'fit':>8}{'mean MMACs':>12}{'max MMACs':>11}{'min SRAM':>11}{'':>3}"]
        for s in rows:
            mean = f"{s.mean_macs / 1e6:.2f}" if s.macs else "-"
            top = f"{max(s.macs) / 1e6:.2f}" if s.macs else "-"
            mark = "<- chosen" if id(s) == chosen else ("" if id(s) in qualified else "(discarded)")
            lines.append(f"{s.label:<14}{s.fit_fraction:>8.1%}{mean:>12}{top:>11}{kib(s.min_sram_bytes):>11}"
                         f"   {mark}")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {"limits": self.limits.to_dict(), "num_samples": self.num_samples,
                "min_fit_fraction": self.min_fit_fraction, "seed": self.seed,
                "stats": [s.to_dict() for s in self.stats]}

    @classmethod
    def from_dict(cls, d: dict) -> SpaceOptimizationResult:
        return cls(Limits(**d["limits"]), int(d["num_samples"]), float(d["min_fit_fraction"]), int(d["seed"]),
                   [SpaceStats.from_dict(s) for s in d["stats"]])

    def save(self, path) -> None:
        write_json(path, self.to_dict())

    @classmethod
    def load(cls, path) -> SpaceOptimizationResult:
        return cls.from_dict(read_json(path))


def optimize_space(space: SearchSpace, limits: Limits, num_samples: int = 1000, min_fit_fraction: float = 0.1,
                   seed: int = 0, verbose: bool = True) -> SpaceOptimizationResult:
    """Sample every (W, R) of `space` (its width_mults x resolutions) and tabulate the satisfying models' MACs.

    Returns the table; its `best` is the chosen space (raises NoFeasibleSpaceError when none qualifies)."""
    if not isinstance(space, SearchSpace):
        raise ValueError(f"optimize_space expects a SearchSpace, got {type(space).__name__}")
    if not isinstance(limits, Limits):
        raise ValueError(f"optimize_space expects Limits, got {type(limits).__name__}")
    num_samples = check_count(num_samples, "num_samples")
    result = SpaceOptimizationResult(limits, num_samples, check_ratio(min_fit_fraction, "min_fit_fraction"),
                                     int(seed))
    grid = [(w, r) for w in space.width_mults for r in space.resolutions]
    with tqdm(total=len(grid) * num_samples, desc="stage 1: search-space optimization", unit="subnet",
              disable=not verbose) as bar:
        for w, r in grid:
            sub = space.subspace(width_mult=w, resolution=r)
            rng = random.Random(f"{seed}:{space_label(w, r)}")
            fit_macs, min_sram, min_flash = [], None, None
            for _ in range(num_samples):
                fits, prof = limits.check(sub.sample(rng))
                if fits:
                    fit_macs.append(int(prof.macs))
                min_sram = prof.peak_sram_bytes if min_sram is None else min(min_sram, prof.peak_sram_bytes)
                min_flash = prof.flash_bytes if min_flash is None else min(min_flash, prof.flash_bytes)
            # The space's smallest subnet bounds what any of its samples could need.
            smallest = limits.profile(sub.min_arch())
            result.stats.append(SpaceStats(w, r, int(num_samples), sorted(fit_macs),
                                           int(min(min_sram, smallest.peak_sram_bytes)),
                                           int(min(min_flash, smallest.flash_bytes))))
            bar.update(num_samples)
    return result


def plot_macs_cdf(result: SpaceOptimizationResult, path, max_curves: int = 8) -> str:
    """Save the cumulative distribution of the satisfying models' MACs per space (the paper's Fig. 3) to a
    PNG at `path`: the `max_curves` best qualified spaces in colour (the chosen one bold), the other qualified
    ones in light gray. Returns the path."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    qualified = result.qualified()
    fig, ax = plt.subplots(figsize=(7.5, 4.8), dpi=120)
    for s in qualified[max_curves:]:
        ax.step(np.array(s.macs) / 1e6, np.arange(1, s.num_fit + 1) / s.num_fit, where="post", color="0.8", lw=0.8)
    colors = plt.get_cmap("viridis")(np.linspace(0.0, 0.9, max(1, min(max_curves, len(qualified)))))
    for i, s in enumerate(qualified[:max_curves]):
        ax.step(np.array(s.macs) / 1e6, np.arange(1, s.num_fit + 1) / s.num_fit, where="post", color=colors[i],
                lw=2.6 if i == 0 else 1.4,
                label=f"{s.label}: mean {s.mean_macs / 1e6:.2f}M, {s.fit_fraction:.0%} fit" + (" (chosen)" if i == 0
                                                                                             else ""))
    ax.set_xlabel("MACs of the models that fit (millions)")
    ax.set_ylabel("cumulative probability")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.set_title(f"TinyNAS search-space optimization ({result.limits.describe()})", fontsize=10)
    if qualified:
        ax.legend(fontsize=7.5, loc="lower right")
    else:
        ax.text(0.5, 0.5, "no space qualifies", ha="center", va="center", transform=ax.transAxes)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return str(path)
