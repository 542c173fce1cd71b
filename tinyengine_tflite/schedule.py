"""Whole-model static schedule: tensor lifetimes in execution order, in-place depthwise and RESHAPE aliases
merged into shared allocations, scratch buffers, then one arena plan (planner.plan); last, layers with a faster
kernel that needs more scratch (Layer.faster) get it where the plan has a free gap that large at that layer."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from .layers import LoweredModel
from .patches import PatchPlan, PatchStage, patch_schedule
from .planner import Allocation, Plan, align, live_bytes, plan


@dataclass
class Schedule:
    allocations: list[Allocation]
    plan: Plan
    buffer_alloc: dict[int, int]          # buffer id -> allocation index
    scratch_alloc: dict[int, int]         # layer index -> allocation index of its scratch
    inplace: set[int]                     # layers that run their in-place variant
    live: list[int]                       # bytes live at each layer
    faster: set[int] = field(default_factory=set)   # layers that run their faster variant
    patches: PatchStage | None = None     # patch-based execution: its layers index patches.model, not the input

    def executed(self, model: LoweredModel) -> LoweredModel:
        """The model this schedule's layer indices refer to: `model`, or the patch-based one."""
        return self.patches.model if self.patches is not None else model

    @property
    def arena_bytes(self) -> int:
        return self.plan.arena_bytes

    def buffer_offset(self, buffer_id: int) -> int:
        return self.plan.offsets[self.buffer_alloc[buffer_id]]

    def scratch_offset(self, layer: int) -> int:
        return self.plan.offsets[self.scratch_alloc[layer]]

    def kernel(self, model: LoweredModel, i: int) -> tuple[str, int]:
        """(C function, scratch bytes) layer i runs with."""
        layer = model.layers[i]
        if i in self.inplace:
            return layer.inplace.kernel, layer.inplace.scratch_bytes
        if i in self.faster:
            return layer.faster.kernel, layer.faster.scratch_bytes
        return layer.kernel, layer.scratch_bytes


def lifetimes(inputs, steps, outputs, end: int) -> tuple[dict, dict]:
    """(first, last) step at which each buffer is live: a model input from step 0, any other buffer from the
    step that writes (or first reads) it, to the last step that reads it; model outputs to `end`.
    steps: (input buffers, output buffers) of each step in execution order. The TFLM baseline's plan uses this
    too (tflm_baseline), on the flatbuffer's operators."""
    first: dict = {}
    last: dict = {}
    for b in inputs:
        first[b] = 0
        last[b] = 0
    for i, (ins, outs) in enumerate(steps):
        for b in outs:
            first.setdefault(b, i)
            last.setdefault(b, i)
        for b in ins:
            first.setdefault(b, i)
            last[b] = max(last.get(b, i), i)
    for b in outputs:
        first.setdefault(b, 0)
        last[b] = end
    return first, last


def schedule(model: LoweredModel, inplace: bool = True, strategies=None, patches: str | PatchPlan | None = None,
             max_mac_overhead: float = 0.2) -> Schedule:
    """The layer-wise schedule (patches None), or patch-based execution of the first layers (see patches.py):
    a PatchPlan, its text ('3x2@12': a 3 x 2 grid, layers 0 .. 12), or "auto": the split and grid of the
    smallest arena whose executed MACs stay within (1 + max_mac_overhead) x the layer-wise MACs, the layer-wise
    schedule where none is smaller."""
    layerwise = schedule_layers(model, inplace, strategies)
    if patches is None or patches == "none":
        return layerwise
    return patch_schedule(model, layerwise, patches, max_mac_overhead,
                          lambda m, widen: schedule_layers(m, inplace, strategies, widen))


def schedule_layers(model: LoweredModel, inplace: bool = True, strategies=None,
                    widen: dict[int, tuple[int, int]] | None = None) -> Schedule:
    """Layer-by-layer schedule; `widen` keeps some buffers live over extra layers (buffer -> (first, last))."""
    n = len(model.layers)
    # model outputs stay live past the last layer
    first, last = lifetimes([s.buffer for s in model.inputs], [(ly.inputs, ly.outputs) for ly in model.layers],
                            [s.buffer for s in model.outputs], n)
    for b, (f, t) in (widen or {}).items():
        first[b], last[b] = min(first[b], f), max(last[b], t)

    # Union of buffers that share memory: an in-place layer's output takes its dying input's place.
    group = {b: b for b in first}
    inplace_layers = set()
    if inplace:
        for i, layer in enumerate(model.layers):
            if layer.inplace is None:
                continue
            src, dst = layer.inputs[0], layer.outputs[0]
            if last[src] == i and model.buffers[dst].nbytes <= model.buffers[src].nbytes:
                group[dst] = group[src]
                inplace_layers.add(i)

    def root(b):
        while group[b] != b:
            b = group[b]
        return b

    allocs: list[Allocation] = []
    index: dict[int, int] = {}
    buffer_alloc = {}
    for b in sorted(first, key=lambda b: first[b]):
        r = root(b)
        if r not in index:
            index[r] = len(allocs)
            allocs.append(Allocation(model.buffers[r].name, 0, first[b], last[b]))
        a = allocs[index[r]]
        a.size = max(a.size, model.buffers[b].nbytes)
        a.first, a.last = min(a.first, first[b]), max(a.last, last[b])
        buffer_alloc[b] = index[r]
    for a in allocs:
        a.last = min(a.last, max(n - 1, 0))

    scratch_alloc = {}
    for i, layer in enumerate(model.layers):
        size = layer.inplace.scratch_bytes if i in inplace_layers else layer.scratch_bytes
        if size:
            scratch_alloc[i] = len(allocs)
            allocs.append(Allocation(f"scratch of layer {i} ({layer.op})", size, i, i))

    arena = plan(allocs, strategies, live_bytes(allocs, n))
    faster = _give_room(model, allocs, arena, scratch_alloc, inplace_layers)
    return Schedule(allocs, arena, buffer_alloc, scratch_alloc, inplace_layers, live_bytes(allocs, n), faster)


def _give_room(model: LoweredModel, allocs: list[Allocation], arena: Plan, scratch_alloc: dict[int, int],
               inplace_layers: set[int]) -> set[int]:
    """Layers switched to their faster variant: each gets its larger scratch at the lowest offset that is free
    at that layer and below the arena's top (its scratch allocation and offset are updated; nothing else moves,
    so the arena keeps its size)."""
    live_at = defaultdict(list)
    for k, a in enumerate(allocs):
        for t in range(a.first, a.last + 1):
            live_at[t].append(k)
    chosen = set()
    for i, layer in enumerate(model.layers):
        if layer.faster is None or i in inplace_layers:
            continue
        own = scratch_alloc.get(i)
        size = align(layer.faster.scratch_bytes)
        off = 0
        for lo, hi in sorted((arena.offsets[k], arena.offsets[k] + align(allocs[k].size))
                             for k in live_at[i] if k != own):
            if off + size <= lo:
                break
            off = max(off, hi)
        if off + size > arena.arena_bytes:
            continue
        if own is None:
            scratch_alloc[i] = own = len(allocs)
            allocs.append(Allocation(f"scratch of layer {i} ({layer.op})", 0, i, i))
            arena.offsets.append(off)
        allocs[own].size = layer.faster.scratch_bytes
        arena.offsets[own] = off
        chosen.add(i)
    return chosen
