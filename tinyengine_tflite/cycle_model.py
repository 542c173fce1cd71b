"""Estimated Cortex-M4 cycles: each executed basic block is costed once from its Thumb-2 instructions with the
Cortex-M4 TRM's instruction timings, and the emulator multiplies by how often the block ran.

The model (Cortex-M4 Technical Reference Manual, "Processor instructions" timing table):

- data processing, MUL/MLA/MLS, the DSP instructions (SMLAD, SMLABB, SXTB16, SXTAB16, PKHBT, SSAT, QADD, ...),
  the 64-bit multiplies (SMULL, SMLAL, ...), IT, NOP, floating point: 1 cycle;
- a single load or store (LDR/STR/LDRB/LDRH/LDRSB/..., PC-relative and SP-relative too): 2 cycles, 1 when it
  directly follows another load or store in the same block (the address and data phases pipeline);
- LDM/STM/PUSH/POP/LDRD/STRD/VLDM/VSTM/VPUSH/VPOP: 1 + N cycles for N registers (N = 2 for LDRD/STRD);
- SDIV/UDIV: 2-12 cycles depending on the operands, costed at the midpoint, 7;
- a branch: 1 cycle, plus TAKEN_BRANCH_PENALTY (2: a taken branch costs about 3) when the next block executed
  does not start where this one ends (which the emulator sees: a taken branch, call or return).

Limits: no flash wait states, no caches or flash accelerator, no bus contention (zero-wait-state memory, as a
Cortex-M4 at low clock or running from SRAM); a load's result used by the next instruction costs nothing more;
IT-skipped instructions are costed as if executed (the core issues them); branch penalties are the average 2.
Real silicon at 80-200 MHz with flash wait states runs slower than this estimate unless the code sits in a cache
or in zero-wait-state memory."""
from __future__ import annotations

from dataclasses import dataclass

TAKEN_BRANCH_PENALTY = 2
LOAD_STORE_CYCLES = 2
DIVIDE_CYCLES = 7               # midpoint of SDIV/UDIV's 2-12


@dataclass(frozen=True)
class Instruction:
    kind: str                   # "alu", "mul", "load_store", "multiple", "divide", "branch"
    size: int                   # bytes: 2 or 4
    registers: int = 0          # registers transferred, for "multiple"


def is_wide(halfword: int) -> bool:
    """Whether a Thumb halfword starts a 32-bit instruction (top five bits 0b11101, 0b11110 or 0b11111)."""
    return (halfword >> 11) >= 0x1D


def classify(hw1: int, hw2: int = 0) -> Instruction:
    """The timing class of the Thumb-2 instruction whose first halfword is hw1 (and second hw2 when 32-bit)."""
    if is_wide(hw1):
        return _classify32(hw1, hw2)
    return _classify16(hw1)


def _classify16(hw: int) -> Instruction:
    top5, top4 = hw >> 11, hw >> 12
    if top5 == 0b01001 or (hw >> 12) == 0b0101 or top4 in (0b0110, 0b0111, 0b1000, 0b1001):
        return Instruction("load_store", 2)                     # LDR literal, register, immediate, SP-relative
    if top4 == 0b1100:                                          # STMIA / LDMIA
        return Instruction("multiple", 2, bin(hw & 0xFF).count("1"))
    if (hw & 0xF600) == 0xB400:                                 # PUSH (1011 010x) / POP (1011 110x)
        return Instruction("multiple", 2, bin(hw & 0x1FF).count("1"))
    if (top4 == 0b1101 and ((hw >> 8) & 0xF) < 0xE) or top5 == 0b11100 or (hw & 0xF500) == 0xB100 \
            or (hw & 0xFF00) == 0x4700:
        return Instruction("branch", 2)                         # B<c>, B, CBZ/CBNZ, BX/BLX
    if (hw & 0xFFC0) == 0x4340:
        return Instruction("mul", 2)                            # MULS
    return Instruction("alu", 2)


