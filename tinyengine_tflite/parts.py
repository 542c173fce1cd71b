"""Microcontroller memory maps the firmware is built and emulated for."""
from __future__ import annotations

from dataclasses import dataclass


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
DEFAULT_PART = "stm32f746"


def get_part(part) -> Part:
    if isinstance(part, Part):
        return part
    key = str(part).lower()
    if key not in PARTS:
        raise ValueError(f"unknown part {part!r}; known parts: {', '.join(sorted(PARTS))} "
                         "(or pass a tinyengine_tflite.parts.Part)")
    return PARTS[key]


class CortexMError(RuntimeError):
    """A Cortex-M build or emulation failed; the message names the model or firmware."""
