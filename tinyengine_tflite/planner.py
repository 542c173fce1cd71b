"""Offset assignment in one arena: allocations with [first, last] layer lifetimes get byte offsets so that no
two allocations live at the same layer overlap. Narrow interface, debuggable result (see Plan.describe).

Several greedy placements are tried (TFLM's greedy-by-size among them) and the smallest arena wins, so the
plan is never worse than greedy-by-size."""
from __future__ import annotations

from dataclasses import dataclass

ALIGNMENT = 4


def align(n: int, a: int = ALIGNMENT) -> int:
    return (n + a - 1) // a * a


@dataclass
class Allocation:
    name: str
    size: int
    first: int      # first layer at which it is live
    last: int       # last layer at which it is live


@dataclass
class Plan:
    offsets: list[int]
    arena_bytes: int
    strategy: str

    def describe(self, allocs: list[Allocation]) -> str:
        rows = [f"{'offset':>8} {'size':>8} {'first':>5} {'last':>5}  name  (arena {self.arena_bytes} B, "
                f"{self.strategy})"]
        for k in sorted(range(len(allocs)), key=lambda k: self.offsets[k]):
            a = allocs[k]
            rows.append(f"{self.offsets[k]:>8} {a.size:>8} {a.first:>5} {a.last:>5}  {a.name}")
        return "\n".join(rows)


def place(allocs: list[Allocation], order: list[int], sizes: list[int]) -> tuple[list[int], int]:
    """Place allocations in `order`, each at the lowest offset free during its whole lifetime
    (sizes: the aligned sizes); returns (offsets, arena bytes). `plan` tries the STRATEGIES' orders; a caller
    with its own order (tuner.tflm_memory: TFLM's) places by it directly."""
    offsets = [-1] * len(allocs)
    # placed allocations by layer, so a lookup touches only what is live in the same layers (the NAS profiler
    # plans many thousands of networks per second with this)
    by_layer: dict[int, list[int]] = {}
    top = 0
    for k in order:
        a = allocs[k]
        size = sizes[k]
        busy = {}
        for t in range(a.first, a.last + 1):
            for j in by_layer.get(t, ()):
                busy[j] = offsets[j]
        off = 0
        for j in sorted(busy, key=busy.__getitem__):
            lo = busy[j]
            if off + size <= lo:
                break
            hi = lo + sizes[j]
            if hi > off:
                off = hi
        offsets[k] = off
        for t in range(a.first, a.last + 1):
            by_layer.setdefault(t, []).append(k)
        if off + size > top:
            top = off + size
    return offsets, top


STRATEGIES = {
    "greedy-by-size": lambda a: sorted(range(len(a)), key=lambda k: (-a[k].size, a[k].first)),
    "greedy-by-size-x-lifetime": lambda a: sorted(range(len(a)),
                                                  key=lambda k: (-a[k].size * (a[k].last - a[k].first + 1),
                                                                 a[k].first)),
    "greedy-by-first-use": lambda a: sorted(range(len(a)), key=lambda k: (a[k].first, -a[k].size)),
    "greedy-by-longest-life": lambda a: sorted(range(len(a)), key=lambda k: (-(a[k].last - a[k].first), -a[k].size)),
}


def plan(allocs: list[Allocation], strategies=None, live: list[int] | None = None,
         alignment: int = ALIGNMENT) -> Plan:
    """The smallest arena among the strategies; stops early once one reaches the lower bound (the most bytes
    live at one layer, from `live` when the caller has it), which no placement can beat. Every allocation
    starts `alignment`-aligned (TFLM's planner: 16)."""
    sizes = [align(a.size, alignment) for a in allocs]
    if live is None:
        live = live_bytes(allocs, max((a.last for a in allocs), default=-1) + 1, alignment)
    bound = max(live, default=0)
    best = None
    for name in strategies or STRATEGIES:
        offsets, top = place(allocs, STRATEGIES[name](allocs), sizes)
        if best is None or top < best.arena_bytes:
            best = Plan(offsets, top, name)
        if top <= bound:
            break
    return best if best is not None else Plan([], 0, "empty")


def live_bytes(allocs: list[Allocation], n_layers: int, alignment: int = ALIGNMENT) -> list[int]:
    """Bytes live at each layer (aligned sizes): the lower bound of layer-by-layer execution is their max."""
    live = [0] * n_layers
    for a in allocs:
        for i in range(max(a.first, 0), min(a.last, n_layers - 1) + 1):
            live[i] += align(a.size, alignment)
    return live
