"""The Thumb-2 timing classifier and the emulator's counts: estimated cycles and per-layer attribution
(tinyengine_tflite.cycle_model, emulator), on encoded instructions and small assembled programs."""
import shutil
import subprocess

import pytest

from tinyengine_tflite.cycle_model import DIVIDE_CYCLES, TAKEN_BRANCH_PENALTY, Instruction, block_cost, classify

needs_arm = pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None,
                               reason="arm-none-eabi-gcc is not installed (apt-get install gcc-arm-none-eabi)")


# Encodings from arm-none-eabi-as (-mcpu=cortex-m4 -mthumb), first halfword then second.
@pytest.mark.parametrize("hw, kind, registers", [
    ((0x1840,), "alu", 0),                    # adds r0, r0, r1
    ((0x4348,), "mul", 0),                    # muls r0, r1, r0
    ((0xFB01, 0x2003), "mul", 0),             # mla r0, r1, r3, r2
    ((0xFB21, 0x2003), "mul", 0),             # smlad r0, r1, r3, r2
    ((0xFA2F, 0xF081), "alu", 0),             # sxtb16 r0, r1
    ((0xF301, 0x0007), "alu", 0),             # ssat r0, #8, r1
    ((0xFB81, 0x0102), "mul", 0),             # smull r0, r1, r1, r2
    ((0xFB91, 0xF0F2), "divide", 0),          # sdiv r0, r1, r2
    ((0xFBB1, 0xF0F2), "divide", 0),          # udiv r0, r1, r2
    ((0x6808,), "load_store", 0),             # ldr r0, [r1]
    ((0x4801,), "load_store", 0),             # ldr r0, [pc, #4]
    ((0x9001,), "load_store", 0),             # str r0, [sp, #4]
    ((0xF851, 0x0B04), "load_store", 0),      # ldr.w r0, [r1], #4
    ((0xF911, 0x0B01), "load_store", 0),      # ldrsb.w r0, [r1], #1
    ((0xF841, 0x0022), "load_store", 0),      # str.w r0, [r1, r2, lsl #2]
    ((0xB530,), "multiple", 3),               # push {r4, r5, lr}
    ((0xBD30,), "multiple", 3),               # pop {r4, r5, pc}
    ((0xC90C,), "multiple", 2),               # ldmia r1!, {r2, r3}
    ((0xE8BD, 0x8FF0), "multiple", 9),        # pop.w {r4-r11, pc}
    ((0xE9D1, 0x2300), "multiple", 2),        # ldrd r2, r3, [r1]
    ((0xD1FC,), "branch", 0),                 # bne.n
    ((0xE7FE,), "branch", 0),                 # b.n
    ((0xB909,), "branch", 0),                 # cbnz r1, ...
    ((0x4770,), "branch", 0),                 # bx lr
    ((0xF000, 0xF800), "branch", 0),          # bl
    ((0xBF18,), "alu", 0),                    # it ne
])
def test_classify(hw, kind, registers):
    ins = classify(*hw)
    assert ins == Instruction(kind, 2 * len(hw), registers)


def test_block_cost_pipelines_neighbouring_loads():
    # ldr r2, [r0]; ldr r3, [r0, #4]; smlad r2, r2, r3, r2; str r2, [r0, #8]; sdiv r0, r1, r2
    code = b"".join(h.to_bytes(2, "little") for h in (0x6802, 0x6843, 0xFB22, 0x2203, 0x6082, 0xFB91, 0xF0F2))
    cost = block_cost(code)
    assert cost.instructions == 5
    assert cost.cycles == 2 + 1 + 1 + 2 + DIVIDE_CYCLES


def _assembled(tmp_path, source: str):
    """An emulated Cortex-M4 running `source` (Thumb assembly) linked at the start of flash."""
    from tinyengine_tflite.emulator import CortexM4
    from tinyengine_tflite.parts import Part
    (tmp_path / "code.s").write_text(source)
    elf = tmp_path / "code.elf"
    r = subprocess.run(["arm-none-eabi-gcc", "-mcpu=cortex-m4", "-mthumb", "-nostdlib", "-nostartfiles",
                        "-Wl,-Ttext=0x08000000", "-Wl,-e,start", str(tmp_path / "code.s"), "-o", str(elf)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return CortexM4(elf, Part("test", sram_bytes=64 * 1024, flash_bytes=64 * 1024))


LOOP_S = """
    .syntax unified
    .cpu cortex-m4
    .thumb
    .text
    .global start
    .global stop
    .thumb_func
start:
    movw r0, #0
    movt r0, #0x2000          @ r0: the start of SRAM
    movs r1, #3
loop:
    ldr r2, [r0]
    ldr r3, [r0, #4]
    smlad r2, r2, r3, r2
    str r2, [r0, #8]
    subs r1, #1
    bne loop
    .thumb_func
stop:
    b stop
"""


@needs_arm
def test_cycles_of_an_assembled_loop(tmp_path):
    """Worked by hand: the first block runs start..bne (movw, movt, movs: 3 cycles; ldr 2, pipelined ldr 1,
    smlad 1, str 2, subs 1, bne 1: 8) = 11, then the branch is taken (+2); the loop block (8 cycles) runs twice,
    taken once more (+2), then falls through to stop: 11 + 2 + 8 + 2 + 8 = 31 cycles, 9 + 6 + 6 = 21
    instructions."""
    cpu = _assembled(tmp_path, LOOP_S)
    run = cpu.run("start", "stop")
    assert run.instructions == 21
    assert run.cycles == 31 == 11 + TAKEN_BRANCH_PENALTY + 8 + TAKEN_BRANCH_PENALTY + 8
    assert run.segments.keys() == {-1}
    again = cpu.run("start", "stop", timeout_s=5)            # a second run counts afresh
    assert (again.instructions, again.cycles) == (21, 31)


MARKED_S = """
    .syntax unified
    .cpu cortex-m4
    .thumb
    .text
    .global start
    .thumb_func
start:
    movs r0, #0
    bl te_layer_begin
    movs r1, #5
    adds r1, #1
    movs r0, #0
    bl te_layer_end
    movs r0, #1
    bl te_layer_begin
    nop
    movs r0, #1
    bl te_layer_end
    .thumb_func
stop:
    b stop
    .thumb_func
te_layer_begin:
    bx lr
    .thumb_func
te_layer_end:
    bx lr
"""


@needs_arm
def test_layer_markers_split_the_counts(tmp_path):
    """Between te_layer_begin(i) and te_layer_end(i) the counts go to layer i (r0): layer 0 runs movs, adds,
    movs, bl and te_layer_end's bx (5); layer 1 nop, movs, bl and bx (4); the rest, outside (-1), is the two
    movs + bl pairs before te_layer_begin and its bx, twice (6)."""
    cpu = _assembled(tmp_path, MARKED_S)
    run = cpu.run("start", "stop", markers=("te_layer_begin", "te_layer_end"))
    assert {k: c.instructions for k, c in run.segments.items()} == {-1: 6, 0: 5, 1: 4}
    assert run.instructions == 15 and sum(c.cycles for c in run.segments.values()) == run.cycles


def test_unicorn_internals_are_version_checked(monkeypatch):
    import unicorn

    from tinyengine_tflite.unicorn_compat import UnicornVersionError, add_native_block_hook
    monkeypatch.setattr(unicorn, "__version__", "3.0.0")
    with pytest.raises(UnicornVersionError, match="unicorn 3.0.0 is installed.*2.1"):
        add_native_block_hook(object(), None, None)
