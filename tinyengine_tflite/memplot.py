"""The memory-distribution picture (MCUNet, Fig. 'peak memory per layer'): bytes live at each operator for
tinyengine's schedule against TFLM's plan, as a PNG (matplotlib, Agg backend)."""
from __future__ import annotations

import os
from pathlib import Path


def plot_memory(path, name: str, tflm_ops: list[str], tflm_live: list[int], te_points: list[tuple[int, int]],
                te_noinplace_points: list[tuple[int, int]] | None = None, tflm_arena: int | None = None,
                te_peak: int | None = None, lower_bound: int | None = None, note: str = "",
                te_patch_points: list[tuple[int, int]] | None = None,
                te_patch: tuple[int, str] | None = None) -> str:
    """Write the plot to `path` and return it.

    tflm_ops/tflm_live: TFLite operator names and TFLM-style live bytes at each operator (x = operator index).
    te_points: (operator index, live bytes) of each tinyengine layer; te_noinplace_points the same without
    in-place depthwise; te_patch_points the same with patch-based inference, te_patch its (arena, plan).
    tflm_arena / te_peak / lower_bound / the patch-based arena: drawn as horizontal lines."""
    import matplotlib
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    kb = 1024.0
    fig, ax = plt.subplots(figsize=(10, 5), dpi=110)
    xs = list(range(len(tflm_live)))
    ax.fill_between(xs, [v / kb for v in tflm_live], step="mid", color="#f4a582", alpha=0.55, linewidth=0)
    if te_noinplace_points:
        x2, y2 = zip(*te_noinplace_points)
        ax.step(x2, [v / kb for v in y2], where="mid", color="#404040", linewidth=1.0, linestyle="--",
                label="tinyengine without in-place depthwise")
    if te_points:
        x1, y1 = zip(*te_points)
        ax.fill_between(x1, [v / kb for v in y1], step="mid", color="#92c5de", alpha=0.8, linewidth=0)
        ax.step(x1, [v / kb for v in y1], where="mid", color="#0571b0", linewidth=2.2,
                label="tinyengine: live per layer (in-place depthwise, im2col scratch)")
    if te_patch_points:
        x3, y3 = zip(*te_patch_points)
        plan = f" ({te_patch[1]})" if te_patch else ""
        ax.step(x3, [v / kb for v in y3], where="mid", color="#1b7837", linewidth=1.8,
                label=f"tinyengine patch-based{plan}: live per layer (the patch stage: one patch)")
        if te_patch:
            ax.axhline(te_patch[0] / kb, color="#1b7837", linestyle=":", linewidth=1.2)
            ax.text(max(len(tflm_live) - 1, 1), te_patch[0] / kb, f"patch-based arena {te_patch[0] / kb:,.1f} KB",
                    color="#1b7837", ha="right", va="bottom", fontsize=8)
    # Drawn last and dashed, so it stays visible where the curves coincide.
    ax.step(xs, [v / kb for v in tflm_live], where="mid", color="#ca0020", linewidth=1.3, linestyle=(0, (4, 2)),
            label="TFLM plan: activations live per operator (no in-place)")
    right = max(len(xs) - 1, 1)
    if tflm_arena:
        ax.axhline(tflm_arena / kb, color="#ca0020", linestyle=":", linewidth=1.2)
        ax.text(right, tflm_arena / kb, f"TFLM smallest arena (with its runtime data) {tflm_arena / kb:,.1f} KB",
                color="#ca0020", ha="right", va="bottom", fontsize=8)
    if te_peak:
        ax.axhline(te_peak / kb, color="#0571b0", linestyle=":", linewidth=1.2)
        ax.text(0, te_peak / kb, f"tinyengine arena {te_peak / kb:,.1f} KB", color="#0571b0",
                ha="left", va="bottom", fontsize=8)
    ax.set_xlim(-0.5, right + 0.5)
    top = max([v for v in tflm_live] + [v for _, v in te_points or []] + [tflm_arena or 0, te_peak or 0] + [1])
    ax.set_ylim(0, top / kb * 1.08)
    ax.set_xlabel("TFLite operator index (execution order)")
    ax.set_ylabel("SRAM live (KB)")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:,.0f}" if v >= 10 else f"{v:,.1f}"))
    title = f"{name}: memory per layer"
    if tflm_arena and te_peak:
        title += f" (TFLM {tflm_arena / kb:,.1f} KB vs tinyengine {te_peak / kb:,.1f} KB, " \
                 f"{tflm_arena / te_peak:.2f}x)"
    ax.set_title(title, fontsize=10)
    if lower_bound:
        ax.plot([], [], " ", label=f"lower bound of layer-by-layer execution: {lower_bound / kb:,.1f} KB")
    if note:
        ax.plot([], [], " ", label=note)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, fontsize=7.5, frameon=False)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    path = Path(path)
    os.makedirs(path.parent, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return str(path)
