"""Cortex-M builds of the generated code: flash (code vs weights) of a bare-metal firmware, and instruction
counts of one inference in an instruction-level emulator (unicorn) with the memory map of a real part.

The firmware is the generated model.c and kernel library plus two small files written here: a startup file
(vector table, .data copy, .bss zeroing; the stack starts at the top of the part's SRAM) and a main that calls
model_invoke() between two marker functions. The harness stops at the first marker, writes the input into the
arena, runs to the second marker counting instructions, and reads the output back.

Instructions are counted with a block hook written in C (compiled once with the host compiler): unicorn calls it
once per executed translation block with the block's address and size, and it decodes the block's Thumb-2
instruction lengths from the code image (a halfword whose top five bits are 0b11101, 0b11110 or 0b11111 starts
a 32-bit instruction). That is exact and costs a few nanoseconds per block, so hundreds of millions of MACs take
minutes, not hours (a Python per-instruction hook is ~40x slower even on small models; tests cross-check the two).
The count includes conditional instructions that an IT block skips: the core issues them too (unicorn's
per-instruction hook does not see them, so it reports a few percent fewer)."""
from __future__ import annotations

import ctypes
import fcntl
import hashlib
import os
import re
import shutil
import struct
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .build import cache_dir
from .build import compiler as host_compiler

ARM_GCC = "arm-none-eabi-gcc"
ARM_COMMON_FLAGS = ["-std=c99", "-Os", "-mthumb", "-ffunction-sections", "-fdata-sections"]
STACK_RESERVE_BYTES = 2048          # stack budgeted by the fit check; the measured high-water mark must stay below
_MEASURE_LENGTH = 0x0F000000        # region length of the linker script: every model links, fit is checked after


@dataclass(frozen=True)
class Part:
    """The memory map of a microcontroller: one contiguous SRAM and one flash bank."""
    name: str
    sram_bytes: int
    flash_bytes: int
    sram_origin: int = 0x20000000
    flash_origin: int = 0x08000000
    core: str = "cortex-m7"
    note: str = ""


PARTS = {
    "stm32f746": Part("stm32f746", 320 * 1024, 1024 * 1024, core="cortex-m7",
                      note="320 KB SRAM (DTCM + SRAM1 + SRAM2, contiguous at 0x20000000), 1 MB flash"),
    "stm32h743": Part("stm32h743", 512 * 1024, 2048 * 1024, sram_origin=0x24000000, core="cortex-m7",
                      note="512 KB AXI SRAM at 0x24000000 (the other SRAM banks are not used), 2 MB flash"),
    "stm32f412": Part("stm32f412", 256 * 1024, 1024 * 1024, core="cortex-m4",
                      note="256 KB SRAM, 1 MB flash"),
}


def get_part(part) -> Part:
    if isinstance(part, Part):
        return part
    key = str(part).lower()
    if key not in PARTS:
        raise ValueError(f"unknown part {part!r}; known parts: {', '.join(sorted(PARTS))} "
                         "(or pass a tinyengine_tflite.cortexm.Part)")
    return PARTS[key]


def have_toolchain() -> bool:
    return shutil.which(ARM_GCC) is not None


# --- harness sources ------------------------------------------------------------------------------------------

# The startup file, shared with the sample apps' firmware (samples/deploy.py copies it).
STARTUP_PATH = Path(__file__).resolve().parent / "firmware" / "startup_cortexm.c"

MAIN_C = """\
/* Benchmark main (C99): publishes the model's input/output addresses, then runs one inference between two
 * marker functions the emulator stops at. On hardware the markers are where a cycle counter would be read. */
#include <stdint.h>

#include "{prefix}.h"

int8_t *volatile te_bench_inputs[{n_in}];
int8_t *volatile te_bench_outputs[{n_out}];
/* Initialized, so it lives in .data: the harness checks the startup copied it (-1 before the run). */
volatile int32_t te_bench_status = -1;

__attribute__((noinline)) void te_bench_ready(void);
__attribute__((noinline)) void te_bench_done(void);

__attribute__((noinline)) void te_bench_ready(void) {
    __asm volatile("" ::: "memory");
}

__attribute__((noinline)) void te_bench_done(void) {
    __asm volatile("" ::: "memory");
}

int main(void) {
    int i;
    for (i = 0; i < {P}_NUM_INPUTS; ++i) {
        te_bench_inputs[i] = {prefix}_input(i);
    }
    for (i = 0; i < {P}_NUM_OUTPUTS; ++i) {
        te_bench_outputs[i] = {prefix}_output(i);
    }
    te_bench_ready();
    te_bench_status = {prefix}_invoke();
    te_bench_done();
    for (;;) {
    }
}
"""

