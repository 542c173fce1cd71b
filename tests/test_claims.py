"""The claims benchmark (benchmarks.claims): baseline scaling under both memory models, TFLM's memory model against
TFLite Micro itself, resuming, the report from saved cells, and (slow) a real --quick run."""
import json
from dataclasses import asdict, replace

import pytest

from benchmarks.baselines import BASELINES, NoBaselineFits, ds_cnn_arch, largest_fitting, mobilenetv2_arch
from benchmarks.claims import (NAS_TE, NAS_TFLM, QUICK, Cell, CellKey, ClaimsSettings, TaskData, Unfit,
                               _cell_path, _training_key, all_cells, baseline_arch, finished_cell, main, methods_of,
                               pending_cells, restore_stage1)
from benchmarks.claims_report import Summary, _acc, collect_spaces
from keras_mcunet.profiler import profile
from tuner import Limits
from tuner.tflm_memory import tflm_arena, tflm_profile

SETTINGS = ClaimsSettings()


@pytest.mark.parametrize("task,family", [("kws", "MobileNetV2"), ("kws", "DS-CNN"), ("vww", "MobileNetV2")])
def test_baseline_scaling_is_the_largest_that_fits_each_memory_model(task, family):
    grid_w = SETTINGS.baseline_width_mults
    for budget in (64, 128):
        chosen = {}
        for engine, measure in (("tinyengine", profile), ("tflm", tflm_profile)):
            arch = baseline_arch(task, family, engine, SETTINGS, budget)
            p = measure(arch)
            assert p.peak_sram_bytes <= budget * 1024 and p.flash_bytes <= SETTINGS.flash_kb * 1024
            # no other scaling of the grid that fits has more MACs
            for w in grid_w:
                other = BASELINES[family](w, arch.resolution, arch.num_classes, arch.in_channels)
                q = measure(other)
                if q.peak_sram_bytes <= budget * 1024 and q.flash_bytes <= SETTINGS.flash_kb * 1024:
                    assert q.macs <= p.macs
            chosen[engine] = arch
        # TFLM's arena is never smaller than TinyEngine's peak SRAM: the engine alone lets the baseline grow
        assert profile(chosen["tinyengine"]).macs >= profile(chosen["tflm"]).macs
        assert tflm_profile(chosen["tflm"]).peak_sram_bytes >= profile(chosen["tflm"]).peak_sram_bytes


def test_no_fitting_baseline_is_a_clear_error():
    with pytest.raises(NoBaselineFits, match=r"no MobileNetV2 of the grid fits SRAM <= 1.0 KB \(TFLM arena\)"):
        largest_fitting(mobilenetv2_arch, (0.25,), (32,), Limits(1024, 1 << 20, memory_model="tflm"), 2, 3)


def test_ds_cnn_layout():
    arch = ds_cnn_arch(1.0, (49, 10), 12, 1)
    assert arch.stem_channels == 64 and arch.first_block_channels == 64 and arch.stage_channels == (64,)
    assert arch.ks == ((3, 3, 3),) and arch.expand == ((1, 1, 1),)


def test_limits_check_the_chosen_memory_model():
    arch = mobilenetv2_arch(0.35, 48, 2, 3)
    te, tflm = profile(arch), tflm_profile(arch)
    assert tflm.peak_sram_bytes == tflm_arena(arch).total > te.peak_sram_bytes
    between = (te.peak_sram_bytes + tflm.peak_sram_bytes) // 2
    assert Limits(between, 1 << 20).check(arch)[0]
    assert not Limits(between, 1 << 20, memory_model="tflm").check(arch)[0]
    assert Limits(between, 1 << 20).to_dict() == {"sram_limit": between, "flash_limit": 1 << 20, "max_macs": None}
    with pytest.raises(ValueError, match="memory_model must be 'tinyengine' or 'tflm'"):
        Limits(between, 1 << 20, memory_model="tvm")


@pytest.mark.slow
def test_tflm_memory_model_matches_tflite_micro():
    """The modelled arena against TFLM's own smallest arena on a real int8 export: the head exactly, the whole
    within 256 bytes."""
    import numpy as np

    from keras_mcunet import build_model, export_tflite
    from tinyengine_tflite.tflm_baseline import smallest_arena, tflm_allocations

    arch = ds_cnn_arch(0.5, (49, 10), 12, 1)
    flatbuffer = export_tflite(build_model(arch), None, np.random.default_rng(0).random((4, 49, 10, 1), "float32"),
                               num_samples=4)
    arena = smallest_arena(flatbuffer, 16).arena_bytes
    assert tflm_allocations(flatbuffer, arena).head == tflm_arena(arch).head
    assert abs(tflm_arena(arch).total - arena) <= 256


