"""MCUNet's search space: MBConv blocks in a ProxylessNAS/MnasNet skeleton, scaled by a width multiplier W and
an input resolution R.

`ArchConfig` describes one subnet completely (no TensorFlow needed): the space-level knobs it was drawn with
(W, R, input channels, classes, the skeleton's base widths and strides) and, per searched stage, the kernel size
and expand ratio of each of its active blocks (so a stage's depth is the length of its lists). `SearchSpace`
holds the choices, with the paper's values as defaults, and samples, mutates, crosses over and validates archs.
"""
from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Union

import numpy as np

from tinyengine_tflite.arguments import check_positive_int, check_ratio, is_int

Resolution = Union[int, tuple[int, int]]
Rng = Union[None, int, random.Random, np.random.Generator]

# The block after the stem is a fixed MBConv with expand ratio 1 and a 3x3 kernel, as in MobileNetV2 and MCUNet.
FIRST_BLOCK_KERNEL = 3


def make_divisible(value: float, divisor: int = 8) -> int:
    """Round a channel count to a multiple of `divisor`, never more than 10% below `value` (MobileNetV2's rule)."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


def resolution_hw(resolution: Resolution) -> tuple[int, int]:
    """(height, width) of an int (square) or a (height, width) resolution."""
    return (resolution, resolution) if isinstance(resolution, int) else tuple(resolution)


def _normalize_resolution(value: Any, what: str) -> Resolution:
    if isinstance(value, (list, tuple)):
        if len(value) != 2 or not all(is_int(v) and v > 0 for v in value):
            raise ValueError(f"{what} must be a positive int or a (height, width) pair of positive ints, "
                             f"got {value!r}")
        return (int(value[0]), int(value[1]))
    if not (is_int(value) and value > 0):
        raise ValueError(f"{what} must be a positive int or a (height, width) pair, got {value!r}")
    return int(value)


def _int_tuple(values: Any, what: str, allowed: tuple[int, ...] | None = None) -> tuple[int, ...]:
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise ValueError(f"{what} must be a sequence of ints, got {values!r}")
    out = tuple(values)
    for v in out:
        if not (is_int(v) and v > 0):
            raise ValueError(f"{what} must hold positive ints, got {v!r} in {values!r}")
        if allowed is not None and v not in allowed:
            raise ValueError(f"{what} must hold values from {allowed}, got {v!r}")
    return tuple(int(v) for v in out)


def _as_random(rng: Rng) -> random.Random:
    if rng is None or is_int(rng):
        return random.Random(rng)
    if isinstance(rng, random.Random):
        return rng
    if isinstance(rng, np.random.Generator):
        return random.Random(int(rng.integers(2 ** 63)))
    raise ValueError(f"rng must be None, an int seed, a random.Random or a numpy Generator, got {type(rng).__name__}")


# The macro-architecture fields ArchConfig and SearchSpace both declare (each in its own place in its field order,
# which repr, to_dict and a resumed search's search_config.json depend on, so they are not a shared base class).
MACRO_FIELDS = ("in_channels", "num_classes", "stem_channels", "first_block_channels", "stage_channels",
                "stage_strides")


def _normalize_macro(obj) -> None:
    """Check and normalize obj's MACRO_FIELDS in place (obj: a frozen ArchConfig or SearchSpace)."""
    for name in ("in_channels", "num_classes", "stem_channels", "first_block_channels"):
        object.__setattr__(obj, name, check_positive_int(getattr(obj, name), name))
    object.__setattr__(obj, "stage_channels", _int_tuple(obj.stage_channels, "stage_channels"))
    object.__setattr__(obj, "stage_strides", _int_tuple(obj.stage_strides, "stage_strides", allowed=(1, 2)))


