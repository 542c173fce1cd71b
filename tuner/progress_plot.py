"""Plot of an evolutionary search: each trial's supernet accuracy against its trial number, coloured by
generation, with the best accuracy so far."""
from __future__ import annotations

import numpy as np

from .kt_compat import TrialStatus


def plot_search_progress(oracle, path, title: str = "TinyNAS evolutionary search") -> str:
    """Save the progress of `oracle`'s completed trials (an EvolutionOracle) to a PNG at `path`."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    done = sorted((int(t.trial_id), t.score) for t in oracle.trials.values()
                  if t.status == TrialStatus.COMPLETED and t.score is not None)
    fig, ax = plt.subplots(figsize=(7.5, 4.2), dpi=120)
    if done:
        index = np.array([i for i, _ in done])
        score = np.array([s for _, s in done])
        generation = index // oracle.population_size
        points = ax.scatter(index, score, c=generation, cmap="viridis", s=12, label="trial (colour: generation)")
        best = np.maximum.accumulate(score) if oracle.objective.direction == "max" else np.minimum.accumulate(score)
        ax.step(index, best, where="post", color="crimson", lw=1.6, label="best so far")
        if generation.max() > 0:
            fig.colorbar(points, ax=ax, label="generation", ticks=range(int(generation.max()) + 1))
        ax.legend(fontsize=8, loc="lower right")
    else:
        ax.text(0.5, 0.5, "no completed trials", ha="center", va="center", transform=ax.transAxes)
    ax.set_xlabel("trial")
    ax.set_ylabel(f"{oracle.objective.name} (supernet, BN recalibrated)")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return str(path)
