"""The claims benchmark's report: per-method summaries, the figures (accuracy vs peak SRAM, the co-design
ablation, the search-space optimization per budget) and the BENCHMARKS.md section, all from results.json."""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from .claims import ENGINES, NAS_TE, NAS_TFLM, Cell, baseline_method, methods_of

ABLATION = (("baseline", "MobileNetV2 + TFLM"), ("+engine", "MobileNetV2 + TinyEngine"), ("+search", NAS_TFLM),
            ("both (MCUNet)", NAS_TE))
TASK_TITLES = {"kws": "keyword spotting (12 classes)", "vww": "person / no person (2 classes)"}


@dataclass
class Summary:
    """One method at one budget over its seeds."""
    task: str
    budget_kb: int
    method: str
    n: int
    mean: float
    std: float
    sram_kb: float              # the largest deployed peak SRAM over the seeds
    tinyengine_kb: float
    tflm_kb: float
    mmacs: float
    spaces: str                 # the (W, R) of the seeds' models
    fits: bool                  # every seed's deployed SRAM within the budget
    widest: bool = False        # a baseline at the widest W of its grid (a larger budget would not change it)


def _cells(saved: dict) -> list[Cell]:
    from tinyengine_tflite.json_files import from_dict
    return [from_dict(Cell, c) for c in saved["cells"]]


def _label(width_mult, resolution) -> str:
    res = resolution if isinstance(resolution, int) else "x".join(map(str, resolution))
    return f"w{width_mult:g}-r{res}"


def summarize(cells: list[Cell], widest_grid_width: float | None = None) -> list[Summary]:
    groups: dict = {}
    for c in cells:
        groups.setdefault((c.task, c.budget_kb, c.method), []).append(c)
    out = []
    for (task, budget, method), group in groups.items():
        acc = np.array([c.int8_accuracy for c in group])
        out.append(Summary(task, budget, method, len(group), float(acc.mean()), float(acc.std()),
                           max(c.deployed_sram_bytes for c in group) / 1024,
                           max(c.tinyengine_sram_bytes for c in group) / 1024,
                           max(c.tflm_arena_bytes for c in group) / 1024,
                           float(np.mean([c.macs for c in group])) / 1e6,
                           ", ".join(dict.fromkeys(_label(c.width_mult, c.resolution) for c in group)),
                           all(c.fits for c in group),
                           not method.startswith("TinyNAS") and all(c.width_mult == widest_grid_width for c in group)))
    return out


def collect_spaces(settings, searches_dir: str) -> list[dict]:
    """Stage 1's chosen space and its satisfying models' MACs for each TinyNAS + TinyEngine search of the first
    seed (the search-space figure)."""
    from tuner.project_files import SPACE_RESULT
    from tuner.space_optimizer import SpaceOptimizationResult
    out = []
    for task in settings.tasks:
        for budget in settings.budgets_kb:
            path = os.path.join(searches_dir, f"{task}-{budget}kb-tinyengine-s{settings.seeds[0]}", SPACE_RESULT)
            if not os.path.exists(path):
                continue
            best = SpaceOptimizationResult.load(path).best
            out.append({"task": task, "budget_kb": budget, "label": best.label, "width_mult": best.width_mult,
                        "resolution": best.resolution, "fit_fraction": best.fit_fraction, "macs": best.macs})
    return out


