"""Bare-metal Cortex-M firmware of a model: the generated model.c and kernel library, the startup file and a
benchmark main (tinyengine_tflite/firmware/), linked with the part's memory map; and its flash/SRAM sizes.

Flags: -std=c99 -mthumb -mcpu=CPU -ffunction-sections -fdata-sections and -Os (the smallest flash, what the flash
figures use) or -O2 (what the speed figures use), linked with --gc-sections, newlib-nano/nosys and no start
files, so unused kernels are dropped. `profile_layers=True` also defines the generated code's
TE_LAYER_BEGIN(i)/TE_LAYER_END(i) hook as calls to two marker functions the emulator watches."""
from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from .build import KernelBuildError, kernel_objects
from .elf import STT_OBJECT, Elf32
from .parts import DEFAULT_PART, CortexMError, Part, get_part
from .layers import IOSpec
from .report import ConversionReport

ARM_GCC = "arm-none-eabi-gcc"
FIRMWARE_DIR = Path(__file__).resolve().parent / "firmware"
STARTUP_PATH = FIRMWARE_DIR / "startup_cortexm.c"     # shared with the sample apps' firmware (samples/deploy.py)
BENCH_MAIN_PATH = FIRMWARE_DIR / "bench_main.c"
MARKERS_PATH = FIRMWARE_DIR / "te_layer_markers.c"
MARKERS_HEADER = FIRMWARE_DIR / "te_layer_markers.h"
LINKER_SCRIPT_PATH = FIRMWARE_DIR / "bench.ld.in"
SIZE_OPT, SPEED_OPT = "-Os", "-O2"
COMMON_FLAGS = ["-std=c99", "-mthumb", "-ffunction-sections", "-fdata-sections"]
STACK_RESERVE_BYTES = 2048          # stack budgeted by the fit check; the measured high-water mark must stay below
LAYER_MARKERS = ("te_layer_begin", "te_layer_end")
_MEASURE_LENGTH = 0x0F000000        # region length of the linker script: every model links, fit is checked after


def have_toolchain() -> bool:
    return shutil.which(ARM_GCC) is not None


@dataclass
class FirmwareSizes:
    """A firmware's sizes (what the benchmark reports)."""
    cpu: str
    opt: str
    part: str
    sections: dict[str, int]
    text_bytes: int
    rodata_bytes: int
    data_bytes: int
    bss_bytes: int
    flash_bytes: int
    code_bytes: int
    weights_bytes: int
    arena_bytes: int


@dataclass
class Firmware:
    model_name: str
    cpu: str
    opt: str                                # -Os or -O2
    part: Part
    elf: Path
    sections: dict[str, int]                # alloc section -> bytes
    text_bytes: int                         # .isr_vector + .text (+ exception tables)
    rodata_bytes: int
    data_bytes: int                         # initialized RAM (its image is in flash too)
    bss_bytes: int                          # zeroed RAM: the arena and kernel statics
    weights_bytes: int                      # the model's constant arrays (weights, biases, requantization, params)
    arena_bytes: int
    report: ConversionReport                # the model as converted (layers, kernels, MACs)
    inputs: list[IOSpec] = field(default_factory=list)     # the model's inputs and outputs as lowered
    outputs: list[IOSpec] = field(default_factory=list)
    input_sizes: list[int] = field(default_factory=list)    # bytes of each int8 input / output tensor
    output_sizes: list[int] = field(default_factory=list)
    warnings: str = ""
    profile_layers: bool = False

    @property
    def flash_bytes(self) -> int:
        return self.text_bytes + self.rodata_bytes + self.data_bytes

    @property
    def code_bytes(self) -> int:
        """Everything in flash that is not the model's constants: kernels, generated calls, startup, libgcc."""
        return self.flash_bytes - self.weights_bytes

    def sram_needed(self, stack_bytes: int = STACK_RESERVE_BYTES) -> int:
        return self.data_bytes + self.bss_bytes + stack_bytes

    def sizes(self) -> "FirmwareSizes":
        return FirmwareSizes(self.cpu, self.opt, self.part.name, dict(self.sections), self.text_bytes,
                             self.rodata_bytes, self.data_bytes, self.bss_bytes, self.flash_bytes, self.code_bytes,
                             self.weights_bytes, self.arena_bytes)

    def fits(self, stack_bytes: int = STACK_RESERVE_BYTES) -> tuple[bool, str]:
        """(fits, why not) on the firmware's part."""
        why = []
        if self.sram_needed(stack_bytes) > self.part.sram_bytes:
            why.append(f"SRAM: arena {self.arena_bytes:,} B + other .bss/.data "
                       f"{self.data_bytes + self.bss_bytes - self.arena_bytes:,} B + stack {stack_bytes:,} B = "
                       f"{self.sram_needed(stack_bytes):,} B > {self.part.sram_bytes:,} B")
        if self.flash_bytes > self.part.flash_bytes:
            why.append(f"flash: text+rodata+data {self.flash_bytes:,} B > {self.part.flash_bytes:,} B")
        return not why, "; ".join(why)


def _run(cmd, cwd, what, model_name) -> str:
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if r.returncode:
        raise CortexMError(f"model {model_name!r}: {what} failed ({' '.join(cmd[:4])} ...):\n{r.stderr[-4000:]}")
    return r.stderr


