"""A subnet of a SearchSpace as KerasTuner hyperparameters, and back.

One hyperparameter per gene, so trials, `get_best_hyperparameters` and `results_summary` read like any
KerasTuner search:

    width_mult, resolution        Choice (Fixed when the space has one value); a (height, width) resolution
                                  is the string "HxW"
    stage{i}_depth                Choice of the depths searched stage i (1-based, as arch_graph names blocks)
                                  may take
    stage{i}_block{j}_kernel      Choice of kernel sizes, active only when the stage has more than j blocks
    stage{i}_block{j}_expand      Choice of expand ratios, same condition
"""
from __future__ import annotations

from keras_mcunet.search_space import ArchConfig, SearchSpace

from .kt_compat import keras_tuner


def _resolution_value(resolution):
    return resolution if isinstance(resolution, int) else f"{resolution[0]}x{resolution[1]}"


def resolution_from_value(value):
    """A resolution from its hyperparameter value (an int, or "HxW")."""
    if isinstance(value, str):
        h, w = value.lower().split("x")
        return (int(h), int(w))
    return int(value)


def depth_name(stage: int) -> str:
    return f"stage{stage}_depth"


def gene_name(stage: int, block: int, what: str) -> str:
    return f"stage{stage}_block{block}_{what}"


def _choice_or_fixed(hp, name, values, **condition):
    values = list(values)
    if len(values) == 1:
        return hp.Fixed(name, values[0], **condition)
    return hp.Choice(name, values, **condition)


def declare_arch_hyperparameters(space: SearchSpace, hp: keras_tuner.HyperParameters | None = None
                                 ) -> keras_tuner.HyperParameters:
    """Register the space's genes in `hp` (a new HyperParameters by default) and return it."""
    if not isinstance(space, SearchSpace):
        raise ValueError(f"expected a SearchSpace, got {type(space).__name__}")
    hp = keras_tuner.HyperParameters() if hp is None else hp
    _choice_or_fixed(hp, "width_mult", space.width_mults)
    _choice_or_fixed(hp, "resolution", [_resolution_value(r) for r in space.resolutions])
    for i, depths in enumerate(space.stage_depths, start=1):
        _choice_or_fixed(hp, depth_name(i), sorted(depths))
        for j in range(max(depths)):
            condition = {}
            if j >= min(depths):
                condition = {"parent_name": depth_name(i), "parent_values": [d for d in sorted(depths) if d > j]}
            _choice_or_fixed(hp, gene_name(i, j, "kernel"), space.kernel_sizes, **condition)
            _choice_or_fixed(hp, gene_name(i, j, "expand"), space.expand_ratios, **condition)
    return hp


def arch_to_values(arch: ArchConfig) -> dict:
    """The active hyperparameter values that describe `arch`."""
    values = {"width_mult": arch.width_mult, "resolution": _resolution_value(arch.resolution)}
    for i, (ks, es) in enumerate(zip(arch.ks, arch.expand), start=1):
        values[depth_name(i)] = len(ks)
        for j, (k, e) in enumerate(zip(ks, es)):
            values[gene_name(i, j, "kernel")] = k
            values[gene_name(i, j, "expand")] = e
    return values


def arch_from_values(space: SearchSpace, values) -> ArchConfig:
    """The ArchConfig of `space` that hyperparameter values (a dict or a HyperParameters) describe."""
    if isinstance(values, keras_tuner.HyperParameters):
        values = values.values
    try:
        ks, expand = [], []
        for i in range(1, len(space.stage_depths) + 1):
            depth = int(values[depth_name(i)])
            ks.append([int(values[gene_name(i, j, "kernel")]) for j in range(depth)])
            expand.append([int(values[gene_name(i, j, "expand")]) for j in range(depth)])
        width_mult = float(values["width_mult"])
        resolution = resolution_from_value(values["resolution"])
    except KeyError as e:
        raise ValueError(f"hyperparameter values lack {e.args[0]!r}, so they do not describe a subnet of the "
                         f"space: {dict(values)}") from None
    return space.make_arch(ks, expand, width_mult, resolution)
