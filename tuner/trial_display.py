"""One line per ended trial of an EvolutionOracle (trial id, generation, accuracy, memory, best so far),
instead of KerasTuner's table of every hyperparameter (about 40 genes per subnet). Written with tqdm.write so
progress bars stay intact."""
from __future__ import annotations

from datetime import datetime

from tqdm.auto import tqdm

from .kt_compat import Display


class CompactDisplay(Display):
    """KerasTuner's Display (same state), printing one line per ended trial."""

    def on_trial_begin(self, trial):
        if self.verbose < 1:
            return
        now = datetime.now()
        self.trial_start[trial.trial_id] = now
        self.search_start = self.search_start or now
        self.trial_number[trial.trial_id] = len(self.oracle.trials)

    def on_trial_end(self, trial):
        if self.verbose < 1:
            return
        oracle = self.oracle
        name = oracle.objective.name
        parts = [f"trial {trial.trial_id} (generation {oracle.generation_of(trial.trial_id)}) {trial.status}"]
        if trial.metrics.exists(name):
            parts.append(f"{name} {trial.metrics.get_last_value(name):.4f}")
        for metric, unit, digits in (("peak_sram_kb", "KB SRAM", 1), ("flash_kb", "KB flash", 1),
                                     ("mmacs", "MMACs", 2)):
            if trial.metrics.exists(metric):
                parts.append(f"{trial.metrics.get_last_value(metric):.{digits}f} {unit}")
        if trial.message:
            parts.append(trial.message.strip().splitlines()[-1][:200])
        best = oracle.get_best_trials(1)
        if best and best[0].score is not None:
            parts.append(f"best {best[0].score:.4f}")
        start = self.trial_start.get(trial.trial_id)
        if start is not None:
            parts.append(self.format_duration(datetime.now() - start))
        tqdm.write(" | ".join(parts))
