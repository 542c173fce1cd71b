"""The exact memory profiler: an ArchConfig's peak SRAM, flash, MACs and parameters as tinyengine_tflite will
allocate them for the network once exported to int8, computed without TensorFlow.

It builds the abstract graph of the int8 operators the export produces (keras_mcunet.arch_graph.arch_layers)
with the compiler's own layer builders (the same functions its TFLite lowering calls, so scratch buffers,
in-place eligibility and constants are the compiler's), and runs the compiler's schedule and planner on it.
There is no second formula: what the profiler reports is what `tinyengine_tflite.convert` reports, also for
patch-based execution (MCUNetV2): `profile(arch, patches="auto")` runs the compiler's patch planning on the same
graph and equals `convert(export(arch), patches="auto")`."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from tinyengine_tflite.layers import Buffer, IOSpec, LoweredModel
from tinyengine_tflite.ops.common import same_padding
from tinyengine_tflite.ops.conv import conv_layer, depthwise_layer, fully_connected_layer
from tinyengine_tflite.ops.elementwise import add_layer
from tinyengine_tflite.ops.pool import mean_layer
from tinyengine_tflite.schedule import schedule

from .arch_graph import arch_layers
from .search_space import ArchConfig

WEIGHT_CONSTS = ("filter", "weights", "bias")


@dataclass(frozen=True)
class Profile:
    peak_sram_bytes: int     # tinyengine_tflite's arena for the int8 export (all RAM the generated code uses)
    flash_bytes: int         # weights, biases and requantization constants (code not included)
    macs: int                # executed: with patch-based execution, the recomputed halos included
    params: int              # weights and biases
    patch_plan: str | None = None      # the patch stage run ("ROWSxCOLS@LAYER"), None when layer by layer
    layerwise_peak_sram_bytes: int = 0  # the layer-by-layer arena (equal to peak_sram_bytes without patches)

    def fits(self, sram_limit: int | None = None, flash_limit: int | None = None) -> bool:
        return (sram_limit is None or self.peak_sram_bytes <= sram_limit) and \
            (flash_limit is None or self.flash_bytes <= flash_limit)


def _pads(size_hw, k, stride, out_hw):
    return [same_padding(size_hw[d], k, stride, 1, out_hw[d]) for d in range(2)]


def abstract_model(arch: ArchConfig) -> LoweredModel:
    """The schedule IR of arch's int8 export: buffers and layers, constants as sizes only."""
    specs = arch_layers(arch)
    buffers: list[Buffer] = []

    def new_buffer(name, shape):
        n = 1
        for d in shape:
            n *= d
        buffers.append(Buffer(len(buffers), name, tuple(shape), n))
        return len(buffers) - 1

    x = new_buffer("input", (1, *arch.input_shape))
    outs = []        # buffer of each spec's output
    layers = []
    for i, s in enumerate(specs):
        out = new_buffer(s.name, (1, *s.output_shape))
        if s.kind in ("conv", "depthwise"):
            (ih, iw, ic), (oh, ow, oc) = s.input_shape, s.output_shape
            k, st = s.kernel_size, s.stride
            builder = conv_layer if s.kind == "conv" else depthwise_layer
            layers.append(builder(i, x, out, (ih, iw, ic), (oh, ow, oc), (k, k), (st, st), (1, 1),
                                  _pads((ih, iw), k, st, (oh, ow))))
        elif s.kind == "add":
            layers.append(add_layer(i, [x, outs[s.residual_from]], out, (1, *s.output_shape)))
        elif s.kind == "mean":
            layers.append(mean_layer(i, x, out, (1, *s.input_shape), axes=(1, 2)))
        elif s.kind == "fc":
            layers.append(fully_connected_layer(i, x, out, 1, s.input_shape[-1], s.output_shape[-1]))
        else:
            raise ValueError(f"layer {i} ({s.name}) has unknown kind {s.kind!r}")
        outs.append(out)
        x = out
    io_in = IOSpec(0, 0, "input", (1, *arch.input_shape), "int8", 1.0, 0)
    io_out = IOSpec(x, 1, "output", buffers[x].shape, "int8", 1.0, 0)
    return LoweredModel("arch", buffers, layers, [io_in], [io_out])


def profile(arch: ArchConfig, patches: str | None = None, max_mac_overhead: float = 0.2) -> Profile:
    """Peak SRAM, flash, MACs and parameters of arch's int8 deployment with tinyengine_tflite, cached per
    (arch, patches, max_mac_overhead) (the project's one profile cache: a search profiles each candidate once).
    patches: None (layer by layer), "auto" or a plan such as "4x5@5", as `tinyengine_tflite.convert` takes it;
    max_mac_overhead caps the recomputed MACs of "auto" as there."""
    if not isinstance(arch, ArchConfig):
        raise ValueError(f"profile expects an ArchConfig, got {type(arch).__name__}")
    if patches == "none":
        patches = None
    if patches is not None and not isinstance(patches, str):
        patches = str(patches)          # a PatchPlan: cached by its text
    return _profile(arch, patches, float(max_mac_overhead))


@lru_cache(maxsize=200_000)   # every subnet a default stage 1 samples
def _profile(arch: ArchConfig, patches: str | None = None, max_mac_overhead: float = 0.2) -> Profile:
    model = abstract_model(arch)
    sched = schedule(model, patches=patches, max_mac_overhead=max_mac_overhead)
    params = sum(c.count for layer in model.layers for c in layer.consts if c.name in WEIGHT_CONSTS)
    stage = sched.patches
    macs = stage.macs if stage is not None else sum(layer.macs for layer in model.layers)
    layerwise = stage.layerwise.arena_bytes if stage is not None else sched.arena_bytes
    return Profile(sched.arena_bytes, model.const_bytes, macs, params,
                   str(stage.plan) if stage is not None else None, layerwise)


def profiling_speed(n: int = 2000, seed: int = 0) -> float:
    """Architectures profiled per second on one core (fresh archs of the paper's space, cache bypassed)."""
    import time

    from .search_space import SearchSpace
    space = SearchSpace()
    archs = [space.sample(rng=seed + i) for i in range(n)]
    start = time.perf_counter()
    for arch in archs:
        _profile.__wrapped__(arch)
    return n / (time.perf_counter() - start)


if __name__ == "__main__":
    print(f"{profiling_speed():.0f} architectures per second")