def _classify32(hw1: int, hw2: int) -> Instruction:
    op1, op2 = (hw1 >> 11) & 0x3, (hw1 >> 4) & 0x7F
    if op1 == 0b01:
        if op2 & 0b1100100 == 0b0000000:                        # LDM/STM (and RFE/SRS)
            return Instruction("multiple", 4, bin(hw2 & 0xFFFF).count("1"))
        if op2 & 0b1100100 == 0b0000100:                        # LDRD/STRD, exclusives, TBB/TBH
            if op2 & 0b0010010:                                 # LDRD/STRD: two registers
                return Instruction("multiple", 4, 2)
            return Instruction("load_store", 4)
        if op2 & 0b1000000:                                     # coprocessor: VLDM/VSTM/VPUSH/VPOP, VLDR/VSTR
            return _coprocessor(hw1, hw2)
        return Instruction("alu", 4)                            # data processing, shifted register
    if op1 == 0b10:
        return Instruction("branch", 4) if hw2 & 0x8000 else Instruction("alu", 4)
    # op1 == 0b11
    if op2 & 0b1000000:
        return _coprocessor(hw1, hw2)
    if op2 & 0b1110001 == 0b0000000 or op2 & 0b1100111 in (0b0000001, 0b0000011, 0b0000101):
        return Instruction("load_store", 4)                     # STR*, LDRB/LDRSB, LDRH/LDRSH, LDR
    if op2 & 0b1111000 == 0b0110000:
        return Instruction("mul", 4)                            # MUL, MLA, MLS, SMLAD, SMLABB, SMUAD, USAD8, ...
    if op2 & 0b1111000 == 0b0111000:
        if (op2 & 0b111) in (0b001, 0b011) and (hw2 >> 4) & 0xF == 0xF:
            return Instruction("divide", 4)                     # SDIV, UDIV
        return Instruction("mul", 4)                            # SMULL, UMULL, SMLAL, UMLAL, ...
    return Instruction("alu", 4)                                # data processing (register), SXTB16, SSAT, ...


def _coprocessor(hw1: int, hw2: int) -> Instruction:
    """Floating point: VLDR/VSTR as a single load/store, VLDM/VSTM/VPUSH/VPOP 1 + N words, the rest 1 cycle."""
    if (hw1 >> 9) & 0x7 == 0b110 and (hw1 >> 5) & 0xF not in (0b0000, 0b0010):  # not MCRR/MRRC
        if (hw1 >> 8) & 0x1 and not (hw1 >> 5) & 0x1:          # P = 1, W = 0: VLDR / VSTR
            return Instruction("load_store", 4)
        return Instruction("multiple", 4, hw2 & 0xFF)
    return Instruction("alu", 4)


def decode(code: bytes) -> list[Instruction]:
    """The instructions of a block of Thumb-2 code (little-endian bytes)."""
    out = []
    k, n = 0, len(code) // 2
    while k < n:
        hw1 = code[2 * k] | code[2 * k + 1] << 8
        if is_wide(hw1) and k + 1 < n:
            out.append(classify(hw1, code[2 * k + 2] | code[2 * k + 3] << 8))
            k += 2
        else:
            out.append(classify(hw1))
            k += 1
    return out


def cycles(instructions: list[Instruction]) -> int:
    """Cycles of a straight run of instructions, without the taken-branch penalty (the emulator adds it)."""
    total, after_load_store = 0, False
    for ins in instructions:
        if ins.kind == "load_store":
            total += 1 if after_load_store else LOAD_STORE_CYCLES
        elif ins.kind == "multiple":
            total += 1 + ins.registers
        elif ins.kind == "divide":
            total += DIVIDE_CYCLES
        else:
            total += 1
        after_load_store = ins.kind == "load_store"
    return total


@dataclass(frozen=True)
class BlockCost:
    instructions: int
    cycles: int                 # without the taken-branch penalty


def block_cost(code: bytes) -> BlockCost:
    ins = decode(code)
    return BlockCost(len(ins), cycles(ins))
