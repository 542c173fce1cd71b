"""The patch-based inference section of BENCHMARKS.md (issue 13, MCUNetV2): per suite model, the layer-wise peak
SRAM, the patch-based peak with patches="auto" (split layer, grid, recomputed MACs), TFLM's arena from the saved
benchmark run, whether the patch-based outputs equal LiteRT BUILTIN_REF's, and the patch-based firmware emulated
on a Cortex-M part.

    python -m benchmarks.patches [--models ../shared/models] [--out BENCHMARKS.md] [--part stm32h743] [--no-cortexm]
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinyengine_tflite.json_files import read_json
from tinyengine_tflite.markdown_sections import put_section

ROOT = Path(__file__).resolve().parents[1]
SECTION = "patch-based"
# issue 13's targets: model -> (layer-wise peak then, patch-based peak at most)
TARGETS = {"mcunetv2_large": (1_404_928, 465 * 1024), "mcunet_vww_tinyengine": (89_600, 45 * 1024),
           "mcunet_detection": (245_760, 120 * 1024)}
MAX_MAC_OVERHEAD = 0.2


@dataclass
class PatchRow:
    model: str
    tflm_bytes: int | None
    layerwise_bytes: int
    patch_bytes: int | None
    plan: str | None
    mac_overhead: float | None
    equals_litert: bool | None
    cortexm: str | None = None


def _tflm_arenas(results: Path) -> dict[str, int]:
    if not results.exists():
        return {}
    return {m["model"]: m["sram"]["tflm_like_for_like_bytes"] for m in read_json(results)["models"] if m.get("sram")}


def _equals_litert(path: Path) -> bool:
    import tinyengine_tflite
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    buf = path.read_bytes()
    ours = tinyengine_tflite.Interpreter(model_content=buf, patches="auto", max_mac_overhead=MAX_MAC_OVERHEAD)
    ref = Interpreter(model_content=buf, experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    rng = np.random.default_rng(0)
    for it in (ours, ref):
        it.allocate_tensors()
    for d in ours.get_input_details():
        if d["dtype"] == np.float32:
            x = rng.uniform(-1, 1, d["shape"]).astype(np.float32)
        else:
            info = np.iinfo(d["dtype"])
            x = rng.integers(info.min, info.max + 1, d["shape"]).astype(d["dtype"])
        ours.set_tensor(d["index"], x)
        ref.set_tensor(d["index"], x)
    ours.invoke()
    ref.invoke()
    return all(np.array_equal(ours.get_tensor(a["index"]), ref.get_tensor(b["index"]))
               for a, b in zip(ours.get_output_details(), ref.get_output_details()))


def measure(models: list[Path], tflm: dict[str, int], part: str | None) -> list[PatchRow]:
    import tinyengine_tflite
    rows = []
    for path in models:
        rep = tinyengine_tflite.convert(path, patches="auto", max_mac_overhead=MAX_MAC_OVERHEAD)
        p = rep.patches
        row = PatchRow(path.stem, tflm.get(path.stem), rep.layerwise_peak_sram_bytes,
                       rep.peak_sram_bytes if p else None, p.plan if p else None,
                       p.mac_overhead if p else None, _equals_litert(path) if p else None)
        if p and part:
            from tinyengine_tflite.cortexm import run_on_cortexm
            r = run_on_cortexm(path, part=part, patches="auto", timeout_s=1800)
            row.cortexm = (f"{r.peak_sram_bytes:,} B, {r.cycles:,} cycles, output "
                           f"{'equals' if r.output_matches_host else 'DIFFERS from'} the host" if r.status == "ok"
                           else f"{r.status}: {r.reason}")
        rows.append(row)
        print(row, file=sys.stderr, flush=True)
    return rows


def _b(n) -> str:
    return f"{n:,}" if isinstance(n, int) else "-"


def render(rows: list[PatchRow], part: str | None) -> str:
    L = ["## Patch-based inference (MCUNetV2)", "",
         "`convert(model, patches=\"auto\")`: the first layers run patch by patch (each patch through the whole "
         "stage with its receptive-field halo recomputed), the rest layer by layer; auto picks the split layer and "
         f"the grid (ROWSxCOLS@LAYER) of the smallest peak SRAM with at most {MAX_MAC_OVERHEAD:.0%} more MACs, and "
         "keeps layer-by-layer execution where that is not smaller ('-'). TFLM: the like-for-like arena of the "
         "benchmark run above. LiteRT: the patch-based outputs equal LiteRT BUILTIN_REF's (==) on a random input.",
         "", f"| model | TFLM arena | layer-wise peak | patch-based peak | plan | MAC overhead | = LiteRT |"
             f"{f' {part} emulation |' if part else ''}",
         "|---|---:|---:|---:|---|---:|:-:|" + ("---|" if part else "")]
    for r in rows:
        L.append(f"| {r.model} | {_b(r.tflm_bytes)} | {_b(r.layerwise_bytes)} | **{_b(r.patch_bytes)}** | "
                 f"{r.plan or '-'} | {f'{r.mac_overhead:+.1%}' if r.mac_overhead is not None else '-'} | "
                 f"{'-' if r.equals_litert is None else 'yes' if r.equals_litert else 'NO'} |"
                 + (f" {r.cortexm or '-'} |" if part else ""))
    L += ["", "Issue 13's targets:", "", "| model | layer-wise peak | patch-based target | measured | |",
          "|---|---:|---:|---:|:-:|"]
    by_name = {r.model: r for r in rows}
    for name, (then, target) in TARGETS.items():
        r = by_name.get(name)
        got = r.patch_bytes if r and r.patch_bytes is not None else r.layerwise_bytes if r else None
        ok = got is not None and got <= target and (r.mac_overhead or 0) <= MAX_MAC_OVERHEAD
        L.append(f"| {name} | {_b(then)} | <= {_b(target)} | {_b(got)} | {'met' if ok else 'MISSED'} |")
    return "\n".join(L) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.patches", description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default=str(ROOT.parent / "shared" / "models"))
    ap.add_argument("--results", default=str(ROOT / "benchmarks" / "results.json"),
                    help="the benchmark's saved run, for TFLM's arenas")
    ap.add_argument("--out", default=str(ROOT / "BENCHMARKS.md"))
    ap.add_argument("--part", default="stm32h743")
    ap.add_argument("--no-cortexm", action="store_true")
    args = ap.parse_args(argv)
    part = None if args.no_cortexm else args.part
    models = sorted(Path(args.models).glob("*.tflite"))
    rows = measure(models, _tflm_arenas(Path(args.results)), part)
    command = "python -m benchmarks.patches" + (" --no-cortexm" if args.no_cortexm else "")
    put_section(args.out, SECTION, render(rows, part), command)
    print(render(rows, part))
    return 0


if __name__ == "__main__":
    sys.exit(main())
