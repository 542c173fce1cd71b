"""TinyNAS as KerasTuner oracles (MCUNet, Lin et al., NeurIPS 2020).

Stage 1, search-space optimization: `optimize_space` / `plot_macs_cdf` (tuner.space_optimizer).
Stage 2, evolutionary search under the exact memory profiler: `EvolutionOracle` (a keras_tuner.Oracle) run by
`TinyNASTuner` (a KerasTuner BaseTuner owning a trained keras_mcunet.Supernet).
The whole pipeline in one call: `search(train, val, config=SearchConfig(...))` (tuner.pipeline), which users
reach as `keras_mcunet.search(...)`; every setting may also be a keyword argument. `optimize_search_space` with
the same arguments runs its stage 1 alone.

Importing this package imports TensorFlow and KerasTuner (with tf_keras selected first).
"""
from .arch_hyperparameters import arch_from_values, arch_to_values, declare_arch_hyperparameters
from .evolution_oracle import EvolutionOracle
from .limits import Limits, profile_arch
from .pipeline import optimize_search_space, search
from .progress_plot import plot_search_progress
from .search_config import EvolutionConfig, FinetuneConfig, SearchConfig, SpaceConfig, SupernetConfig
from .space_optimizer import NoFeasibleSpaceError, SpaceOptimizationResult, SpaceStats, optimize_space, plot_macs_cdf
from .tinynas_tuner import TinyNASTuner

__all__ = ["EvolutionOracle", "TinyNASTuner", "Limits", "profile_arch", "optimize_space", "plot_macs_cdf",
           "plot_search_progress", "SpaceOptimizationResult", "SpaceStats", "NoFeasibleSpaceError",
           "declare_arch_hyperparameters", "arch_to_values", "arch_from_values", "search", "optimize_search_space",
           "SearchConfig", "SpaceConfig", "SupernetConfig", "EvolutionConfig", "FinetuneConfig"]