def _cell(key: CellKey, accuracy: float, sram: int, engine="tinyengine") -> Cell:
    arch = mobilenetv2_arch(0.25, 32, 2, 3)
    return Cell(key.task, key.budget_kb, key.method, key.seed, engine, arch.to_dict(), 0.25, 32, 600_000, 170_000,
                accuracy, accuracy, accuracy, 40, 40, sram, sram + 50_000, 1.0)


def _save(directory, key, record, settings=SETTINGS):
    path = _cell_path(str(directory), key)
    import os
    os.makedirs(os.path.dirname(path), exist_ok=True)
    kind = "unfit" if isinstance(record, Unfit) else "cell"
    with open(path, "w") as f:
        json.dump({"settings": _training_key(settings), kind: asdict(record)}, f)


def test_resume_skips_finished_cells_and_refuses_other_settings(tmp_path):
    settings = replace(SETTINGS, tasks=("vww",), budgets_kb=(64,), seeds=(0, 1))
    keys = all_cells(settings)
    assert len(keys) == len(methods_of("vww")) * 2 == 8
    _save(tmp_path, keys[0], _cell(keys[0], 0.8, 50_000))
    _save(tmp_path, keys[1], Unfit(keys[1].task, 64, keys[1].method, keys[1].seed, "no subnet fits"))
    assert pending_cells(str(tmp_path), settings) == keys[2:]
    assert isinstance(finished_cell(str(tmp_path), keys[1], settings), Unfit)
    # other budgets and seeds may be added to a run; other training settings may not
    more = replace(settings, seeds=(0, 1, 2))
    assert pending_cells(str(tmp_path), more) == [k for k in all_cells(more) if k not in keys[:2]]
    with pytest.raises(SystemExit, match="other settings"):
        pending_cells(str(tmp_path), replace(settings, supernet_epochs=99))
    # nor cells trained by an older revision of the training code (here: before the batch-norm fix)
    older = json.load(open(_cell_path(str(tmp_path), keys[0])))
    older["settings"]["training_revision"] = 1
    json.dump(older, open(_cell_path(str(tmp_path), keys[0]), "w"))
    with pytest.raises(SystemExit, match="older training code"):
        finished_cell(str(tmp_path), keys[0], settings)


def test_render_only_writes_the_section_and_figures_from_saved_cells(tmp_path):
    settings = replace(SETTINGS, tasks=("vww",), budgets_kb=(32, 64), seeds=(0, 1))
    cells, unfit = [], []
    for key in all_cells(settings):
        engine = "tflm" if key.method.endswith("TFLM") else "tinyengine"
        if key.budget_kb == 32 and key.method == "MobileNetV2 + TFLM":
            unfit.append(asdict(Unfit(key.task, 32, key.method, key.seed, "no MobileNetV2 of the grid fits")))
            continue
        # at 64 KB the baseline beats TinyNAS: the report must say so
        acc = {NAS_TE: 0.80, NAS_TFLM: 0.75, "MobileNetV2 + TinyEngine": 0.85 if key.budget_kb == 64 else 0.7,
               "MobileNetV2 + TFLM": 0.6}[key.method] + 0.01 * key.seed
        cells.append(asdict(_cell(key, acc, 70_000 if key.method == NAS_TE and key.budget_kb == 64 else 30_000,
                                  engine)))
    saved = {"settings": asdict(settings), "cells": cells, "unfit": unfit, "data": {"vww": "proxy"},
             "spaces": [{"task": "vww", "budget_kb": 32, "label": "w0.3-r48", "width_mult": 0.3, "resolution": 48,
                         "fit_fraction": 0.4, "macs": [1_000_000, 2_000_000]}],
             "seconds": 10.0, "command": "python -m benchmarks.claims --tasks vww", "cpus": 2, "machine": "x86_64"}
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "results.json").write_text(json.dumps(saved))
    out = tmp_path / "report.md"
    assert main(["--render-only", "--directory", str(tmp_path / "runs"), "--out", str(out),
                 "--plots", str(tmp_path / "plots")]) == 0
    text = out.read_text()
    assert "<!-- section claims (written by `python -m benchmarks.claims --tasks vww`" in text
    assert "| 32 KB | does not fit | 70.50 +- 0.50 | 75.50 +- 0.50 | 80.50 +- 0.50 | TinyNAS + TinyEngine |" in text
    assert "| 64 KB | does not fit" not in text
    assert "64 KB: MobileNetV2 + TinyEngine 85.50 +- 0.50 vs 80.50 +- 0.50" in text
    assert "alone has the best mean accuracy of the four at 1 of 2 budgets" in text
    assert "68.4 **over budget**" in text
    assert "no model fits: no MobileNetV2 of the grid fits" in text
    assert "| vww | 32 KB | w0.3-r48 | 40% | 1.50 |" in text
    assert (tmp_path / "plots" / "claims_accuracy_sram.png").stat().st_size > 0
    assert (tmp_path / "plots" / "claims_search_space.png").stat().st_size > 0


