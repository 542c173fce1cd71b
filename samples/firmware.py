"""Run a sample's Cortex-M firmware (``make arm`` in a deploy folder) on the emulated Cortex-M4
(tinyengine_tflite.emulator, the benchmark's emulator).

The firmware classifies the sample input compiled into its flash and calls ``app_done()``; the emulator runs from
the reset vector to ``app_done`` and reads ``app_status``, ``app_result_class``, ``app_result_score`` and
``app_result_logits`` back. That checks the whole application (startup, input decoding or MFCC front end, model,
softmax) as built for the device, against the host build of the same C. Every run also counts the executed
instructions and estimated cycles of the whole run (startup included).
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

APP_SYMBOLS = ("app_done", "app_status", "app_result_class", "app_result_score", "app_result_logits", "_estack")


@dataclass
class FirmwareRun:
    status: int                  # app_status: 0 when the input was classified
    class_index: int             # app_result_class
    score: float                 # app_result_score
    logits: np.ndarray           # app_result_logits (int8)
    seconds: float               # wall time of the emulation
    instructions: int | None     # executed instructions, when counted
    cycles: int | None = None    # estimated Cortex-M4 cycles, when counted


def emulate_firmware(elf_path, part, num_classes: int, timeout_s: float = 300.0,
                     count_instructions: bool = False) -> FirmwareRun:
    """Run the firmware .elf on ``part`` (a tinyengine_tflite.parts part name or Part) until app_done();
    raises RuntimeError (tinyengine_tflite's CortexMError) when it faults, does not get there within
    ``timeout_s`` or is not a samples.deploy firmware. ``count_instructions``: report the counts."""
    from tinyengine_tflite.emulator import CortexM4

    cpu = CortexM4(elf_path, part)
    missing = [s for s in APP_SYMBOLS if s not in cpu.symbols]
    if missing:
        raise RuntimeError(f"{elf_path} has no symbol {missing[0]}: not a samples.deploy firmware")
    run = cpu.run(None, "app_done", timeout_s=timeout_s)

    def read(name, fmt):
        return struct.unpack(fmt, cpu.read(cpu.address(name), struct.calcsize(fmt)))[0]
    logits = np.frombuffer(cpu.read(cpu.address("app_result_logits"), num_classes), dtype=np.int8).copy()
    return FirmwareRun(read("app_status", "<i"), read("app_result_class", "<i"), read("app_result_score", "<f"),
                       logits, run.seconds, run.instructions if count_instructions else None,
                       run.cycles if count_instructions else None)
