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

    @property
    def macs(self) -> int:
        return sum(layer.macs for layer in self.layers)

    def __str__(self) -> str:
        def shp(shapes):
            return ",".join("x".join(map(str, s)) for s in shapes)
        rows = [f"{'#':>3} {'operator':<28} {'input':<24} {'output':<16} {'MACs':>11} {'live B':>9}"]
        for r in self.layers:
            rows.append(f"{r.index:>3} {r.op + (' (in place)' if r.inplace else ''):<28} "
                        f"{shp(r.input_shapes):<24} {shp(r.output_shapes):<16} {r.macs:>11,} {r.live_bytes:>9,}")
        code = f", code {self.code_bytes:,} B" if self.code_bytes is not None else ""
        state = f", state {self.state_bytes:,} B" if self.state_bytes else ""
        rows += ["",
                 f"model {self.model_name}: {len(self.layers)} layers, {self.macs:,} MACs",
                 f"peak SRAM {self.peak_sram_bytes:,} B (arena {self.arena_bytes:,} B{state}, {self.plan_strategy}; "
                 f"lower bound {self.lower_bound_bytes:,} B)",
                 f"flash {self.flash_bytes:,} B (weights {self.weight_bytes:,} B, biases and requantization "
                 f"{self.flash_bytes - self.weight_bytes:,} B){code}"]
        return "\n".join(rows)


def make_report(model: LoweredModel, sched: Schedule) -> ConversionReport:
    layers = []
    for i, layer in enumerate(model.layers):
        kernel, scratch = sched.kernel(model, i)
        layers.append(LayerReport(i, layer.op, kernel, [model.buffers[b].shape for b in layer.inputs],
                                  [model.buffers[b].shape for b in layer.outputs], layer.macs,
                                  sched.live[i], scratch, i in sched.inplace))
    flash = model.const_bytes
    weights = sum(c.nbytes for layer in model.layers for c in layer.consts
                  if c.name in ("filter", "weights", "weights_feature", "weights_time"))
    return ConversionReport(model.name, sched.arena_bytes + model.state_bytes, sched.arena_bytes, flash, weights,
                            layers, max(sched.live, default=0) + model.state_bytes, sched.plan.strategy,
                            state_bytes=model.state_bytes)
