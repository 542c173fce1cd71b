"""The NAS evidence harness (benchmarks.tinynas_evidence): the scaled MobileNetV2 baseline, the summary, and (slow)
a real quick run of all four methods."""
import json
from dataclasses import asdict

import numpy as np
import pytest

from benchmarks.training_revision import TRAINING_REVISION
from benchmarks.tinynas_evidence import (MBV2, OUTPUT, QUICK, RANDOM, EvidenceBudget, EvidenceRow, _compare,
                                         _summary, main, mobilenetv2_arch, scaled_mobilenetv2)
from keras_mcunet.profiler import profile


def test_mobilenetv2_layout():
    arch = mobilenetv2_arch(0.35, 32, 10, 1)
    assert arch.depths == (2, 3, 4, 3, 3, 1)
    assert arch.stage_channels == (24, 32, 64, 96, 160, 320)
    assert {k for s in arch.ks for k in s} == {3} and {e for s in arch.expand for e in s} == {6}


def test_scaled_mobilenetv2_is_the_largest_that_fits():
    budget = EvidenceBudget(sram_limit=24 * 1024, flash_limit=1024 * 1024, width_mults=(0.2, 0.3, 0.5),
                    resolutions=(24, 32, 48))
    chosen = scaled_mobilenetv2(budget, 10, 1)
    p = profile(chosen)
    assert p.peak_sram_bytes <= budget.sram_limit and p.flash_bytes <= budget.flash_limit
    for w in budget.width_mults:
        for r in budget.resolutions:
            q = profile(mobilenetv2_arch(w, r, 10, 1))
            if q.peak_sram_bytes <= budget.sram_limit and q.flash_bytes <= budget.flash_limit:
                assert q.macs <= p.macs
    with pytest.raises(ValueError, match="no MobileNetV2 of the grid fits"):
        scaled_mobilenetv2(EvidenceBudget(sram_limit=1024), 10, 1)


def _rows(accuracies: dict) -> list[EvidenceRow]:
    """Result rows as run_seed makes them: {seed: {method: test accuracy}}."""
    arch = mobilenetv2_arch(0.2, 24, 10, 1).to_dict()
    return [EvidenceRow(method, acc, 0.9, None, 0.2, 24, 8000, 100_000, 400_000, arch, seed)
            for seed, by_method in accuracies.items() for method, acc in by_method.items()]


def _saved(rows: list[EvidenceRow]) -> list[dict]:
    return [asdict(r) for r in rows]


def test_summary_means_over_seeds():
    rows = _rows({0: {"TinyNAS": 0.9, "MobileNetV2 w0.3-r32 (from scratch)": 0.7},
                  1: {"TinyNAS": 0.8, "MobileNetV2 w0.2-r48 (from scratch)": 0.5}})
    summary = {s.method: s for s in _summary(rows)}
    assert list(summary) == ["TinyNAS", "MobileNetV2"]
    assert summary["TinyNAS"].mean == pytest.approx(0.85) and summary["TinyNAS"].n == 2
    assert summary["MobileNetV2"].mean == pytest.approx(0.6)
    assert summary["TinyNAS"].std == pytest.approx(np.std([0.9, 0.8]))


def test_compare_counts_wins_per_seed():
    mbv2 = f"{MBV2} w0.2-r24 (from scratch)"
    rows = _rows({0: {OUTPUT: 0.97, mbv2: 0.95, RANDOM: 0.97}, 1: {OUTPUT: 0.96, mbv2: 0.965, RANDOM: 0.95},
                  2: {OUTPUT: 0.98, mbv2: 0.96}})
    assert _compare(rows, OUTPUT, MBV2) == "+1.17 points on average, better on 2 of 3 seeds"
    assert _compare(rows, OUTPUT, RANDOM) == "+0.50 points on average, better on 1 of 2 seeds (1 tied)"
    assert _compare(rows, RANDOM, "nothing") == "not measured"


