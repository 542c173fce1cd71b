"""One model on an emulated Cortex-M4: build the firmware (-O2, per-layer markers), check that it fits the
part, run one inference between the benchmark main's two markers, and compare the output with the host build's.

`run_on_cortexm(model, part) -> CortexMRun`: instructions, estimated cycles, MACs per cycle, the measured
stack, whether the output equals tinyengine_tflite.Interpreter's bit for bit, and a per-layer profile."""
from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .emulator import CortexM4, EmulationTimeout
from .firmware_build import LAYER_MARKERS, SPEED_OPT, STACK_RESERVE_BYTES, Firmware, FirmwareSizes, build_firmware
from .parts import DEFAULT_PART, CortexMError, Part, get_part

EMULATED_CPU = "cortex-m4"


@dataclass
class LayerProfile:
    index: int
    op: str
    kernel: str                              # the C function the layer calls (its kernel variant)
    input_shapes: list[list[int]]
    output_shapes: list[list[int]]
    macs: int
    instructions: int
    cycles: int                              # estimated (tinyengine_tflite.cycle_model)

    @property
    def macs_per_cycle(self) -> float | None:
        return self.macs / self.cycles if self.cycles else None


@dataclass
class CortexMRun:
    status: str                              # "ok", "does not fit", "timeout"
    part: Part
    cpu: str
    firmware: FirmwareSizes
    sram_needed_bytes: int
    stack_reserve_bytes: int
    reason: str = ""
    macs: int | None = None
    instructions: int | None = None
    cycles: int | None = None
    emulation_seconds: float | None = None
    stack_bytes: int | None = None           # measured high-water mark (painted stack)
    peak_sram_bytes: int | None = None       # .data + .bss + measured stack
    output_matches_host: bool | None = None
    outside_layers: int | None = None        # instructions between the per-layer markers (model_invoke's own)
    layers: list[LayerProfile] = field(default_factory=list)

    @property
    def macs_per_instruction(self) -> float | None:
        return self.macs / self.instructions if self.macs is not None and self.instructions else None

    @property
    def macs_per_cycle(self) -> float | None:
        return self.macs / self.cycles if self.macs is not None and self.cycles else None


@dataclass
class Inference:
    """One emulated inference of a benchmark firmware."""
    outputs: list[np.ndarray]
    instructions: int
    cycles: int
    seconds: float
    stack_bytes: int
    layers: list[LayerProfile]
    outside_layers: int


def emulate(fw: Firmware, inputs, timeout_s: float | None = None, stack_bytes: int = STACK_RESERVE_BYTES,
            add_hooks=None) -> Inference:
    """Run one inference of a benchmark firmware: startup to te_bench_ready, write `inputs` (arrays of each input
    tensor's type, one per model input) into the arena, run to te_bench_done counting, read the outputs back
    (their bytes, as int8 arrays). Raises CortexMError when the firmware does not fit its part, faults, fails or
    overflows its stack budget, EmulationTimeout past timeout_s. add_hooks(uc), when given, is called just before
    the inference (for extra unicorn hooks)."""
    fits, why = fw.fits(stack_bytes)
    if not fits:
        raise CortexMError(f"model {fw.model_name!r} does not fit {fw.part.name}: {why}")
    cpu = CortexM4(fw.elf, fw.part, name=f"model {fw.model_name!r}")
    cpu.paint_stack()
    cpu.run(None, "te_bench_ready", timeout_s=60)
    if cpu.read_i32("te_bench_status") != -1:
        raise CortexMError(f"model {fw.model_name!r}: the startup code did not initialize .data")
    for p, x in zip(cpu.read_words("te_bench_inputs", len(inputs)), inputs):
        cpu.write(p, np.ascontiguousarray(x).tobytes())
    if add_hooks is not None:
        add_hooks(cpu.uc)
    # The markers are linked only when the generated code calls them (TE_LAYER_BEGIN / TE_LAYER_END).
    marked = fw.profile_layers and all(m in cpu.symbols for m in LAYER_MARKERS)
    run = cpu.run("te_bench_ready", "te_bench_done", timeout_s=timeout_s, markers=LAYER_MARKERS if marked else None)
    status = cpu.read_i32("te_bench_status")
    if status != 0:
        raise CortexMError(f"model {fw.model_name!r}: model_invoke() returned {status} on the emulator")
    used_stack = cpu.stack_used()
    if used_stack > stack_bytes:
        raise CortexMError(f"model {fw.model_name!r}: the stack grew to {used_stack:,} B, past the "
                           f"{stack_bytes:,} B budgeted by the fit check")
    outputs = [np.frombuffer(cpu.read(p, n), dtype=np.int8).copy()
               for p, n in zip(cpu.read_words("te_bench_outputs", len(fw.output_sizes)), fw.output_sizes)]
    layers = [LayerProfile(lr.index, lr.op, lr.kernel, [list(s) for s in lr.input_shapes],
                           [list(s) for s in lr.output_shapes], lr.macs, run.segments[lr.index].instructions,
                           run.segments[lr.index].cycles)
              for lr in fw.report.layers if lr.index in run.segments]
    outside = run.segments.get(-1)
    return Inference(outputs, run.instructions, run.cycles, run.seconds, used_stack, layers,
                     outside.instructions if outside else 0)


