"""The Cortex-M4 emulator (unicorn) that the benchmark and the sample firmware run on.

`CortexM4(elf, part)` maps the part's flash and SRAM (and the System Control Space as plain memory, so a
hard-float startup can enable the FPU), loads the firmware, and `run(start, stop)` executes from one symbol (or
address; None: the reset vector) until the PC reaches another, within a timeout. Every run counts instructions
and estimated cycles (tinyengine_tflite.cycle_model): a block hook written in C (compiled once with the host
compiler) counts how often each translation block ran; each distinct block is then decoded and costed once, so
hundreds of millions of instructions take seconds. The count includes conditional instructions that an IT
block skips (the core issues them; unicorn's per-instruction hook does not see them).

Per-layer profile: with `markers=(begin, end)`, the functions the firmware calls around each layer (the
generated code's TE_LAYER_BEGIN(i) / TE_LAYER_END(i), defined by the benchmark's build to call them with the
layer index in r0) switch the counters to that layer, so `Run.segments` splits the totals by layer (segment -1:
outside any layer)."""
from __future__ import annotations

import ctypes
import fcntl
import hashlib
import os
import shutil
import struct
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .build import cache_dir
from .build import compiler as host_compiler
from .cycle_model import TAKEN_BRANCH_PENALTY, BlockCost, block_cost
from .elf import STT_FUNC, Elf32
from .parts import CortexMError, Part, get_part
from .unicorn_compat import add_native_block_hook

COUNTER_C = Path(__file__).resolve().parent / "firmware" / "emulator_block_counter.c"
SCS_BASE = 0xE000E000               # System Control Space (CPACR, SysTick, NVIC): mapped as plain memory
STACK_PAINT = 0xA5
OUTSIDE_LAYERS = -1


class EmulationTimeout(CortexMError):
    """The firmware did not reach the stop address within the time limit."""


class _Blocks(ctypes.Structure):
    _fields_ = [("table", ctypes.c_void_p), ("capacity", ctypes.c_uint64), ("used", ctypes.c_uint64),
                ("segment", ctypes.c_int64), ("previous", ctypes.c_void_p), ("dropped", ctypes.c_uint64)]


_BLOCK_DTYPE = np.dtype([("address", "<u8"), ("size", "<u4"), ("segment", "<i4"), ("executions", "<u8"),
                         ("taken", "<u8")])


