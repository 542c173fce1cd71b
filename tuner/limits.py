"""Memory limits of the target MCU and the exact check of a subnet against them.

Every check goes through `keras_mcunet.profiler.profile(arch)`, which runs TinyEngine's memory planner on the
subnet's int8 operator graph, so "fits" means what the compiler will allocate: peak SRAM (activations and
scratch buffers) and flash (weights, biases and quantization parameters). `max_macs` is an optional latency
proxy. Profiles are cached per arch by the profiler (ArchConfig is hashable), so repeated checks cost a dict
look-up. `memory_model="tflm"` checks peak SRAM against TFLite Micro's smallest arena instead
(tuner.tflm_memory): the benchmark's "TinyNAS without TinyEngine" ablation. `patches="auto"` checks the peak of
patch-based execution (MCUNetV2) as the compiler plans it for that subnet, MACs including the recomputed halos.
"""
from __future__ import annotations

from dataclasses import dataclass

from keras_mcunet.profiler import profile as profile_arch   # the exact, cached profile of an ArchConfig
from keras_mcunet.search_space import ArchConfig
from tinyengine_tflite.arguments import check_choice, check_number, check_whole_number

from .tflm_memory import tflm_profile

MEMORY_MODELS = {"tinyengine": profile_arch, "tflm": tflm_profile}


def kib(n_bytes: float) -> str:
    return f"{n_bytes / 1024:.1f} KB"


@dataclass(frozen=True)
class Limits:
    """sram_limit / flash_limit in bytes (e.g. 320 * 1024 and 1024 * 1024 for an STM32F746), max_macs an
    optional cap on multiply-accumulates per inference; memory_model: whose peak SRAM is checked, "tinyengine"
    (this project's compiler) or "tflm" (TFLite Micro's smallest arena). patches: None (layer by layer) or "auto"
    (TinyEngine's patch-based execution of the first layers where it lowers the peak, recomputing at most
    max_mac_overhead more MACs)."""
    sram_limit: int
    flash_limit: int
    max_macs: int | None = None
    memory_model: str = "tinyengine"
    patches: str | None = None
    max_mac_overhead: float = 0.2

    def __post_init__(self):
        object.__setattr__(self, "sram_limit", check_whole_number(self.sram_limit, "sram_limit", "bytes"))
        object.__setattr__(self, "flash_limit", check_whole_number(self.flash_limit, "flash_limit", "bytes"))
        if self.max_macs is not None:
            object.__setattr__(self, "max_macs", check_whole_number(self.max_macs, "max_macs", "MACs"))
        check_choice(self.memory_model, "memory_model", tuple(MEMORY_MODELS))
        if self.patches == "none":
            object.__setattr__(self, "patches", None)
        check_choice(self.patches, "patches", (None, "auto"))
        if self.patches is not None and self.memory_model != "tinyengine":
            raise ValueError(f"patches={self.patches!r} needs memory_model='tinyengine' (TFLite Micro runs layer by "
                             f"layer), got memory_model={self.memory_model!r}")
        object.__setattr__(self, "max_mac_overhead", check_number(self.max_mac_overhead, "max_mac_overhead",
                                                                  open_low=False))

    def fits(self, profile) -> bool:
        """True when a profile is within every limit."""
        return (profile.peak_sram_bytes <= self.sram_limit and profile.flash_bytes <= self.flash_limit
                and (self.max_macs is None or profile.macs <= self.max_macs))

    def profile(self, arch: ArchConfig):
        """`arch`'s profile under this memory model (and patch setting)."""
        if self.patches is not None:
            return profile_arch(arch, self.patches, self.max_mac_overhead)
        return MEMORY_MODELS[self.memory_model](arch)

    def check(self, arch: ArchConfig) -> tuple[bool, object]:
        """(fits, profile) of `arch`."""
        prof = self.profile(arch)
        return self.fits(prof), prof

    def violations(self, profile) -> list[str]:
        """Human-readable list of the limits a profile breaks (empty when it fits)."""
        out = []
        if profile.peak_sram_bytes > self.sram_limit:
            out.append(f"peak SRAM {kib(profile.peak_sram_bytes)} > {kib(self.sram_limit)}")
        if profile.flash_bytes > self.flash_limit:
            out.append(f"flash {kib(profile.flash_bytes)} > {kib(self.flash_limit)}")
        if self.max_macs is not None and profile.macs > self.max_macs:
            out.append(f"{profile.macs / 1e6:.2f} MMACs > {self.max_macs / 1e6:.2f} MMACs")
        return out

    def describe(self) -> str:
        engine = " (TFLM arena)" if self.memory_model == "tflm" else (" (patch-based)" if self.patches else "")
        text = f"SRAM <= {kib(self.sram_limit)}{engine}, flash <= {kib(self.flash_limit)}"
        return text + (f", MACs <= {self.max_macs / 1e6:.2f}M" if self.max_macs is not None else "")

    def to_dict(self) -> dict:
        out = {"sram_limit": self.sram_limit, "flash_limit": self.flash_limit, "max_macs": self.max_macs}
        if self.memory_model != "tinyengine":     # saved projects of the default model keep their keys
            out["memory_model"] = self.memory_model
        if self.patches is not None:             # likewise for layer-by-layer projects
            out["patches"] = self.patches
            out["max_mac_overhead"] = self.max_mac_overhead
        return out


def profile_dict(profile) -> dict:
    """The fields of a profile as plain ints (for JSON)."""
    out = {"peak_sram_bytes": int(profile.peak_sram_bytes), "flash_bytes": int(profile.flash_bytes),
           "macs": int(profile.macs), "params": int(profile.params)}
    if profile.patch_plan is not None:
        out["patch_plan"] = profile.patch_plan
        out["layerwise_peak_sram_bytes"] = int(profile.layerwise_peak_sram_bytes)
    return out
