"""The conversion pipeline: .tflite -> IR -> lowered layers -> schedule -> C."""
from __future__ import annotations

from .codegen import generate
from .fuse import fuse_pads
from .fuse_dilation import fuse_dilated_convs
from .layers import LoweredModel
from .lower import check_reference, lower_graph, supported_ops
from .reader import load_model_bytes, read_model
from .report import ConversionReport, make_report
from .schedule import Schedule, schedule


def compile_model(model, inplace: bool = True, reference: str = "litert", patches=None,
                  max_mac_overhead: float = 0.2) -> tuple[LoweredModel, Schedule]:
    """Read, lower and plan a model (a path or flatbuffer bytes). `reference` is the bit-exact reference the
    generated code reproduces: "litert" (LiteRT's reference kernels) or "tflm" (TensorFlow Lite Micro).
    `patches` (None, "auto", a PatchPlan or "ROWSxCOLS@LAYER") runs the first layers patch by patch (see
    schedule.schedule); the model returned is the one executed (with the patch stage's copies)."""
    check_reference(reference)
    buf, name = load_model_bytes(model)
    graph = fuse_pads(fuse_dilated_convs(read_model(buf if name == "<bytes>" else name, supported_ops()), reference))
    lowered = lower_graph(graph, name, reference)
    sched = schedule(lowered, inplace=inplace, patches=patches, max_mac_overhead=max_mac_overhead)
    return sched.executed(lowered), sched


def convert(model, out_dir=None, prefix: str = "model", inplace: bool = True, reference: str = "litert",
            patches=None, max_mac_overhead: float = 0.2) -> ConversionReport:
    """Convert an int8 .tflite (path or bytes) into a self-contained C99 folder; returns the memory report.
    With out_dir None nothing is written (the report alone). The generated code equals, byte for byte,
    LiteRT's reference kernels (reference="litert", the default) or TensorFlow Lite Micro's (reference="tflm");
    the two differ on FULLY_CONNECTED, MUL and LOGISTIC. patches="auto" runs the memory-heavy first layers
    patch by patch (MCUNetV2) where that lowers peak SRAM within max_mac_overhead more MACs; a PatchPlan or
    "ROWSxCOLS@LAYER" forces a split and grid; None is layer-by-layer execution."""
    lowered, sched = compile_model(model, inplace=inplace, reference=reference, patches=patches,
                                   max_mac_overhead=max_mac_overhead)
    report = make_report(lowered, sched)
    if out_dir is not None:
        report.files = generate(lowered, sched, out_dir, prefix)
    return report
