"""The NAS evidence harness (tuner.evidence): the scaled MobileNetV2 baseline, the summary, and (slow) a real
quick run of all four methods."""
import json

import numpy as np
import pytest

from keras_mcunet.profiler import profile
from tuner.evidence import QUICK, Budget, _summary, main, mobilenetv2_arch, scaled_mobilenetv2


def test_mobilenetv2_layout():
    arch = mobilenetv2_arch(0.35, 32, 10, 1)
    assert arch.depths == (2, 3, 4, 3, 3, 1)
    assert arch.stage_channels == (24, 32, 64, 96, 160, 320)
    assert {k for s in arch.ks for k in s} == {3} and {e for s in arch.expand for e in s} == {6}


def test_scaled_mobilenetv2_is_the_largest_that_fits():
    budget = Budget(sram_limit=24 * 1024, flash_limit=1024 * 1024, width_mults=(0.2, 0.3, 0.5),
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
        scaled_mobilenetv2(Budget(sram_limit=1024), 10, 1)


def test_summary_means_over_seeds():
    rows = [{"method": m, "test_accuracy": a, "peak_sram_bytes": 1024, "flash_bytes": 2048, "macs": 10 ** 6}
            for m, a in (("TinyNAS", 0.9), ("TinyNAS", 0.8), ("MobileNetV2 w0.3-r32 (from scratch)", 0.7),
                         ("MobileNetV2 w0.2-r48 (from scratch)", 0.5))]
    summary = {s["method"]: s for s in _summary(rows)}
    assert summary["TinyNAS"]["mean"] == pytest.approx(0.85) and summary["TinyNAS"]["n"] == 2
    assert summary["MobileNetV2"]["mean"] == pytest.approx(0.6)
    assert summary["TinyNAS"]["std"] == pytest.approx(np.std([0.9, 0.8]))


@pytest.mark.slow
def test_quick_evidence_run_compares_the_models_within_the_limits(tmp_path):
    out = tmp_path / "evidence.md"
    assert main(["--quick", "--seeds", "0", "--directory", str(tmp_path / "runs"), "--out", str(out)]) == 0
    text = out.read_text()
    for method in ("TinyNAS search() output", "random search (same supernet", "MobileNetV2",
                   "TinyNAS arch (from scratch)", "random-search arch (from scratch)"):
        assert method in text
    rows = json.loads((tmp_path / "runs" / "results.json").read_text())["rows"]
    assert len(rows) == 5
    for row in rows:
        assert row["peak_sram_bytes"] <= QUICK.sram_limit and row["flash_bytes"] <= QUICK.flash_limit
        assert 0.0 <= row["test_accuracy"] <= 1.0
