"""TFLite Micro's memory model for an ArchConfig, computed without TensorFlow: what
`tinyengine_tflite.tflm_baseline.smallest_arena` measures on the subnet's int8 export, so that a search (and the
claims benchmark's baselines) can be run "as if deployed with TFLM".

TFLM's arena has two parts. The head (planned activations) is the compiler's abstract graph of the export
(keras_mcunet.profiler.abstract_model) planned with TFLM's rules: every tensor lives from its producer to its
last reader, 16-aligned, no in-place reuse, placed first-fit in TFLM's GreedyMemoryPlanner order (largest first;
among equal sizes the later tensor first, as TFLM fills its sort array from the tail). It equals TFLM's reported
head exactly on the seven calibration models (the planner's "greedy-by-size", which tflm_baseline.tflm_plan uses
and which breaks ties the other way, was a tensor off on two of them). The tail (persistent data: runtime
structs, per-channel requantization multipliers and shifts, kernel op data) is modelled as TAIL_BASE bytes,
TAIL_PER_TENSOR per tensor and TAIL_PER_CHANNEL (an int32 multiplier and shift) per output channel of every
convolution, fitted to the tflite-micro Python package's reports (a 64-bit host, as the benchmark's TFLM column;
within 250 bytes on the seven calibration models). tests/test_claims.py checks the model against a real export
and smallest_arena."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from keras_mcunet.profiler import Profile, abstract_model, profile
from keras_mcunet.search_space import ArchConfig
from tinyengine_tflite.planner import Allocation, place, align
from tinyengine_tflite.schedule import lifetimes
from tinyengine_tflite.tflm_baseline import TFLM_BUFFER_ALIGNMENT

TAIL_BASE = 440
TAIL_PER_TENSOR = 232
TAIL_PER_CHANNEL = 8
_PER_CHANNEL_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D")


@dataclass(frozen=True)
class TflmArena:
    head: int           # planned activations (exact)
    tail: int           # persistent data (modelled)

    @property
    def total(self) -> int:
        return self.head + self.tail


@lru_cache(maxsize=200_000)
def tflm_arena(arch: ArchConfig) -> TflmArena:
    """TFLM's smallest arena for arch's int8 export, head and tail."""
    model = abstract_model(arch)
    steps = [(layer.inputs, layer.outputs) for layer in model.layers]
    first, last = lifetimes([io.buffer for io in model.inputs], steps, [io.buffer for io in model.outputs],
                            len(steps) - 1)
    allocs = [Allocation(model.buffers[b].name, model.buffers[b].nbytes, first[b], last[b]) for b in first]
    sizes = [align(a.size, TFLM_BUFFER_ALIGNMENT) for a in allocs]
    _, head = place(allocs, sorted(range(len(allocs)), key=lambda k: (-sizes[k], -k)), sizes)
    channels = sum(model.buffers[layer.outputs[0]].shape[-1] for layer in model.layers
                   if layer.op in _PER_CHANNEL_OPS)
    return TflmArena(head, TAIL_BASE + TAIL_PER_TENSOR * len(model.buffers) + TAIL_PER_CHANNEL * channels)


def tflm_profile(arch: ArchConfig) -> Profile:
    """arch's profile with TFLM's smallest arena as its peak SRAM (flash, MACs and parameters unchanged)."""
    if not isinstance(arch, ArchConfig):
        raise ValueError(f"tflm_profile expects an ArchConfig, got {type(arch).__name__}")
    p = profile(arch)
    return Profile(tflm_arena(arch).total, p.flash_bytes, p.macs, p.params)
