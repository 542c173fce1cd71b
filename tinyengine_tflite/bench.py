"""The `tinyengine-tflite bench` command: measure (tinyengine_tflite.measure), judge the targets of a data file
(tinyengine_tflite.bench_targets), write JSON (json_files) and Markdown (bench_markdown), print a summary.

`tinyengine-tflite bench MODEL.tflite ... [--targets benchmarks/targets.json] [--json F] [--markdown F]
[--plot DIR]`; `tinyengine-tflite bench --from-json F --markdown F2` renders a saved run without measuring."""
from __future__ import annotations

import dataclasses
import os
import shlex
from pathlib import Path

from .bench_markdown import write_markdown
from .json_files import from_dict, read_json, write_json
from .measure import BenchOptions, Suite, benchmark

# command-line option -> BenchOptions field (the option's default is the field's)
OPTION_FIELDS = {"repeats": "repeats", "warmup": "warmup", "latency_budget": "latency_budget_s", "part": "part",
                 "emulation_timeout": "emulation_timeout_s", "arena_granularity": "arena_granularity"}


def load_suite(path) -> Suite:
    """A Suite saved with --json."""
    return from_dict(Suite, read_json(path))


def options_from_args(args) -> BenchOptions:
    values = {f: getattr(args, opt) for opt, f in OPTION_FIELDS.items() if getattr(args, opt, None) is not None}
    if values.get("emulation_timeout_s") == 0:
        values["emulation_timeout_s"] = None
    return dataclasses.replace(BenchOptions(), cortexm=not getattr(args, "no_cortexm", False), **values)


def command_line(args) -> str:
    """The command that reproduces this run, with a folder's complete set of .tflite files written as a glob."""
    models = [os.path.normpath(m) for m in args.models]
    folders = {os.path.dirname(m) for m in models}
    if len(folders) == 1:
        folder = folders.pop()
        every = sorted(os.path.normpath(p) for p in Path(folder or ".").glob("*.tflite"))
        if sorted(models) == [os.path.normpath(str(p)) for p in every]:
            models = [os.path.join(folder, "*.tflite")]
    words = ["tinyengine-tflite", "bench", *models]
    for opt, flag in (("targets", "--targets"), ("json", "--json"), ("markdown", "--markdown"), ("plot", "--plot")):
        if getattr(args, opt, None):
            words += [flag, getattr(args, opt)]
    default, chosen = BenchOptions(), options_from_args(args)
    for opt, f in OPTION_FIELDS.items():
        if getattr(chosen, f) != getattr(default, f):
            words += ["--" + opt.replace("_", "-"), str(getattr(args, opt))]
    if not chosen.cortexm:
        words.append("--no-cortexm")
    return " ".join(shlex.quote(w) if "*" not in w else w for w in words)


def summary(suite: Suite) -> str:
    def b(n):
        return f"{n:,}" if isinstance(n, int) else "-"
    rows = [f"{'model':<28} {'TFLM arena':>11} {'tinyengine':>11} {'patches':>11} {'ratio':>7} {'flash':>10} "
            f"{'host x':>7} "
            f"{'M4 instr':>13} {'M4 cycles':>13}  status"]
    for r in suite.models:
        s, te, f, lat, c = r.sram, r.tinyengine, r.flash, r.latency, r.cortexm
        ok = c is not None and c.status == "ok"
        rows.append(f"{r.model[:28]:<28} {b(s and s.tflm_like_for_like_bytes):>11} {b(te and te.peak_sram_bytes):>11} "
                    f"{b(te and te.patch_peak_sram_bytes):>11} "
                    f"{f'{s.ratio:.2f}x' if s and s.ratio else '-':>7} {b(f and f.flash_bytes):>10} "
                    f"{f'{lat.speedup_vs_tflm:.1f}x' if lat and lat.speedup_vs_tflm else '-':>7} "
                    f"{b(c.instructions) if ok else (c.status if c else '-'):>13} {b(c.cycles) if ok else '-':>13}  "
                    f"{r.status}")
        rows += [f"    {st}: {err.splitlines()[0][:160]}" for st, err in r.errors.items()]
    rows.append("")
    word = {True: "met", False: "MISSED", None: "n/a"}
    rows += [f"[{word[t.met]}] {t.target}: {t.measured}" for t in suite.targets]
    return "\n".join(rows)


def main(args) -> int:
    """The `tinyengine-tflite bench` command (args from bench_cli's parser)."""
    from .bench_targets import load_targets
    if getattr(args, "from_json", None):
        suite = load_suite(args.from_json)
    else:
        if not args.models:
            raise ValueError("bench: give .tflite files to measure (or --from-json to render a saved run)")
        for m in args.models:
            if not os.path.isfile(m):
                raise FileNotFoundError(f"model file {m!r} does not exist")
        targets = load_targets(args.targets) if getattr(args, "targets", None) else []
        suite = benchmark(args.models, options_from_args(args), targets=targets, plot_dir=getattr(args, "plot", None),
                          progress=not getattr(args, "no_progress", False))
        suite.command = command_line(args)
    if getattr(args, "json", None):
        write_json(args.json, suite)
    if getattr(args, "markdown", None):
        write_markdown(suite, args.markdown)
    print(summary(suite))
    return 0 if all(r.status == "ok" for r in suite.models) else 1