LINKER_SCRIPT = """\
/* tinyengine_tflite benchmark firmware: flash at {flash:#010x}, SRAM at {sram:#010x}; the region lengths are
 * generous so every model links (the fit against the real part is checked on the section sizes), and the stack
 * starts at the top of the part's {sram_size} bytes of SRAM. */
ENTRY(Reset_Handler)

MEMORY
{{
    FLASH (rx)  : ORIGIN = {flash:#010x}, LENGTH = {length:#x}
    RAM   (rwx) : ORIGIN = {sram:#010x}, LENGTH = {length:#x}
}}

SECTIONS
{{
    .isr_vector : {{ KEEP(*(.isr_vector)) }} > FLASH
    .text : {{ . = ALIGN(4); *(.text .text.*) *(.glue_7) *(.glue_7t) . = ALIGN(4); }} > FLASH
    .rodata : {{ . = ALIGN(4); *(.rodata .rodata.*) . = ALIGN(4); }} > FLASH
    .ARM.exidx : {{ *(.ARM.exidx* .gnu.linkonce.armexidx.*) }} > FLASH
    .init_array : {{ KEEP(*(.preinit_array*)) KEEP(*(.init_array*)) KEEP(*(.fini_array*)) }} > FLASH
    _sidata = LOADADDR(.data);
    .data : {{ . = ALIGN(4); _sdata = .; *(.data .data.*) . = ALIGN(4); _edata = .; }} > RAM AT > FLASH
    .bss (NOLOAD) : {{ . = ALIGN(4); _sbss = .; *(.bss .bss.*) *(COMMON) . = ALIGN(4); _ebss = .; }} > RAM
    _estack = ORIGIN(RAM) + {sram_size};
}}
"""


# --- ELF reading ----------------------------------------------------------------------------------------------

@dataclass
class ElfSection:
    name: str
    type: int
    flags: int
    addr: int
    offset: int
    size: int

    @property
    def alloc(self) -> bool:
        return bool(self.flags & 0x2)

    @property
    def nobits(self) -> bool:
        return self.type == 8


@dataclass
class ElfSymbol:
    name: str
    value: int
    size: int
    type: int           # 1 object, 2 function
    shndx: int


