"""TinyNAS stage 1 (search-space optimization) with the exact memory profiler: the per-(W, R) table, the
choice, discarding, errors, JSON round trip and the CDF plot."""
import random

import numpy as np
import pytest

from keras_mcunet import SearchSpace
from keras_mcunet.profiler import profile
from tuner import Limits, NoFeasibleSpaceError, SpaceOptimizationResult, optimize_space, plot_macs_cdf

SPACE = SearchSpace(width_mults=(0.2, 0.3), resolutions=(32, 48), in_channels=1, num_classes=10,
                    stage_channels=(24, 40, 80), stage_strides=(2, 2, 2), stage_depths=((1, 2), (1, 2), (1, 2)))
BIG = 10 ** 9


def _srams(w, r, n=60):
    sub = SPACE.subspace(width_mult=w, resolution=r)
    rng = random.Random(0)
    return [profile(sub.sample(rng)).peak_sram_bytes for _ in range(n)]


def test_table_matches_the_profiler_and_picks_the_highest_mean_macs():
    # An SRAM limit that every r32 subnet meets and only part of the r48 ones do.
    limit = int(np.median(_srams(0.3, 48)))
    assert max(_srams(0.3, 32)) <= limit
    limits = Limits(limit, BIG)
    result = optimize_space(SPACE, limits, num_samples=60, min_fit_fraction=0.05, seed=3, verbose=False)
    assert [(s.width_mult, s.resolution) for s in result.stats] == [(0.2, 32), (0.2, 48), (0.3, 32), (0.3, 48)]
    for s in result.stats:
        assert s.num_samples == 60 and s.macs == sorted(s.macs)
        sub = SPACE.subspace(width_mult=s.width_mult, resolution=s.resolution)
        assert s.min_sram_bytes <= profile(sub.min_arch()).peak_sram_bytes
    by_key = {(s.width_mult, s.resolution): s for s in result.stats}
    assert by_key[(0.3, 32)].fit_fraction == 1.0
    assert 0.0 < by_key[(0.3, 48)].fit_fraction < 1.0
    # Recompute one space's satisfying MACs independently with the same sampler.
    from tuner.space_optimizer import space_label
    sub = SPACE.subspace(width_mult=0.3, resolution=48)
    rng = random.Random(f"3:{space_label(0.3, 48)}")
    expected = sorted(p.macs for p in (profile(sub.sample(rng)) for _ in range(60)) if p.peak_sram_bytes <= limit)
    assert by_key[(0.3, 48)].macs == expected
    qualified = result.qualified()
    assert result.best is qualified[0]
    assert result.best.mean_macs == max(s.mean_macs for s in qualified)
    space = result.best_space(SPACE)
    assert space.width_mults == (result.best.width_mult,) and space.resolutions == (result.best.resolution,)
    table = result.table()
    assert "<- chosen" in table and result.best.label in table
    # Same seed, same table; another seed samples other subnets.
    again = optimize_space(SPACE, limits, num_samples=60, min_fit_fraction=0.05, seed=3, verbose=False)
    assert [s.macs for s in again.stats] == [s.macs for s in result.stats]


def test_spaces_with_too_few_fitting_models_are_discarded():
    limit = int(np.percentile(_srams(0.3, 48), 20))
    result = optimize_space(SPACE, Limits(limit, BIG), num_samples=60, min_fit_fraction=0.5, seed=0, verbose=False)
    discarded = [s for s in result.stats if s.fit_fraction < 0.5]
    assert discarded and all(s not in result.qualified() for s in discarded)
    assert result.best.fit_fraction >= 0.5
    assert "(discarded)" in result.table()
    partial = [s for s in result.stats if 0 < s.fit_fraction < 1]
    assert partial
    strict = SpaceOptimizationResult(result.limits, 60, 1.0, 0, partial)
    top = max(partial, key=lambda s: s.fit_fraction)
    with pytest.raises(NoFeasibleSpaceError, match=f"no space has at least 100.0%.*{top.label}"):
        strict.best


def test_limits_no_model_meets_name_the_smallest_sram_found():
    smallest = profile(SPACE.min_arch(0.2, 32))
    result = optimize_space(SPACE, Limits(smallest.peak_sram_bytes - 1, BIG), num_samples=20, verbose=False)
    with pytest.raises(NoFeasibleSpaceError, match=f"smallest peak SRAM found is .*{smallest.peak_sram_bytes} bytes"):
        result.best
    assert "<- chosen" not in result.table()


def test_round_trip_and_plot(tmp_path):
    result = optimize_space(SPACE, Limits(BIG, BIG), num_samples=15, seed=1, verbose=False)
    path = tmp_path / "stage1.json"
    result.save(path)
    back = SpaceOptimizationResult.load(path)
    assert back.to_dict() == result.to_dict() and back.best.label == result.best.label
    png = tmp_path / "cdf.png"
    plot_macs_cdf(result, png)
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    import matplotlib.image
    image = matplotlib.image.imread(str(png))
    assert image.shape[0] > 300 and image[..., :3].std() > 0.05     # a drawn figure, not a blank canvas


def test_bad_arguments():
    with pytest.raises(ValueError, match="sram_limit must be positive"):
        Limits(-320 * 1024, BIG)
    with pytest.raises(ValueError, match="flash_limit must be positive"):
        Limits(BIG, 0)
    with pytest.raises(ValueError, match="num_samples"):
        optimize_space(SPACE, Limits(BIG, BIG), num_samples=0)
    with pytest.raises(ValueError, match="min_fit_fraction"):
        optimize_space(SPACE, Limits(BIG, BIG), min_fit_fraction=2)
