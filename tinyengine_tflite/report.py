"""The memory report of a conversion: peak SRAM, flash and a per-layer table."""
from __future__ import annotations

from dataclasses import dataclass, field

from .layers import LoweredModel
from .schedule import Schedule


@dataclass
class LayerReport:
    index: int
    op: str
    kernel: str
    input_shapes: list[tuple[int, ...]]
    output_shapes: list[tuple[int, ...]]
    macs: int
    live_bytes: int          # arena bytes live during this layer (inputs, outputs, scratch, everything kept)
    scratch_bytes: int
    inplace: bool


@dataclass
class PatchReport:
    """Patch-based execution (MCUNetV2): layers 0 .. split of the model ran on a rows x cols grid of tiles."""
    split: int               # the last layer of the patch stage (an index of the layer-wise model)
    rows: int
    cols: int
    first: int               # the report's layers first .. last run once per patch
    last: int
    layerwise_macs: int
    macs: int                # executed, the recomputed halos included (= ConversionReport.macs)

    @property
    def grid(self) -> str:
        return f"{self.rows}x{self.cols}"

    @property
    def plan(self) -> str:
        """The plan as convert(patches=...) and the CLI take it: ROWSxCOLS@SPLIT."""
        return f"{self.grid}@{self.split}"

    @property
    def mac_overhead(self) -> float:
        return self.macs / self.layerwise_macs - 1.0 if self.layerwise_macs else 0.0


@dataclass
class ConversionReport:
    model_name: str
    peak_sram_bytes: int     # every byte of RAM the generated code uses: the arena and the state
    arena_bytes: int
    flash_bytes: int         # weights, biases and requantization constants
    weight_bytes: int
    layers: list[LayerReport]
    lower_bound_bytes: int   # most bytes that must be live at once in this execution order (with the state)
    plan_strategy: str
    code_bytes: int | None = None          # measured by a build, when one was made
    files: list[str] = field(default_factory=list)
    state_bytes: int = 0     # stateful operators' state (SVDF), kept across invokes outside the arena
    layerwise_peak_sram_bytes: int = 0     # peak SRAM of layer-by-layer execution (= peak_sram_bytes without patches)
    patches: PatchReport | None = None     # patch-based execution, when the conversion chose or was given it
    layerwise_live: list[int] = field(default_factory=list)   # bytes live at each layer-wise layer

    @property
    def patch_peak_sram_bytes(self) -> int | None:
        """Peak SRAM of the patch-based execution (None without patches)."""
        return self.peak_sram_bytes if self.patches is not None else None

    @property
    def macs(self) -> int:
        return sum(layer.macs for layer in self.layers)

    def __str__(self) -> str:
        def shp(shapes):
            return ",".join("x".join(map(str, s)) for s in shapes)
        p = self.patches
        rows = [f"{'#':>3} {'operator':<28} {'input':<24} {'output':<16} {'MACs':>11} {'live B':>9}"]
        for r in self.layers:
            rows.append(f"{r.index:>3}{'*' if p and p.first <= r.index <= p.last else ' '}"
                        f"{r.op + (' (in place)' if r.inplace else ''):<28} "
                        f"{shp(r.input_shapes):<24} {shp(r.output_shapes):<16} {r.macs:>11,} {r.live_bytes:>9,}")
        code = f", code {self.code_bytes:,} B" if self.code_bytes is not None else ""
        state = f", state {self.state_bytes:,} B" if self.state_bytes else ""
        rows += ["",
                 f"model {self.model_name}: {len(self.layers)} layers, {self.macs:,} MACs",
                 f"peak SRAM {self.peak_sram_bytes:,} B (arena {self.arena_bytes:,} B{state}, {self.plan_strategy}; "
                 f"lower bound {self.lower_bound_bytes:,} B)",
                 f"flash {self.flash_bytes:,} B (weights {self.weight_bytes:,} B, biases and requantization "
                 f"{self.flash_bytes - self.weight_bytes:,} B){code}"]
        if p is not None:
            rows.append(f"patch-based: layers 0 .. {p.split} on a {p.grid} grid (* above, once per patch): peak "
                        f"{self.peak_sram_bytes:,} B vs layer-wise {self.layerwise_peak_sram_bytes:,} B; "
                        f"{p.macs:,} MACs executed ({p.mac_overhead:+.1%} recomputed halos)")
        return "\n".join(rows)


def make_report(model: LoweredModel, sched: Schedule) -> ConversionReport:
    """The report of the executed model (compile_model's) and its schedule."""
    layers = []
    for i, layer in enumerate(model.layers):
        kernel, scratch = sched.kernel(model, i)
        layers.append(LayerReport(i, layer.op, kernel, [model.buffers[b].shape for b in layer.inputs],
                                  [model.buffers[b].shape for b in layer.outputs], layer.macs,
                                  sched.live[i], scratch, i in sched.inplace))
    flash = model.const_bytes
    weights = sum(c.nbytes for layer in model.layers for c in layer.consts
                  if c.name in ("filter", "weights", "weights_feature", "weights_time"))
    st = sched.patches
    patches = None if st is None else PatchReport(st.plan.split, st.plan.rows, st.plan.cols, st.first, st.last,
                                                  st.layerwise_macs, st.macs)
    layerwise = sched if st is None else st.layerwise
    return ConversionReport(model.name, sched.arena_bytes + model.state_bytes, sched.arena_bytes, flash, weights,
                            layers, max(sched.live, default=0) + model.state_bytes, sched.plan.strategy,
                            state_bytes=model.state_bytes,
                            layerwise_peak_sram_bytes=layerwise.arena_bytes + model.state_bytes, patches=patches,
                            layerwise_live=list(layerwise.live))