def write_plots(saved: dict, plots_dir: str) -> dict[str, str]:
    """{figure name: path} of the accuracy-vs-SRAM and search-space figures."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    os.makedirs(plots_dir, exist_ok=True)
    summaries = summarize(_cells(saved))
    tasks = list(saved["settings"]["tasks"])
    figures = {}
    fig, axes = plt.subplots(1, len(tasks), figsize=(6.2 * len(tasks), 4.6), dpi=110, squeeze=False)
    for ax, task in zip(axes[0], tasks):
        for method in methods_of(task):
            rows = sorted((s for s in summaries if s.task == task and s.method == method), key=lambda s: s.budget_kb)
            if not rows:
                continue
            style = "-o" if method.startswith("TinyNAS") else "--s"
            ax.errorbar([s.sram_kb for s in rows], [100 * s.mean for s in rows], yerr=[100 * s.std for s in rows],
                        fmt=style, capsize=3, lw=2.2 if method == NAS_TE else 1.3, label=method)
        for budget in saved["settings"]["budgets_kb"]:
            ax.axvline(budget, color="0.85", lw=0.8, zorder=0)
        ax.set_xscale("log", base=2)
        ax.set_xlabel("deployed peak SRAM (KB; TinyEngine's or TFLM's arena, log scale)")
        ax.set_ylabel("int8 test accuracy (%)")
        ax.set_title(TASK_TITLES[task], fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7.5)
    fig.tight_layout()
    figures["accuracy_sram"] = os.path.join(plots_dir, "claims_accuracy_sram.png")
    fig.savefig(figures["accuracy_sram"])
    plt.close(fig)

    spaces = saved.get("spaces", [])
    if spaces:
        fig, axes = plt.subplots(1, len(tasks), figsize=(6.2 * len(tasks), 4.2), dpi=110, squeeze=False)
        for ax, task in zip(axes[0], tasks):
            for sp in (s for s in spaces if s["task"] == task and s["macs"]):
                macs = np.array(sp["macs"]) / 1e6
                ax.step(macs, np.arange(1, len(macs) + 1) / len(macs), where="post",
                        label=f"{sp['budget_kb']} KB: {sp['label']} (mean {macs.mean():.2f}M)")
            ax.set_xlabel("MACs of the chosen space's models that fit (millions)")
            ax.set_ylabel("cumulative probability")
            ax.set_title(f"{TASK_TITLES[task]}: search space chosen per SRAM budget", fontsize=10)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=7.5, loc="lower right")
        fig.tight_layout()
        figures["search_space"] = os.path.join(plots_dir, "claims_search_space.png")
        fig.savefig(figures["search_space"])
        plt.close(fig)
    return figures


def _acc(s: Summary | None) -> str:
    """Mean +- std over the seeds; one seed has no spread to show."""
    if s is None:
        return "does not fit"
    return f"{100 * s.mean:.2f}" if s.n == 1 else f"{100 * s.mean:.2f} +- {100 * s.std:.2f}"


LIMITS_TEXT = """What the offline data limit: the default keyword data are espeak-ng speech synthesized over many
voices with synthetic noise (not recordings), and the default person data are the packaged proxy (scikit-image
scenes with LFW faces pasted in, not COCO); both are small, so accuracies are noisy (the spread over seeds is
shown) and neither is comparable with the paper's Speech Commands or Visual Wake Words numbers. Run with
`--kws-data` / `--vww-data` for the real sets. TFLM's arena is measured with the tflite-micro Python package on a
64-bit host: its persistent part holds 64-bit runtime structs, larger than on a Cortex-M, which favours
TinyEngine at small budgets. The DS-CNN is the MLPerf Tiny layout expressed in MCUNet's block space (3x3 stem,
not 10x4; residual adds in the three 64-to-64 blocks)."""


def render_markdown(saved: dict, figures: dict, markdown_dir: str) -> str:
    settings = saved["settings"]
    summaries = summarize(_cells(saved), max(settings["baseline_width_mults"]))
    by = {(s.task, s.budget_kb, s.method): s for s in summaries}
    unfit = {(u["task"], u["budget_kb"], u["method"]): u["reason"] for u in saved.get("unfit", [])}
    total = sum(c["seconds"] for c in saved["cells"])
    rel = {k: os.path.relpath(v, markdown_dir) for k, v in figures.items()}
    lines = [
        "## MCUNet claims: accuracy vs peak SRAM, co-design ablation",
        "",
        f"Command: `{saved['command']}` ({total / 3600:.1f} h of training and measurement in its cells, run on "
        f"{saved.get('cpus', '?')} CPU cores, {saved.get('machine', '?')}). Every number below comes from that run "
        f"(raw cells: `results.json` in the run's directory).",
        "",
        f"Setup: budgets {', '.join(f'{b} KB' for b in settings['budgets_kb'])} of SRAM, flash "
        f"{settings['flash_kb']} KB; seeds {', '.join(map(str, settings['seeds']))}. Same training budget for every "
        f"model: TinyNAS trains its supernet {settings['supernet_epochs']} epochs and its winner "
        f"{settings['finetune_epochs']} more (keras_mcunet.search's default schedule); the baselines train from "
        f"scratch {settings['supernet_epochs'] + settings['finetune_epochs']} epochs. Then "
        f"{settings['qat_epochs']} epochs of QAT, int8 export, and int8 accuracy on the held-out split with the "
        f"engine the method deploys on (TinyEngine: tinyengine_tflite's Interpreter; TFLM: TFLite Micro). Deployed "
        f"peak SRAM is measured on the exported model: tinyengine_tflite.convert's peak SRAM, or TFLM's smallest "
        f"arena (tflm_baseline.smallest_arena). TinyNAS + TFLM searches with TFLM's memory model "
        f"(tuner.tflm_memory); the baselines are scaled (W in {settings['baseline_width_mults']}, R over the "
        f"task's grid) to the most MACs that fit the budget under their engine's memory model.",
        "",
    ]
    for task, text in saved.get("data", {}).items():
        lines.append(f"- {task} data: {text}")
    lines.append("")
    if "accuracy_sram" in rel:
        lines += [f"![int8 accuracy vs deployed peak SRAM]({rel['accuracy_sram']})", ""]
    for task in settings["tasks"]:
        lines += [f"### {TASK_TITLES[task]}", "",
                  "| budget | method | int8 acc % (mean +- std) | seeds | deployed SRAM KB (max) | TinyEngine KB | "
                  "TFLM arena KB | MMACs | models (W-R) |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
        for budget in settings["budgets_kb"]:
            for method in methods_of(task):
                s = by.get((task, budget, method))
                if s is None:
                    if (task, budget, method) in unfit:
                        lines.append(f"| {budget} KB | {method} | no model fits: {unfit[task, budget, method]} "
                                     "| | | | | | |")
                    continue
                over = "" if s.fits else " **over budget**"
                widest = " (the grid's widest: the budget does not bind)" if s.widest else ""
                lines.append(f"| {budget} KB | {method} | {_acc(s)} | {s.n} | {s.sram_kb:.1f}{over} | "
                             f"{s.tinyengine_kb:.1f} | {s.tflm_kb:.1f} | {s.mmacs:.2f} | {s.spaces}{widest} |")
        lines += ["", "Co-design ablation (int8 accuracy %, mean +- std over seeds):", "",
                  "| budget | " + " | ".join(f"{name} ({m})" for name, m in ABLATION) + " | best |",
                  "| --- |" + " --- |" * (len(ABLATION) + 1)]
        wins, shown = 0, 0
        for budget in settings["budgets_kb"]:
            row = [by.get((task, budget, m)) for _, m in ABLATION]
            present = [s for s in row if s is not None]
            if not present:
                continue
            top = max(s.mean for s in present)
            best = [s.method for s in present if s.mean == top]
            shown += 1
            wins += best == [NAS_TE]
            lines.append(f"| {budget} KB | " + " | ".join(_acc(s) for s in row) + " | "
                         + ("tie: " if len(best) > 1 else "") + ", ".join(best) + " |")
        others = [baseline_method("DS-CNN", e) for e in ENGINES] if task == "kws" else []
        lines += ["", f"TinyNAS + TinyEngine alone has the best mean accuracy of the four at {wins} of {shown} budgets"
                  + (" (the DS-CNN rows of the table above are the second baseline)" if others else "") + "."]
        beaten = []
        for budget in settings["budgets_kb"]:
            mine = by.get((task, budget, NAS_TE))
            if mine is None:
                continue
            for method in methods_of(task):
                s = by.get((task, budget, method))
                if s is not None and method != NAS_TE and s.mean >= mine.mean:
                    beaten.append(f"{budget} KB: {method} {_acc(s)} vs {_acc(mine)}")
        lines += ["", "Where another method matches or beats TinyNAS + TinyEngine: "
                  + ("; ".join(beaten) if beaten else "nowhere") + ".",
                  ""]
    spaces = saved.get("spaces", [])
    if spaces:
        lines += ["### Search-space optimization per budget (TinyNAS + TinyEngine, first seed)", "",
                  "| task | budget | chosen space | models that fit | mean MMACs of those |",
                  "| --- | --- | --- | --- | --- |"]
        for sp in spaces:
            mean = np.mean(sp["macs"]) / 1e6 if sp["macs"] else float("nan")
            lines.append(f"| {sp['task']} | {sp['budget_kb']} KB | {sp['label']} | {sp['fit_fraction']:.0%} | "
                         f"{mean:.2f} |")
        if "search_space" in rel:
            lines += ["", f"![MACs CDF of the chosen space per budget]({rel['search_space']})"]
        lines.append("")
    lines += [LIMITS_TEXT]
    return "\n".join(lines) + "\n"
