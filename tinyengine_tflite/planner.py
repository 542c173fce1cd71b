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


def _place(allocs: list[Allocation], order: list[int]) -> tuple[list[int], int]:
    """Place allocations in `order`, each at the lowest offset free during its whole lifetime."""
    offsets = [-1] * len(allocs)
    # placed allocations by layer, so a lookup touches only what is live in the same layers (the NAS profiler
    # plans many thousands of networks per second with this)
    by_layer: dict[int, list[int]] = {}
    top = 0
    for k in order:
        a = allocs[k]
        size = align(a.size)
        seen = set()
        busy = []
        for t in range(a.first, a.last + 1):
            for j in by_layer.get(t, ()):
                if j not in seen:
                    seen.add(j)
                    busy.append((offsets[j], offsets[j] + align(allocs[j].size)))
        busy.sort()
        off = 0
        for lo, hi in busy:
            if off + size <= lo:
                break
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


def plan(allocs: list[Allocation], strategies=None) -> Plan:
    best = None
    for name in strategies or STRATEGIES:
        offsets, top = _place(allocs, STRATEGIES[name](allocs))
        if best is None or top < best.arena_bytes:
            best = Plan(offsets, top, name)
    return best if best is not None else Plan([], 0, "empty")


def live_bytes(allocs: list[Allocation], n_layers: int) -> list[int]:
    """Bytes live at each layer (aligned sizes): the lower bound of layer-by-layer execution is their max."""
    live = [0] * n_layers
    for a in allocs:
        for i in range(max(a.first, 0), min(a.last, n_layers - 1) + 1):
            live[i] += align(a.size)
    return live