def _counter_library() -> ctypes.CDLL:
    source = COUNTER_C.read_text()
    key = hashlib.sha256((source + host_compiler()).encode()).hexdigest()[:16]
    d = cache_dir() / "cortexm-counter"
    d.mkdir(parents=True, exist_ok=True)
    so = d / f"te_blocks-{key}.so"
    if not so.exists():
        with open(d / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not so.exists():
                tmp = Path(tempfile.mkdtemp(dir=d))
                try:
                    r = subprocess.run([host_compiler(), "-std=c99", "-O2", "-fPIC", "-shared", "-Wall", "-Wextra",
                                        "-Werror", "-o", str(tmp / "c.so"), str(COUNTER_C)],
                                       capture_output=True, text=True)
                    if r.returncode:
                        raise CortexMError(f"building the emulator's block counter failed:\n{r.stderr[-2000:]}")
                    os.replace(tmp / "c.so", so)
                finally:
                    shutil.rmtree(tmp, ignore_errors=True)
    lib = ctypes.CDLL(str(so))
    lib.te_blocks_clear.argtypes = [ctypes.POINTER(_Blocks)]
    return lib


@dataclass
class Counts:
    instructions: int = 0
    cycles: int = 0             # estimated Cortex-M4 cycles (cycle_model)


@dataclass
class Run:
    """What one run from `start` to `stop` executed."""
    instructions: int
    cycles: int
    blocks: int                 # translation blocks executed
    seconds: float              # wall time of the emulation
    segments: dict[int, Counts] = field(default_factory=dict)   # layer index (or -1) -> its share


def _page(n: int) -> int:
    return max(0x1000, (n + 0xFFF) // 0x1000 * 0x1000)


class CortexM4:
    """An emulated Cortex-M4 with `part`'s memory map and the firmware `elf` (path or Elf32) loaded."""

    def __init__(self, elf, part, name: str | None = None):
        from unicorn import UC_ARCH_ARM, UC_MODE_MCLASS, UC_MODE_THUMB, Uc
        from unicorn.arm_const import UC_ARM_REG_SP, UC_CPU_ARM_CORTEX_M4

        self.elf = elf if isinstance(elf, Elf32) else Elf32(elf)
        self.part: Part = get_part(part)
        self.name = name or self.elf.path.name
        self.symbols = self.elf.symbol_table()
        part = self.part
        self.uc = uc = Uc(UC_ARCH_ARM, UC_MODE_THUMB | UC_MODE_MCLASS)
        uc.ctl_set_cpu_model(UC_CPU_ARM_CORTEX_M4)
        flash_size = _page(part.flash_bytes)
        uc.mem_map(part.flash_origin, flash_size)
        uc.mem_map(part.sram_origin, _page(part.sram_bytes))
        uc.mem_map(SCS_BASE, 0x1000)
        image = bytearray(flash_size)
        for addr, blob in self.elf.load_image():
            if not part.flash_origin <= addr <= addr + len(blob) <= part.flash_origin + part.flash_bytes:
                raise CortexMError(f"{self.name}: a load segment at {addr:#x} is outside the {part.name}'s flash")
            image[addr - part.flash_origin:addr - part.flash_origin + len(blob)] = blob
        uc.mem_write(part.flash_origin, bytes(image))
        self.initial_sp, self.reset = struct.unpack_from("<II", image, 0)
        uc.reg_write(UC_ARM_REG_SP, self.initial_sp)
        self._lib = _counter_library()
        self._blocks = _Blocks()
        self._blocks.segment = OUTSIDE_LAYERS
        add_native_block_hook(uc, ctypes.cast(self._lib.te_blocks_hook, ctypes.c_void_p),
                              ctypes.cast(ctypes.byref(self._blocks), ctypes.c_void_p))
        self._costs: dict[tuple[int, int], BlockCost] = {}
        self._marked: set[int] = set()

    def __del__(self):
        lib, blocks = getattr(self, "_lib", None), getattr(self, "_blocks", None)
        if lib is not None and blocks is not None:
            lib.te_blocks_clear(ctypes.byref(blocks))

    # --- memory and symbols ---------------------------------------------------------------------------------

    def address(self, where) -> int:
        """The address of a symbol name (Thumb bit cleared), or `where` itself when it is a number."""
        if isinstance(where, str):
            if where not in self.symbols:
                raise CortexMError(f"{self.name}: the firmware has no symbol {where!r}")
            return self.symbols[where] & ~1
        return int(where) & ~1

    def where(self, address: int) -> str:
        """`function+offset` of a code address, for messages."""
        best = None
        for s in self.elf.symbols:
            if s.type == STT_FUNC and s.name and (s.value & ~1) <= address < (s.value & ~1) + max(s.size, 1):
                best = s
        return f"{best.name}+{address - (best.value & ~1):#x}" if best else f"{address:#x}"

    def read(self, address: int, n: int) -> bytes:
        return bytes(self.uc.mem_read(address, n))

    def write(self, address: int, data: bytes) -> None:
        self.uc.mem_write(address, bytes(data))

    def read_i32(self, where) -> int:
        return struct.unpack("<i", self.read(self.address(where), 4))[0]

    def read_words(self, where, n: int) -> tuple[int, ...]:
        return struct.unpack(f"<{n}I", self.read(self.address(where), 4 * n))

    # --- the stack ------------------------------------------------------------------------------------------

    def paint_stack(self) -> None:
        """Fill the space between the end of .bss and the top of the stack, to measure its high-water mark."""
        lo, hi = self.address("_ebss"), self.address("_estack")
        self.write(lo, bytes([STACK_PAINT]) * (hi - lo))

    def stack_used(self) -> int:
        lo, hi = self.address("_ebss"), self.address("_estack")
        return len(self.read(lo, hi - lo).lstrip(bytes([STACK_PAINT])))

    # --- running --------------------------------------------------------------------------------------------

    def _mark(self, begin: int, end: int) -> None:
        from unicorn import UC_HOOK_CODE
        from unicorn.arm_const import UC_ARM_REG_R0

        blocks = self._blocks

        def enter(uc, _address, _size, _user):
            blocks.segment = uc.reg_read(UC_ARM_REG_R0)

        def leave(_uc, _address, _size, _user):
            blocks.segment = OUTSIDE_LAYERS
        self.uc.hook_add(UC_HOOK_CODE, enter, begin=begin, end=begin)
        self.uc.hook_add(UC_HOOK_CODE, leave, begin=end, end=end)
        self._marked |= {begin, end}

    def run(self, start=None, stop=None, timeout_s: float | None = None, markers=None) -> Run:
        """Execute from `start` (symbol or address; None: the reset handler) until the PC reaches `stop`.

        markers: (begin, end) symbols of the per-layer marker functions, or None. Raises EmulationTimeout when
        `stop` is not reached within timeout_s seconds of emulation (None: no limit), CortexMError on a fault."""
        from unicorn import UcError
        from unicorn.arm_const import UC_ARM_REG_PC

        begin = self.reset & ~1 if start is None else self.address(start)
        until = self.address(stop)
        if markers is not None:
            m = (self.address(markers[0]), self.address(markers[1]))
            if not set(m) <= self._marked:
                self._mark(*m)
        self._lib.te_blocks_clear(ctypes.byref(self._blocks))
        self._blocks.segment = OUTSIDE_LAYERS
        # Drop the translated code: hooks added since the last run apply to blocks translated before it too.
        self.uc.ctl_remove_cache(self.part.flash_origin, self.part.flash_origin + _page(self.part.flash_bytes))
        t0 = time.perf_counter()
        try:
            self.uc.emu_start(begin | 1, until, timeout=int(timeout_s * 1e6) if timeout_s else 0)
        except UcError as e:
            pc = self.uc.reg_read(UC_ARM_REG_PC)
            raise CortexMError(f"{self.name}: emulation fault at pc={pc:#x} ({self.where(pc)}): {e}") from None
        seconds = time.perf_counter() - t0
        result = self._tally(seconds)
        pc = self.uc.reg_read(UC_ARM_REG_PC)
        if pc != until:
            limit = f" within {timeout_s:g} s of emulation" if timeout_s else ""
            raise EmulationTimeout(
                f"{self.name}: did not reach {stop if isinstance(stop, str) else hex(until)}{limit} (stopped at "
                f"pc={pc:#x} in {self.where(pc)} after {result.instructions:,} instructions)")
        return result

    def _tally(self, seconds: float) -> Run:
        b = self._blocks
        if b.dropped:
            raise CortexMError(f"{self.name}: the block counter ran out of memory ({b.dropped} blocks not counted)")
        if not b.capacity:
            return Run(0, 0, 0, seconds, {})
        raw = (ctypes.c_char * (b.capacity * _BLOCK_DTYPE.itemsize)).from_address(b.table)
        table = np.frombuffer(raw, dtype=_BLOCK_DTYPE).copy()
        table = table[table["executions"] > 0]
        segments: dict[int, Counts] = {}
        total = Counts()
        for address, size, segment, executions, taken in table.tolist():
            cost = self._costs.get((address, size))
            if cost is None:
                cost = self._costs[(address, size)] = block_cost(self.read(address, size))
            c = segments.setdefault(segment, Counts())
            c.instructions += executions * cost.instructions
            c.cycles += executions * cost.cycles + taken * TAKEN_BRANCH_PENALTY
        for c in segments.values():
            total.instructions += c.instructions
            total.cycles += c.cycles
        return Run(total.instructions, total.cycles, int(table["executions"].sum()), seconds,
                   dict(sorted(segments.items())))