def test_one_seed_shows_no_spread():
    one = Summary("kws", 32, NAS_TE, 1, 0.8875, 0.0, 27.4, 27.4, 107.2, 22.4, "w1.5-r49x10", True)
    assert _acc(one) == "88.75"
    assert _acc(replace(one, n=2, std=0.0125)) == "88.75 +- 1.25"


def test_stage1_of_a_kept_cell_is_restored_exactly(tmp_path):
    """A cell kept without its search project (benchmarks/partial_runs) gets its stage 1 rerun alone, with the
    search's settings and seed: the same table every time, and the search-space figure covers its budget."""
    import shutil

    import numpy as np
    from tuner import SpaceOptimizationResult
    settings = replace(QUICK, tasks=("vww",))
    x = np.random.default_rng(0).random((8, 48, 48, 3)).astype("float32")
    y = np.arange(8) % 2
    data = {"vww": TaskData((x, y), (x, y), (x, y), "random")}
    cells = [_cell(CellKey("vww", 64, NAS_TE, 0), 0.7, 30_000)]
    searches = tmp_path / "searches"
    project = searches / "vww-64kb-tinyengine-s0" / "space_optimization.json"
    assert restore_stage1(settings, str(searches), data, cells) == ["vww-64kb-tinyengine-s0"]
    first = SpaceOptimizationResult.load(str(project))
    assert restore_stage1(settings, str(searches), data, cells) == []          # kept: not rerun
    shutil.rmtree(searches)
    assert restore_stage1(settings, str(searches), data, cells) == ["vww-64kb-tinyengine-s0"]
    again = SpaceOptimizationResult.load(str(project))
    assert (again.best.label, again.best.macs) == (first.best.label, first.best.macs)
    assert [s["budget_kb"] for s in collect_spaces(settings, str(searches))] == [64]


@pytest.mark.slow
def test_quick_claims_run_measures_every_cell(tmp_path):
    runs, out = tmp_path / "runs", tmp_path / "claims.md"
    assert main(["--quick", "--jobs", "1", "--directory", str(runs), "--out", str(out)]) == 0
    saved = json.loads((runs / "results.json").read_text())
    done = {(c["task"], c["method"]) for c in saved["cells"]} | {(u["task"], u["method"]) for u in saved["unfit"]}
    assert done == {(t, m) for t in QUICK.tasks for m in methods_of(t)}
    for c in saved["cells"]:
        assert 0.0 <= c["int8_accuracy"] <= 1.0 and c["tinyengine_sram_bytes"] <= c["tflm_arena_bytes"]
        assert c["flash_bytes"] <= QUICK.flash_kb * 1024
    assert "Co-design ablation" in out.read_text()
    assert (runs / "plots" / "claims_accuracy_sram.png").exists()
    # a second run finds every cell done and trains nothing
    assert pending_cells(str(runs), QUICK) == []


def test_cells_run_seed_by_seed_searches_first_tasks_alternating():
    keys = all_cells(replace(SETTINGS, tasks=("kws", "vww"), budgets_kb=(32, 64), seeds=(0, 1)))
    assert len(keys) == len(set(keys)) == 2 * 2 * (len(methods_of("kws")) + len(methods_of("vww")))
    assert [k.seed for k in keys] == sorted(k.seed for k in keys)
    first = [(k.task, k.method) for k in keys[:4]]
    assert first == [("kws", NAS_TE), ("vww", NAS_TE), ("kws", NAS_TFLM), ("vww", NAS_TFLM)]
    per_budget = [k for k in keys if k.seed == 0 and k.budget_kb == 32]
    assert keys[:len(per_budget)] == per_budget


def test_workers_take_each_cell_once(tmp_path, monkeypatch):
    import benchmarks.claims as claims
    settings = replace(SETTINGS, tasks=("vww",), budgets_kb=(64,), seeds=(0,))
    keys = all_cells(settings)
    (tmp_path / "cells").mkdir()
    assert claims._claim(str(tmp_path), keys[0]) and not claims._claim(str(tmp_path), keys[0])
    ran = []
    monkeypatch.setattr(claims, "load_task_data", lambda *a: None)
    monkeypatch.setattr(claims, "run_cell", lambda key, *a: ran.append(key) or _cell(key, 0.5, 10_000))
    claims._run_cells(keys[:2], settings, {}, str(tmp_path), 0)
    assert ran == [keys[1]]                                   # keys[0] is another worker's
    assert finished_cell(str(tmp_path), keys[1], settings) is not None
    assert {p.name for p in (tmp_path / "cells").iterdir()} == {keys[0].name + ".claim", keys[1].name + ".claim",
                                                                 keys[1].name + ".json"}
    claims._clear_claims(str(tmp_path))                       # a new run: that worker is gone
    assert pending_cells(str(tmp_path), settings) == [k for k in keys if k != keys[1]]
    claims._run_cells(keys[:2], settings, {}, str(tmp_path), 0)   # a list made before keys[1] was done
    assert ran == [keys[1], keys[0]]