class Elf32:
    """The parts of a little-endian ELF32 file the harness needs: sections, PT_LOAD segments, symbols."""

    def __init__(self, path):
        self.data = Path(path).read_bytes()
        d = self.data
        if d[:4] != b"\x7fELF" or d[4] != 1 or d[5] != 1:
            raise ValueError(f"{path} is not a little-endian ELF32 file")
        (self.entry, phoff, shoff, _flags, _ehsize, phentsize, phnum, shentsize, shnum,
         shstrndx) = struct.unpack_from("<IIIIHHHHHH", d, 24)
        raw = [struct.unpack_from("<IIIIIIIIII", d, shoff + k * shentsize) for k in range(shnum)]
        strtab = raw[shstrndx]

        def name_at(table_off, off):
            end = d.index(b"\0", table_off + off)
            return d[table_off + off:end].decode()
        self.sections = [ElfSection(name_at(strtab[4], r[0]), r[1], r[2], r[3], r[4], r[5]) for r in raw]
        self.segments = []
        for k in range(phnum):
            p_type, off, vaddr, paddr, filesz, memsz, _fl, _al = struct.unpack_from("<IIIIIIII", d,
                                                                                      phoff + k * phentsize)
            if p_type == 1:
                self.segments.append((off, vaddr, paddr, filesz, memsz))
        self.symbols: list[ElfSymbol] = []
        for k, r in enumerate(raw):
            if r[1] != 2:       # SHT_SYMTAB
                continue
            str_off = raw[r[6]][4]
            for j in range(r[5] // 16):
                st_name, value, size, info, _other, shndx = struct.unpack_from("<IIIBBH", d, r[4] + j * 16)
                self.symbols.append(ElfSymbol(name_at(str_off, st_name), value, size, info & 0xF, shndx))

    def symbol(self, name: str) -> ElfSymbol:
        for s in self.symbols:
            if s.name == name:
                return s
        raise KeyError(f"symbol {name!r} is not in the firmware")

    def load_image(self):
        """(physical address, bytes) of each loadable segment's file contents."""
        return [(paddr, self.data[off:off + filesz]) for off, _v, paddr, filesz, _m in self.segments if filesz]


# --- building -------------------------------------------------------------------------------------------------

class CortexMError(RuntimeError):
    """The Cortex-M build or emulation failed; the message names the model."""


@dataclass
class Firmware:
    model_name: str
    cpu: str
    part: Part
    elf: Path
    sections: dict[str, int]                # alloc section -> bytes
    text_bytes: int                         # .isr_vector + .text (+ exception tables)
    rodata_bytes: int
    data_bytes: int                         # initialized RAM (its image is in flash too)
    bss_bytes: int                          # zeroed RAM: the arena and kernel statics
    weights_bytes: int                      # the model's constant arrays (weights, biases, requantization, params)
    arena_bytes: int
    warnings: str = ""
    input_sizes: list[int] = field(default_factory=list)
    output_sizes: list[int] = field(default_factory=list)

    @property
    def flash_bytes(self) -> int:
        return self.text_bytes + self.rodata_bytes + self.data_bytes

    @property
    def code_bytes(self) -> int:
        """Everything in flash that is not the model's constants: kernels, generated calls, startup, libgcc."""
        return self.flash_bytes - self.weights_bytes

    def sram_needed(self, stack_bytes: int = STACK_RESERVE_BYTES) -> int:
        return self.data_bytes + self.bss_bytes + stack_bytes

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

    def summary(self) -> dict:
        return {"cpu": self.cpu, "part": self.part.name, "sections": dict(self.sections),
                "text_bytes": self.text_bytes, "rodata_bytes": self.rodata_bytes, "data_bytes": self.data_bytes,
                "bss_bytes": self.bss_bytes, "flash_bytes": self.flash_bytes, "code_bytes": self.code_bytes,
                "weights_bytes": self.weights_bytes, "arena_bytes": self.arena_bytes}


def _run(cmd, cwd, what, model_name) -> str:
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if r.returncode:
        raise CortexMError(f"model {model_name!r}: {what} failed ({' '.join(cmd[:4])} ...):\n{r.stderr[-4000:]}")
    return r.stderr


def build_firmware(model, work_dir, cpu: str = "cortex-m7", part="stm32f746", prefix: str = "model",
                   name: str | None = None, extra_flags=()) -> Firmware:
    """Convert `model` (path or bytes) and build a bare-metal firmware for `cpu` into work_dir; returns its sizes.

    Flags: -Os -mcpu=CPU -mthumb -std=c99 -ffunction-sections -fdata-sections, linked with --gc-sections,
    newlib-nano/nosys and no start files (the startup here), so unused kernels are dropped."""
    from .compiler import convert
    from .reader import load_model_bytes

    if not have_toolchain():
        raise CortexMError(f"{ARM_GCC} is not installed (apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi)")
    part = get_part(part)
    buf, path_name = load_model_bytes(model)
    name = name or (Path(path_name).stem if path_name != "<bytes>" else "model")
    work = Path(work_dir)
    src, obj = work / "src", work / "obj"
    obj.mkdir(parents=True, exist_ok=True)
    report = convert(buf, src, prefix=prefix)
    harness = work / "harness"
    harness.mkdir(exist_ok=True)
    shutil.copyfile(STARTUP_PATH, harness / "te_startup.c")
    (harness / "te_bench_main.c").write_text(
        MAIN_C.replace("{prefix}", prefix).replace("{P}", prefix.upper())
        .replace("{n_in}", str(max(1, len(io_sizes(src, prefix, "INPUT")))))
        .replace("{n_out}", str(max(1, len(io_sizes(src, prefix, "OUTPUT"))))))
    (work / "link.ld").write_text(LINKER_SCRIPT.format(flash=part.flash_origin, sram=part.sram_origin,
                                                        length=_MEASURE_LENGTH, sram_size=part.sram_bytes))
    flags = [*ARM_COMMON_FLAGS, f"-mcpu={cpu}", *extra_flags]
    warnings = _run([ARM_GCC, *flags, "-Wall", "-Wextra", "-c", *[str(p) for p in sorted(src.glob("*.c"))]],
                    obj, "compiling the generated code", name)
    _run([ARM_GCC, *flags, "-Wall", "-Wextra", "-Werror", f"-I{src}", "-c",
          str(harness / "te_startup.c"), str(harness / "te_bench_main.c")], obj, "compiling the harness", name)
    elf = work / "firmware.elf"
    _run([ARM_GCC, f"-mcpu={cpu}", "-mthumb", "-nostartfiles", "--specs=nano.specs", "--specs=nosys.specs",
          "-Wl,--gc-sections", f"-Wl,-Map={work / 'firmware.map'}", "-T", str(work / "link.ld"),
          *[str(p) for p in sorted(obj.glob("*.o"))], "-o", str(elf)], work, "linking the firmware", name)
    fw = _measure(elf, Elf32(obj / f"{prefix}.o"), name, cpu, part, report.arena_bytes, warnings)
    fw.input_sizes, fw.output_sizes = io_sizes(src, prefix, "INPUT"), io_sizes(src, prefix, "OUTPUT")
    return fw


def io_sizes(src: Path, prefix: str, kind: str) -> list[int]:
    """Byte sizes of the model inputs (kind "INPUT") or outputs ("OUTPUT"), from the generated header's
    #define {P}_{kind}i_SIZE lines."""
    header = (src / f"{prefix}.h").read_text()
    return [int(ln.split()[2]) for ln in header.splitlines()
            if re.match(rf"#define {prefix.upper()}_{kind}\d+_SIZE ", ln)]


def _measure(elf_path: Path, model_obj: Elf32, name: str, cpu: str, part: Part, arena: int, warnings: str):
    elf = Elf32(elf_path)
    in_flash = lambda a: part.flash_origin <= a < part.flash_origin + _MEASURE_LENGTH  # noqa: E731
    sections = {s.name: s.size for s in elf.sections if s.alloc and s.size}
    text = sum(s.size for s in elf.sections if s.alloc and in_flash(s.addr) and s.name != ".rodata"
               and not s.nobits)
    rodata = sum(s.size for s in elf.sections if s.alloc and s.name == ".rodata")
    data = sum(s.size for s in elf.sections if s.alloc and not in_flash(s.addr) and not s.nobits)
    bss = sum(s.size for s in elf.sections if s.alloc and s.nobits)
    # The model's constant arrays: the data objects model.o defines, as they ended up in the firmware's flash.
    const_names = {s.name for s in model_obj.symbols
                   if s.type == 1 and 0 < s.shndx < len(model_obj.sections)
                   and model_obj.sections[s.shndx].name.startswith(".rodata")}
    weights = sum(s.size for s in elf.symbols if s.type == 1 and s.name in const_names and in_flash(s.value))
    return Firmware(name, cpu, part, elf_path, sections, text, rodata, data, bss, weights, arena, warnings.strip())


# --- the emulator ---------------------------------------------------------------------------------------------

COUNTER_C = """\
/* unicorn block hook: counts executed Thumb-2 instructions from each block's address and size. */
#include <stdint.h>

typedef struct {
    uint64_t instructions;
    uint64_t blocks;
    uint64_t base;              /* address of code[0] */
    uint64_t size;              /* bytes in code */
    const uint16_t *code;       /* the flash image, as little-endian halfwords */
    uint64_t outside;           /* blocks that were not in the image (counted as 16-bit instructions) */
} te_counter;

void te_count_block(void *uc, uint64_t address, uint32_t size, void *user) {
    te_counter *c = (te_counter *)user;
    (void)uc;
    c->blocks++;
    address &= ~(uint64_t)1;
    if (address < c->base || address - c->base + size > c->size) {
        c->outside++;
        c->instructions += size / 2;
        return;
    }
    const uint16_t *hw = c->code + (address - c->base) / 2;
    const uint32_t n = size / 2;
    uint32_t k = 0;
    while (k < n) {
        k += (hw[k] >> 11) >= 0x1D ? 2u : 1u;
        c->instructions++;
    }
}
"""


class _Counter(ctypes.Structure):
    _fields_ = [("instructions", ctypes.c_uint64), ("blocks", ctypes.c_uint64), ("base", ctypes.c_uint64),
                ("size", ctypes.c_uint64), ("code", ctypes.c_void_p), ("outside", ctypes.c_uint64)]


def _counter_library() -> ctypes.CDLL:
    key = hashlib.sha256((COUNTER_C + host_compiler()).encode()).hexdigest()[:16]
    d = cache_dir() / "cortexm-counter"
    d.mkdir(parents=True, exist_ok=True)
    so = d / f"te_counter-{key}.so"
    if not so.exists():
        with open(d / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not so.exists():
                tmp = Path(tempfile.mkdtemp(dir=d))
                try:
                    (tmp / "counter.c").write_text(COUNTER_C)
                    r = subprocess.run([host_compiler(), "-std=c99", "-O2", "-fPIC", "-shared", "-Wall", "-Wextra",
                                        "-Werror", "-o", str(tmp / "c.so"), str(tmp / "counter.c")],
                                       capture_output=True, text=True)
                    if r.returncode:
                        raise CortexMError(f"building the instruction counter failed:\n{r.stderr[-2000:]}")
                    os.replace(tmp / "c.so", so)
                finally:
                    shutil.rmtree(tmp, ignore_errors=True)
    return ctypes.CDLL(str(so))


@dataclass
class EmulationResult:
    instructions: int
    blocks: int
    seconds: float                          # wall time of the emulated inference
    stack_bytes: int                        # measured high-water mark (painted stack)
    outputs: list[np.ndarray] = field(default_factory=list)


def _page(n: int) -> int:
    return max(0x1000, (n + 0xFFF) // 0x1000 * 0x1000)


def emulate(fw: Firmware, inputs, timeout_s: float | None = None, stack_bytes: int = STACK_RESERVE_BYTES,
            add_hooks=None) -> EmulationResult:
    """Run one inference of the firmware on an emulated Cortex-M4 with the part's flash and SRAM mapped.

    inputs: int8 arrays, one per model input (written into the arena at the first marker). Returns the
    executed instruction count between the markers and the int8 outputs. Raises CortexMError when the firmware
    does not fit the part, faults, or runs past timeout_s (seconds of emulation). add_hooks(uc), when given, is
    called just before the inference starts (for extra unicorn hooks, e.g. cross-checks of the count)."""
    from unicorn import UC_ARCH_ARM, UC_HOOK_BLOCK, UC_MODE_MCLASS, UC_MODE_THUMB, Uc, UcError
    from unicorn.arm_const import UC_ARM_REG_PC, UC_ARM_REG_SP, UC_CPU_ARM_CORTEX_M4

    fits, why = fw.fits(stack_bytes)
    if not fits:
        raise CortexMError(f"model {fw.model_name!r} does not fit {fw.part.name}: {why}")
    part = fw.part
    elf = Elf32(fw.elf)
    uc = Uc(UC_ARCH_ARM, UC_MODE_THUMB | UC_MODE_MCLASS)
    uc.ctl_set_cpu_model(UC_CPU_ARM_CORTEX_M4)
    flash_size, sram_size = _page(part.flash_bytes), _page(part.sram_bytes)
    uc.mem_map(part.flash_origin, flash_size)
    uc.mem_map(part.sram_origin, sram_size)
    image = bytearray(flash_size)
    for addr, blob in elf.load_image():
        if not part.flash_origin <= addr <= addr + len(blob) <= part.flash_origin + flash_size:
            raise CortexMError(f"model {fw.model_name!r}: a load segment at {addr:#x} is outside flash")
        image[addr - part.flash_origin:addr - part.flash_origin + len(blob)] = blob
    uc.mem_write(part.flash_origin, bytes(image))
    sym = {s.name: s.value for s in elf.symbols if s.name}
    estack, ebss = sym["_estack"], sym["_ebss"]
    paint = estack - ebss
    uc.mem_write(ebss, b"\xa5" * paint)
    sp, reset = struct.unpack_from("<II", image, 0)
    uc.reg_write(UC_ARM_REG_SP, sp)
    ready, done = sym["te_bench_ready"] & ~1, sym["te_bench_done"] & ~1

    def run(begin, until, timeout):
        try:
            uc.emu_start(begin | 1, until, timeout=int(timeout * 1e6) if timeout else 0)
        except UcError as e:
            pc = uc.reg_read(UC_ARM_REG_PC)
            raise CortexMError(f"model {fw.model_name!r}: emulation fault at pc={pc:#x}: {e}") from None
        return uc.reg_read(UC_ARM_REG_PC)

    if run(reset, ready, 60) != ready:
        raise CortexMError(f"model {fw.model_name!r}: startup did not reach main's first marker")
    status_addr = sym["te_bench_status"]
    if struct.unpack("<i", uc.mem_read(status_addr, 4))[0] != -1:
        raise CortexMError(f"model {fw.model_name!r}: the startup code did not initialize .data")
    n_in = len(inputs)
    in_ptrs = struct.unpack(f"<{n_in}I", uc.mem_read(sym["te_bench_inputs"], 4 * n_in))
    for p, x in zip(in_ptrs, inputs):
        uc.mem_write(p, np.ascontiguousarray(x, dtype=np.int8).tobytes())

    # The counter: a C function unicorn calls directly (no Python per block), registered through unicorn's C API.
    from unicorn.unicorn_py3 import unicorn as _ucmod
    lib = _counter_library()
    counter = _Counter()
    keep = ctypes.create_string_buffer(bytes(image), len(image))
    counter.base, counter.size = part.flash_origin, len(image)
    counter.code = ctypes.cast(keep, ctypes.c_void_p)
    handle = _ucmod.uc_hook_h()
    fn = ctypes.cast(lib.te_count_block, ctypes.c_void_p)
    status = _ucmod.uclib.uc_hook_add(uc._uch, ctypes.byref(handle), UC_HOOK_BLOCK, fn,
                                      ctypes.cast(ctypes.byref(counter), ctypes.c_void_p),
                                      ctypes.c_uint64(1), ctypes.c_uint64(0))
    if status != 0:
        raise CortexMError(f"unicorn refused the block hook (error {status})")
    if add_hooks is not None:
        add_hooks(uc)
    t0 = time.perf_counter()
    pc = run(ready, done, timeout_s)
    seconds = time.perf_counter() - t0
    if pc != done:
        raise CortexMError(f"model {fw.model_name!r}: the emulated inference did not finish within "
                           f"{timeout_s:g} s of emulation (stopped at pc={pc:#x} after "
                           f"{counter.instructions:,} instructions)")
    invoke_status = struct.unpack("<i", uc.mem_read(status_addr, 4))[0]
    if invoke_status != 0:
        raise CortexMError(f"model {fw.model_name!r}: model_invoke() returned {invoke_status} on the emulator")
    painted = bytes(uc.mem_read(ebss, paint))
    untouched = len(painted) - len(painted.lstrip(b"\xa5"))
    used_stack = paint - untouched
    if used_stack > stack_bytes:
        raise CortexMError(f"model {fw.model_name!r}: the stack grew to {used_stack:,} B, past the "
                           f"{stack_bytes:,} B budgeted by the fit check")
    n_out = len(fw.output_sizes)
    out_ptrs = struct.unpack(f"<{n_out}I", uc.mem_read(sym["te_bench_outputs"], 4 * n_out))
    outputs = [np.frombuffer(bytes(uc.mem_read(p, n)), dtype=np.int8).copy()
               for p, n in zip(out_ptrs, fw.output_sizes)]
    del keep
    if counter.outside:
        raise CortexMError(f"model {fw.model_name!r}: {counter.outside} executed blocks lie outside flash")
    return EmulationResult(int(counter.instructions), int(counter.blocks), seconds, used_stack, outputs)


# --- one call: build, check the fit, emulate, compare with the host ----------------------------------------------

def run_on_cortexm(model, part="stm32f746", name: str | None = None, seed: int = 0, timeout_s: float | None = None,
                   work_dir=None, stack_bytes: int = STACK_RESERVE_BYTES) -> dict:
    """Cortex-M4 build (-mcpu=cortex-m4 -mthumb -Os) of `model`, emulated on `part` with a random int8 input.

    Returns a dict: status ("ok", "does not fit", "timeout"), the firmware sizes, instructions per inference,
    MACs per instruction, the measured stack, and whether the emulated output equals the host output of
    tinyengine_tflite.Interpreter on the same input (bit for bit). Build errors raise CortexMError."""
    from .compiler import compile_model
    from .interpreter import Interpreter
    from .reader import load_model_bytes
    from .report import make_report

    part = get_part(part)
    buf, path_name = load_model_bytes(model)
    name = name or (Path(path_name).stem if path_name != "<bytes>" else "model")
    tmp = Path(tempfile.mkdtemp(prefix="te-cortexm-", dir=work_dir))
    try:
        fw = build_firmware(buf, tmp, cpu="cortex-m4", part=part, name=name)
        out = {"part": asdict(part), "cpu": "cortex-m4", "firmware": fw.summary(),
               "sram_needed_bytes": fw.sram_needed(stack_bytes), "stack_reserve_bytes": stack_bytes}
        fits, why = fw.fits(stack_bytes)
        if not fits:
            out.update(status="does not fit", reason=why)
            return out
        lowered, sched = compile_model(buf)
        macs = make_report(lowered, sched).macs
        rng = np.random.default_rng(seed)
        q_inputs = [rng.integers(-128, 128, s.shape).astype(np.int8) for s in lowered.inputs]
        try:
            emu = emulate(fw, q_inputs, timeout_s=timeout_s, stack_bytes=stack_bytes)
        except CortexMError as e:
            if "did not finish" in str(e):
                out.update(status="timeout", reason=str(e))
                return out
            raise
        host = _host_outputs(Interpreter(model_content=buf), lowered, q_inputs)
        match = all(np.array_equal(a.reshape(-1), b.reshape(-1)) for a, b in zip(emu.outputs, host)) and \
            len(emu.outputs) == len(host)
        out.update(status="ok", instructions=emu.instructions, macs=macs,
                   macs_per_instruction=(macs / emu.instructions) if emu.instructions else None,
                   emulation_seconds=emu.seconds, stack_bytes=emu.stack_bytes,
                   peak_sram_bytes=fw.data_bytes + fw.bss_bytes + emu.stack_bytes,
                   output_matches_host=bool(match))
        return out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _host_outputs(it, lowered, q_inputs) -> list[np.ndarray]:
    """The host library's int8 outputs for int8 inputs q (float inputs get their exact dequantized value, which
    the generated quantizer maps back to q; float outputs are requantized from the int8 the host computed)."""
    it.allocate_tensors()
    for d, spec, q in zip(it.get_input_details(), lowered.inputs, q_inputs):
        if d["dtype"] == np.float32:
            x = (np.float32(spec.scale) * (q.astype(np.float32) - np.float32(spec.zero_point))).astype(np.float32)
            it.set_tensor(d["index"], x)
        else:
            it.set_tensor(d["index"], q)
    it.invoke()
    outs = []
    for d, spec in zip(it.get_output_details(), lowered.outputs):
        y = it.get_tensor(d["index"])
        if d["dtype"] == np.float32:
            # te_dequantize_s8_f32: y = (float)(scale * (q - zp)) in double; invert it exactly.
            q = np.rint(y.astype(np.float64) / np.float64(np.float32(spec.scale)) + spec.zero_point)
            y = np.clip(q, -128, 127).astype(np.int8)
        outs.append(np.asarray(y).reshape(-1))
    return outs