@dataclass(frozen=True)
class ArchConfig:
    """One subnet of a `SearchSpace`.

    ks[i][j] / expand[i][j]: kernel size and expand ratio of block j of searched stage i; len(ks[i]) is the
    stage's depth. Channel counts are the base widths (for W = 1); the model uses make_divisible(c * W, 8).
    Lists are accepted and stored as tuples, so archs are hashable and compare by value."""
    width_mult: float
    resolution: Resolution
    ks: tuple[tuple[int, ...], ...]
    expand: tuple[tuple[int, ...], ...]
    in_channels: int = 3
    num_classes: int = 1000
    stem_channels: int = 32
    first_block_channels: int = 16
    stage_channels: tuple[int, ...] = (24, 40, 80, 96, 192, 320)
    stage_strides: tuple[int, ...] = (2, 2, 2, 1, 2, 1)

    def __post_init__(self):
        set_ = object.__setattr__  # frozen dataclass: normalize in place once
        if not (isinstance(self.width_mult, (int, float, np.floating)) and self.width_mult > 0):
            raise ValueError(f"width_mult must be a positive number, got {self.width_mult!r}")
        set_(self, "width_mult", float(self.width_mult))
        set_(self, "resolution", _normalize_resolution(self.resolution, "resolution"))
        _normalize_macro(self)
        n = len(self.stage_channels)
        if n == 0 or len(self.stage_strides) != n:
            raise ValueError(f"stage_channels ({n}) and stage_strides ({len(self.stage_strides)}) must have the "
                             f"same, non-zero length")
        for name in ("ks", "expand"):
            per_stage = getattr(self, name)
            if isinstance(per_stage, (str, bytes)) or not hasattr(per_stage, "__len__") or len(per_stage) != n:
                raise ValueError(f"{name} must have one list of per-block values for each of the {n} stages, "
                                 f"got {per_stage!r}")
            set_(self, name, tuple(_int_tuple(s, f"{name}[{i}]") for i, s in enumerate(per_stage)))
        for i, (k, e) in enumerate(zip(self.ks, self.expand)):
            if len(k) == 0 or len(k) != len(e):
                raise ValueError(f"stage {i}: ks has {len(k)} blocks and expand has {len(e)}; they must agree "
                                 f"and be at least 1")
            if any(v % 2 == 0 for v in k):
                raise ValueError(f"stage {i}: kernel sizes must be odd, got {k}")

    @property
    def depths(self) -> tuple[int, ...]:
        """Number of active blocks of each searched stage."""
        return tuple(len(k) for k in self.ks)

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """(height, width, channels) of one input sample."""
        return (*resolution_hw(self.resolution), self.in_channels)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["resolution"] = list(self.resolution) if isinstance(self.resolution, tuple) else self.resolution
        for key in ("ks", "expand"):
            d[key] = [list(s) for s in d[key]]
        for key in ("stage_channels", "stage_strides"):
            d[key] = list(d[key])
        return d

    @classmethod
    def from_dict(cls, d: dict) -> ArchConfig:
        if not isinstance(d, dict):
            raise ValueError(f"an ArchConfig dict must be a dict, got {type(d).__name__}")
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ValueError(f"unknown ArchConfig keys {unknown}; expected some of {sorted(names)}")
        missing = sorted(k for k in ("width_mult", "resolution", "ks", "expand") if k not in d)
        if missing:
            raise ValueError(f"ArchConfig dict lacks required keys {missing}")
        return cls(**d)

    def to_json(self, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_json(cls, text: str) -> ArchConfig:
        try:
            d = json.loads(text)
        except json.JSONDecodeError as e:
            raise ValueError(f"not valid ArchConfig JSON: {e}") from None
        return cls.from_dict(d)


def _default_stage_depths() -> tuple[tuple[int, ...], ...]:
    return ((2, 3, 4),) * 5 + ((1,),)


@dataclass(frozen=True)
class SearchSpace:
    """The choices of MCUNet's space; every field can be overridden (lists are accepted).

    width_mults / resolutions: the space-level knobs TinyNAS optimizes first (paper: W 0.2..1.0, R 48..224);
    a resolution is an int (square) or a (height, width) pair: resolutions=((49, 10),) for audio features.
    stage_depths[i]: the depths stage i may take (the last, 320-channel stage is a single block)."""
    width_mults: tuple[float, ...] = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
    resolutions: tuple[Resolution, ...] = tuple(range(48, 225, 16))
    kernel_sizes: tuple[int, ...] = (3, 5, 7)
    expand_ratios: tuple[int, ...] = (3, 4, 6)
    stage_depths: tuple[tuple[int, ...], ...] = _default_stage_depths()
    in_channels: int = 3
    num_classes: int = 1000
    stem_channels: int = 32
    first_block_channels: int = 16
    stage_channels: tuple[int, ...] = (24, 40, 80, 96, 192, 320)
    stage_strides: tuple[int, ...] = (2, 2, 2, 1, 2, 1)

    def __post_init__(self):
        set_ = object.__setattr__
        widths = tuple(self.width_mults) if hasattr(self.width_mults, "__iter__") else (self.width_mults,)
        if not widths or not all(isinstance(w, (int, float, np.floating)) and w > 0 for w in widths):
            raise ValueError(f"width_mults must be a non-empty sequence of positive numbers, got {self.width_mults!r}")
        set_(self, "width_mults", tuple(float(w) for w in widths))
        res = self.resolutions
        if not isinstance(res, (list, tuple)) or len(res) == 0:
            raise ValueError(f"resolutions must be a non-empty sequence, got {self.resolutions!r}")
        set_(self, "resolutions", tuple(_normalize_resolution(r, "each resolution") for r in res))
        set_(self, "kernel_sizes", _int_tuple(self.kernel_sizes, "kernel_sizes"))
        if not self.kernel_sizes:
            raise ValueError("kernel_sizes must not be empty")
        even = [k for k in self.kernel_sizes if k % 2 == 0]
        if even:
            raise ValueError(f"kernel_sizes must be odd (smaller kernels are the centre of the largest one), "
                             f"got {even}")
        set_(self, "expand_ratios", _int_tuple(self.expand_ratios, "expand_ratios"))
        if not self.expand_ratios:
            raise ValueError("expand_ratios must not be empty")
        _normalize_macro(self)
        set_(self, "stage_depths", tuple(_int_tuple(d, f"stage_depths[{i}]")
                                         for i, d in enumerate(self.stage_depths)))
        n = len(self.stage_channels)
        if n == 0 or len(self.stage_strides) != n or len(self.stage_depths) != n:
            raise ValueError(f"stage_channels ({n}), stage_strides ({len(self.stage_strides)}) and stage_depths "
                             f"({len(self.stage_depths)}) must have the same, non-zero length")
        for i, d in enumerate(self.stage_depths):
            if not d:
                raise ValueError(f"stage_depths[{i}] must not be empty")

    # --- building archs -------------------------------------------------------------------------------------
    def make_arch(self, ks, expand, width_mult: float | None = None,
                  resolution: Resolution | None = None) -> ArchConfig:
        """An ArchConfig of this space from per-stage lists of kernel sizes and expand ratios, validated.
        width_mult / resolution may be left out when the space has a single choice."""
        arch = ArchConfig(
            width_mult=self._pick(self.width_mults, width_mult, "width_mult"),
            resolution=self._pick(self.resolutions, resolution, "resolution"),
            ks=ks, expand=expand, **{name: getattr(self, name) for name in MACRO_FIELDS})
        return self.validate(arch)

    @staticmethod
    def _pick(choices: tuple, value: Any, what: str) -> Any:
        if value is not None:
            return value
        if len(choices) != 1:
            raise ValueError(f"{what} must be given: the space has several choices {choices}")
        return choices[0]

    def _uniform(self, depth_of, k: int, e: int, width_mult, resolution) -> ArchConfig:
        depths = [depth_of(d) for d in self.stage_depths]
        return self.make_arch([[k] * d for d in depths], [[e] * d for d in depths], width_mult, resolution)

    def max_arch(self, width_mult: float | None = None, resolution: Resolution | None = None) -> ArchConfig:
        """The largest subnet (largest kernels, expand ratios and depths; by default the largest W and R)."""
        return self._uniform(max, max(self.kernel_sizes), max(self.expand_ratios),
                             max(self.width_mults) if width_mult is None else width_mult,
                             self._largest_resolution() if resolution is None else resolution)

    def min_arch(self, width_mult: float | None = None, resolution: Resolution | None = None) -> ArchConfig:
        """The smallest subnet (smallest kernels, expand ratios and depths; by default the smallest W and R)."""
        return self._uniform(min, min(self.kernel_sizes), min(self.expand_ratios),
                             min(self.width_mults) if width_mult is None else width_mult,
                             self._smallest_resolution() if resolution is None else resolution)

    def _largest_resolution(self) -> Resolution:
        return max(self.resolutions, key=lambda r: np.prod(resolution_hw(r)))

    def _smallest_resolution(self) -> Resolution:
        return min(self.resolutions, key=lambda r: np.prod(resolution_hw(r)))

    def subspace(self, width_mult: float | None = None, resolution: Resolution | None = None) -> SearchSpace:
        """This space with W and/or R fixed to one of its choices (what a supernet is trained on)."""
        changes = {}
        if width_mult is not None:
            changes["width_mults"] = (self._member(self.width_mults, width_mult, "width_mult"),)
        if resolution is not None:
            changes["resolutions"] = (self._member(self.resolutions, resolution, "resolution"),)
        return replace(self, **changes)

    def redistribute_receptive_field(self, patch_stages: int = 2) -> SearchSpace:
        """MCUNetV2's receptive-field redistribution, for patch-based inference: the first `patch_stages` stages
        (where the patch stage lies: the high-resolution ones) may also take a single block, and every later
        stage but the last one block more than its deepest choice. Each block of the patch stage widens every
        patch's recomputed halo by its kernel's reach, so the search can move receptive field and compute from
        there to the layer-wise stages (kernel sizes stay a choice per block); it keeps what wins."""
        n = len(self.stage_depths)
        if not (isinstance(patch_stages, int) and 0 < patch_stages < n):
            raise ValueError(f"patch_stages must be a whole number in 1 .. {n - 1}, got {patch_stages!r}")
        depths = [tuple(sorted({1, *d})) if i < patch_stages else
                  (tuple(sorted({*d, max(d) + 1})) if i < n - 1 else d) for i, d in enumerate(self.stage_depths)]
        return replace(self, stage_depths=tuple(depths))

    # --- sampling, evolution --------------------------------------------------------------------------------
    def sample(self, rng: Rng = None) -> ArchConfig:
        """A uniformly random subnet (W, R, depths, then each block's kernel size and expand ratio)."""
        r = _as_random(rng)
        depths = [r.choice(d) for d in self.stage_depths]
        return self.make_arch([[r.choice(self.kernel_sizes) for _ in range(d)] for d in depths],
                              [[r.choice(self.expand_ratios) for _ in range(d)] for d in depths],
                              r.choice(self.width_mults), r.choice(self.resolutions))

    def mutate(self, arch: ArchConfig, prob: float, rng: Rng = None) -> ArchConfig:
        """Resample each gene (W, R, each stage's depth, each block's kernel size and expand ratio) with
        probability `prob`; blocks added by a deeper stage get random choices."""
        self.validate(arch)
        check_ratio(prob, "mutation prob")
        r = _as_random(rng)

        def maybe(current, choices):
            return r.choice(choices) if r.random() < prob else current

        ks, expand = [], []
        for stage_ks, stage_e, depths in zip(arch.ks, arch.expand, self.stage_depths):
            depth = maybe(len(stage_ks), depths)
            ks.append([maybe(stage_ks[j], self.kernel_sizes) if j < len(stage_ks) else r.choice(self.kernel_sizes)
                       for j in range(depth)])
            expand.append([maybe(stage_e[j], self.expand_ratios) if j < len(stage_e)
                           else r.choice(self.expand_ratios) for j in range(depth)])
        return self.make_arch(ks, expand, maybe(arch.width_mult, self.width_mults),
                              maybe(arch.resolution, self.resolutions))

    def crossover(self, a: ArchConfig, b: ArchConfig, rng: Rng = None) -> ArchConfig:
        """Each gene from one parent or the other at random; a block only one parent has comes from it."""
        self.validate(a)
        self.validate(b)
        r = _as_random(rng)
        ks, expand = [], []
        for ka, kb, ea, eb in zip(a.ks, b.ks, a.expand, b.expand):
            depth = r.choice((len(ka), len(kb)))
            ks.append([r.choice([s[j] for s in (ka, kb) if j < len(s)]) for j in range(depth)])
            expand.append([r.choice([s[j] for s in (ea, eb) if j < len(s)]) for j in range(depth)])
        return self.make_arch(ks, expand, r.choice((a.width_mult, b.width_mult)),
                              r.choice((a.resolution, b.resolution)))

    # --- validation -----------------------------------------------------------------------------------------
    @staticmethod
    def _member(choices: tuple, value: Any, what: str) -> Any:
        for c in choices:
            if (isinstance(c, float) and isinstance(value, (int, float)) and abs(c - value) < 1e-9) or c == value:
                return c
        raise ValueError(f"{what} {value!r} is not in the space's choices {choices}")

    def validate(self, arch: ArchConfig) -> ArchConfig:
        """Return `arch` if it is a subnet of this space, else raise ValueError saying what is wrong."""
        if not isinstance(arch, ArchConfig):
            raise ValueError(f"expected an ArchConfig, got {type(arch).__name__}")
        self._member(self.width_mults, arch.width_mult, "width_mult")
        self._member(self.resolutions, arch.resolution, "resolution")
        for name in MACRO_FIELDS:
            if getattr(arch, name) != getattr(self, name):
                raise ValueError(f"arch {name} {getattr(arch, name)!r} differs from the space's "
                                 f"{getattr(self, name)!r}")
        for i, (stage_ks, stage_e, depths) in enumerate(zip(arch.ks, arch.expand, self.stage_depths)):
            if len(stage_ks) not in depths:
                raise ValueError(f"stage {i} has {len(stage_ks)} blocks; the space allows depths {depths}")
            for j, (k, e) in enumerate(zip(stage_ks, stage_e)):
                if k not in self.kernel_sizes:
                    raise ValueError(f"stage {i} block {j}: kernel size {k} is not in {self.kernel_sizes}")
                if e not in self.expand_ratios:
                    raise ValueError(f"stage {i} block {j}: expand ratio {e} is not in {self.expand_ratios}")
        return arch
