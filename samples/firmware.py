"""Run a sample's Cortex-M firmware (``make arm`` in a deploy folder) on an emulated Cortex-M4 (unicorn).

The firmware classifies the sample input compiled into its flash and calls ``app_done()``; the emulator maps the
part's flash and SRAM, runs from the reset vector to ``app_done`` and reads ``app_status``, ``app_result_class``,
``app_result_score`` and ``app_result_logits`` back. That checks the whole application (startup, input decoding
or MFCC front end, model, softmax) as built for the device, against the host build of the same C.
With ``count_instructions`` it also counts the executed Thumb instructions of the whole run (startup included) with
a Python block hook: exact, but it makes the emulation several times slower.
"""
from __future__ import annotations

import struct
import time
from dataclasses import dataclass

import numpy as np


@dataclass
class FirmwareRun:
    status: int                  # app_status: 0 when the input was classified
    class_index: int             # app_result_class
    score: float                 # app_result_score
    logits: np.ndarray           # app_result_logits (int8)
    seconds: float               # wall time of the emulation
    instructions: int | None     # executed instructions, when counted


SCS_BASE = 0xE000E000


def _page(n: int) -> int:
    return max(0x1000, (n + 0xFFF) // 0x1000 * 0x1000)


def _thumb_lengths(image: bytes, base: int):
    """A function (address, size) -> number of Thumb instructions in that block of the flash image."""
    halfwords = np.frombuffer(image[:len(image) // 2 * 2], dtype="<u2")
    wide = (halfwords >> 11) >= 0x1D

    cache: dict[tuple[int, int], int] = {}

    def count(address: int, size: int) -> int:
        n = cache.get((address, size))
        if n is None:
            start = (address & ~1) - base
            k, end, n = start >> 1, (start + size) >> 1, 0
            while k < end:
                k += 2 if wide[k] else 1
                n += 1
            cache[(address, size)] = n
        return n
    return count


def emulate_firmware(elf_path, part, num_classes: int, timeout_s: float = 300.0,
                     count_instructions: bool = False) -> FirmwareRun:
    """Run the firmware .elf on ``part`` (a tinyengine_tflite.cortexm part name or Part) until app_done();
    raises RuntimeError when it faults, does not get there within ``timeout_s`` or does not fit the part."""
    from tinyengine_tflite.cortexm import Elf32, get_part
    from unicorn import UC_ARCH_ARM, UC_HOOK_BLOCK, UC_MODE_MCLASS, UC_MODE_THUMB, Uc, UcError
    from unicorn.arm_const import UC_ARM_REG_PC, UC_ARM_REG_SP, UC_CPU_ARM_CORTEX_M4

    part = get_part(part)
    elf = Elf32(elf_path)
    sym = {s.name: s for s in elf.symbols if s.name}
    for name in ("app_done", "app_status", "app_result_class", "app_result_score", "app_result_logits", "_estack"):
        if name not in sym:
            raise RuntimeError(f"{elf_path} has no symbol {name}: not a samples.deploy firmware")
    uc = Uc(UC_ARCH_ARM, UC_MODE_THUMB | UC_MODE_MCLASS)
    uc.ctl_set_cpu_model(UC_CPU_ARM_CORTEX_M4)
    flash_size, sram_size = _page(part.flash_bytes), _page(part.sram_bytes)
    uc.mem_map(part.flash_origin, flash_size)
    uc.mem_map(part.sram_origin, sram_size)
    # The System Control Space as plain memory: startup_cortexm.c writes CPACR there to enable the FPU of
    # hard-float builds (unicorn's Cortex-M4 executes FP instructions either way).
    uc.mem_map(SCS_BASE, 0x1000)
    image = bytearray(flash_size)
    for addr, blob in elf.load_image():
        if not (part.flash_origin <= addr and addr + len(blob) <= part.flash_origin + part.flash_bytes):
            raise RuntimeError(f"{elf_path}: a load segment at {addr:#x} is outside the {part.name}'s flash")
        image[addr - part.flash_origin:addr - part.flash_origin + len(blob)] = blob
    uc.mem_write(part.flash_origin, bytes(image))
    sp, reset = struct.unpack_from("<II", image, 0)
    uc.reg_write(UC_ARM_REG_SP, sp)
    counter = [0]
    if count_instructions:
        lengths = _thumb_lengths(bytes(image), part.flash_origin)

        def on_block(_uc, address, size, _user):
            counter[0] += lengths(address, size)
        uc.hook_add(UC_HOOK_BLOCK, on_block)
    done = sym["app_done"].value & ~1
    t0 = time.perf_counter()
    try:
        uc.emu_start(reset | 1, done, timeout=int(timeout_s * 1e6))
    except UcError as e:
        raise RuntimeError(f"{elf_path}: emulation fault at pc={uc.reg_read(UC_ARM_REG_PC):#x}: {e}") from None
    seconds = time.perf_counter() - t0
    pc = uc.reg_read(UC_ARM_REG_PC)
    if pc != done:
        raise RuntimeError(f"{elf_path}: the firmware did not reach app_done() within {timeout_s:g} s of "
                           f"emulation (stopped at pc={pc:#x})")

    def read(name, fmt):
        return struct.unpack(fmt, uc.mem_read(sym[name].value, struct.calcsize(fmt)))[0]
    logits = np.frombuffer(bytes(uc.mem_read(sym["app_result_logits"].value, num_classes)), dtype=np.int8).copy()
    return FirmwareRun(read("app_status", "<i"), read("app_result_class", "<i"), read("app_result_score", "<f"),
                       logits, seconds, counter[0] if count_instructions else None)