def run_on_cortexm(model, part=DEFAULT_PART, name: str | None = None, seed: int = 0, timeout_s: float | None = None,
                   work_dir=None, stack_bytes: int = STACK_RESERVE_BYTES, opt: str = SPEED_OPT,
                   patches=None) -> CortexMRun:
    """Cortex-M4 build (-mcpu=cortex-m4 -mthumb, `opt`, per-layer markers) of `model` (`patches` as in convert),
    emulated on `part` with a random int8 input (`seed`). A model that does not fit the part, or whose emulation
    runs past timeout_s, comes back with that status; build errors raise CortexMError."""
    from .interpreter import Interpreter
    from .reader import load_model_bytes

    part = get_part(part)
    buf, path_name = load_model_bytes(model)
    name = name or (Path(path_name).stem if path_name != "<bytes>" else "model")
    tmp = Path(tempfile.mkdtemp(prefix="te-cortexm-", dir=work_dir))
    try:
        fw = build_firmware(buf, tmp, cpu=EMULATED_CPU, part=part, name=name, opt=opt, profile_layers=True,
                            patches=patches)
        out = CortexMRun("ok", part, EMULATED_CPU, fw.sizes(), fw.sram_needed(stack_bytes), stack_bytes,
                         macs=fw.report.macs)
        fits, why = fw.fits(stack_bytes)
        if not fits:
            out.status, out.reason = "does not fit", why
            return out
        rng = np.random.default_rng(seed)
        q_inputs = [_random_tensor(rng, s) for s in fw.inputs]
        try:
            emu = emulate(fw, q_inputs, timeout_s=timeout_s, stack_bytes=stack_bytes)
        except EmulationTimeout as e:
            out.status, out.reason = "timeout", str(e)
            return out
        host = _host_outputs(Interpreter(model_content=buf, patches=patches), fw, q_inputs)
        out.instructions, out.cycles, out.emulation_seconds = emu.instructions, emu.cycles, emu.seconds
        out.stack_bytes = emu.stack_bytes
        out.peak_sram_bytes = fw.data_bytes + fw.bss_bytes + emu.stack_bytes
        out.output_matches_host = len(emu.outputs) == len(host) and all(   # byte for byte, whatever the type
            np.array_equal(a.reshape(-1).view(np.uint8), b.reshape(-1).view(np.uint8))
            for a, b in zip(emu.outputs, host))
        out.layers, out.outside_layers = emu.layers, emu.outside_layers
        return out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _random_tensor(rng, spec) -> np.ndarray:
    """Random values of an input's tensor type (a float input's tensor is int8)."""
    dtype = np.dtype(np.int8 if spec.dtype == "float32" else spec.dtype)
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max + 1, spec.shape).astype(dtype)


def _host_outputs(it, fw: Firmware, q_inputs) -> list[np.ndarray]:
    """The host library's outputs for the tensors' inputs q (each of its input's type; float inputs get their
    exact dequantized value, which the generated quantizer maps back to q; float outputs are requantized from
    the int8 the host computed)."""
    it.allocate_tensors()
    for d, spec, q in zip(it.get_input_details(), fw.inputs, q_inputs):
        if d["dtype"] == np.float32:
            x = (np.float32(spec.scale) * (q.astype(np.float32) - np.float32(spec.zero_point))).astype(np.float32)
            it.set_tensor(d["index"], x)
        else:
            it.set_tensor(d["index"], q)
    it.invoke()
    outs = []
    for d, spec in zip(it.get_output_details(), fw.outputs):
        y = it.get_tensor(d["index"])
        if d["dtype"] == np.float32:
            # te_dequantize_s8_f32: y = (float)(scale * (q - zp)) in double; invert it exactly.
            q = np.rint(y.astype(np.float64) / np.float64(np.float32(spec.scale)) + spec.zero_point)
            y = np.clip(q, -128, 127).astype(np.int8)
        outs.append(np.asarray(y).reshape(-1))
    return outs