def build_firmware(model, work_dir, cpu: str = "cortex-m7", part=DEFAULT_PART, prefix: str = "model",
                   name: str | None = None, opt: str = SIZE_OPT, profile_layers: bool = False,
                   extra_flags=(), patches=None) -> Firmware:
    """Convert `model` (path or bytes; `patches` as in convert) and build a bare-metal firmware for `cpu` into
    work_dir; returns its sizes."""
    from .codegen import check_prefix, generate
    from .compiler import compile_model
    from .reader import load_model_bytes
    from .report import make_report

    if not have_toolchain():
        raise CortexMError(f"{ARM_GCC} is not installed (apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi)")
    part = get_part(part)
    check_prefix(prefix)
    buf, path_name = load_model_bytes(model)
    name = name or (Path(path_name).stem if path_name != "<bytes>" else "model")
    work = Path(work_dir)
    src, obj = work / "src", work / "obj"
    obj.mkdir(parents=True, exist_ok=True)
    lowered, sched = compile_model(buf, patches=patches)
    report = make_report(lowered, sched)
    report.files = generate(lowered, sched, src, prefix)
    (work / "link.ld").write_text(LINKER_SCRIPT_PATH.read_text().format(
        flash=part.flash_origin, sram=part.sram_origin, length=_MEASURE_LENGTH, sram_size=part.sram_bytes))
    flags = [*COMMON_FLAGS, opt, f"-mcpu={cpu}", *extra_flags]
    hook = [f"-I{FIRMWARE_DIR}", f'-DTE_LAYER_HOOK_HEADER="{MARKERS_HEADER.name}"'] if profile_layers else []
    command = [ARM_GCC, *flags, "-Wall", "-Wextra"]
    try:
        kernels = kernel_objects(src, command)   # the layer hook is in the generated code only
    except KernelBuildError as e:
        raise CortexMError(f"model {name!r}: compiling the kernels failed ({' '.join(e.command[:4])} ...):\n"
                           f"{e.stderr[-4000:]}") from None
    warnings = kernels.messages + _run([*command, *hook, "-c", *[str(p) for p in sorted(src.glob("*.c"))
                                                         if p.name not in kernels.objects]],
                                       obj, "compiling the generated code", name)
    harness = [STARTUP_PATH, BENCH_MAIN_PATH] + ([MARKERS_PATH] if profile_layers else [])
    _run([ARM_GCC, *flags, "-Wall", "-Wextra", "-Werror", f"-I{src}", f"-I{FIRMWARE_DIR}",
          f'-DTE_MODEL_HEADER="{prefix}.h"', f"-DTE_MODEL_PREFIX={prefix}",
          f"-DTE_NUM_INPUTS={len(lowered.inputs)}", f"-DTE_NUM_OUTPUTS={len(lowered.outputs)}",
          "-c", *map(str, harness)], obj, "compiling the harness", name)
    elf = work / "firmware.elf"
    _run([ARM_GCC, f"-mcpu={cpu}", "-mthumb", "-nostartfiles", "--specs=nano.specs", "--specs=nosys.specs",
          "-Wl,--gc-sections", f"-Wl,-Map={work / 'firmware.map'}", "-T", str(work / "link.ld"),
          *[str(p) for p in sorted(obj.glob("*.o"))], *map(str, kernels.objects.values()), "-o", str(elf)], work,
         "linking the firmware", name)
    generated = [Elf32(obj / (Path(f).stem + ".o")) for f in report.files
                 if f.endswith(".c") and not f.startswith("te_")]
    fw = _measure(elf, generated, name, cpu, opt, part, report, warnings)
    fw.inputs, fw.outputs = list(lowered.inputs), list(lowered.outputs)
    fw.input_sizes = [lowered.buffers[s.buffer].nbytes for s in lowered.inputs]
    fw.output_sizes = [lowered.buffers[s.buffer].nbytes for s in lowered.outputs]
    fw.profile_layers = profile_layers
    return fw


def _measure(elf_path: Path, generated: list[Elf32], name: str, cpu: str, opt: str, part: Part,
             report: ConversionReport, warnings: str) -> Firmware:
    elf = Elf32(elf_path)
    in_flash = lambda a: part.flash_origin <= a < part.flash_origin + _MEASURE_LENGTH  # noqa: E731
    alloc = [s for s in elf.sections if s.alloc]
    sections = {s.name: s.size for s in alloc if s.size}
    text = sum(s.size for s in alloc if in_flash(s.addr) and s.name != ".rodata" and not s.nobits)
    rodata = sum(s.size for s in alloc if s.name == ".rodata")
    data = sum(s.size for s in alloc if not in_flash(s.addr) and not s.nobits)
    bss = sum(s.size for s in alloc if s.nobits)
    # The model's constant arrays: the read-only data objects the generated files (not the kernels) define, as
    # they ended up in the firmware's flash.
    const_names = {s.name for o in generated for s in o.symbols
                   if s.type == STT_OBJECT and 0 < s.shndx < len(o.sections)
                   and o.sections[s.shndx].name.startswith(".rodata")}
    weights = sum(s.size for s in elf.symbols if s.type == STT_OBJECT and s.name in const_names and in_flash(s.value))
    return Firmware(name, cpu, opt, part, elf_path, sections, text, rodata, data, bss, weights, report.arena_bytes,
                    report, warnings=warnings.strip())