def test_render_only_writes_the_benchmarks_section(tmp_path):
    runs = tmp_path / "runs"
    runs.mkdir()
    rows = _rows({0: {OUTPUT: 0.97, f"{MBV2} w0.2-r24 (from scratch)": 0.95, RANDOM: 0.96}})
    (runs / "results.json").write_text(json.dumps({"budget": EvidenceBudget().__dict__, "rows": _saved(rows),
                                                   "seconds": 120.0,
                                                   "command": "python -m benchmarks.tinynas_evidence --overwrite"}))
    report = tmp_path / "BENCHMARKS.md"
    report.write_text("# Benchmarks\n\ncompiler numbers\n")
    for _ in range(2):      # rewriting replaces the section, it does not add a second one
        assert main(["--render-only", "--directory", str(runs), "--out", str(report)]) == 0
    text = report.read_text()
    assert text.startswith("# Benchmarks\n\ncompiler numbers\n")
    assert text.count("<!-- section tinynas-evidence") == 1
    assert "| TinyNAS search() output (supernet + fine-tune) | 0.9700 +- 0.0000 | 1 |" in text
    assert "vs MobileNetV2: +2.00 points on average, better on 1 of 1 seeds" in text
    assert "(2.0 min on" in text
    with pytest.raises(SystemExit, match="no .*results.json"):
        main(["--render-only", "--directory", str(tmp_path / "none"), "--out", str(report)])


def test_finished_seeds_are_kept_and_rendered_without_training(tmp_path):
    runs = tmp_path / "runs"
    runs.mkdir()
    budget = dict(EvidenceBudget().__dict__, scratch_learning_rates=[0.001])   # a key of an older budget is ignored
    for seed in (0, 1):
        rows = _rows({seed: {OUTPUT: 0.97, RANDOM: 0.95 + seed / 100}})
        (runs / f"seed{seed}.json").write_text(json.dumps({"budget": budget, "rows": _saved(rows), "seconds": 60.0,
                                                           "training_revision": TRAINING_REVISION}))
    report = tmp_path / "BENCHMARKS.md"
    assert main(["--seeds", "0", "1", "--directory", str(runs), "--out", str(report)]) == 0
    assert "vs random search's output: +1.50 points on average, better on 2 of 2 seeds" in report.read_text()
    assert len(json.loads((runs / "results.json").read_text())["rows"]) == 4
    (runs / "seed1.json").write_text(json.dumps({"budget": dict(budget, supernet_epochs=1), "rows": _saved(rows)}))
    with pytest.raises(SystemExit, match="seed1.json was made with another budget"):
        main(["--seeds", "0", "1", "--directory", str(runs), "--out", str(report)])
    # a seed trained before the batch-norm fix (no training_revision saved) is not mixed in either
    (runs / "seed1.json").write_text(json.dumps({"budget": budget, "rows": _saved(rows)}))
    with pytest.raises(SystemExit, match="seed1.json was made by an older training code"):
        main(["--seeds", "0", "1", "--directory", str(runs), "--out", str(report)])


@pytest.mark.slow
def test_quick_evidence_run_compares_the_models_within_the_limits(tmp_path):
    out = tmp_path / "evidence.md"
    runs = tmp_path / "runs"     # two seeds in two worker processes
    assert main(["--quick", "--seeds", "0", "1", "--jobs", "2", "--directory", str(runs), "--out", str(out)]) == 0
    text = out.read_text()
    for method in ("TinyNAS search() output", "random search (same supernet", "MobileNetV2",
                   "TinyNAS arch (from scratch)", "random-search arch (from scratch)"):
        assert method in text
    rows = json.loads((runs / "results.json").read_text())["rows"]
    assert len(rows) == 10 and {r["seed"] for r in rows} == {0, 1}
    assert (runs / "seed0.log").exists() and (runs / "seed1.log").exists()
    for row in rows:
        assert row["peak_sram_bytes"] <= QUICK.sram_limit and row["flash_bytes"] <= QUICK.flash_limit
        assert 0.0 <= row["test_accuracy"] <= 1.0
