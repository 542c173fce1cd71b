"""State of stateful operators (SVDF) downstream: RAM outside the arena in the generated C, model_reset_state(),
a strict Cortex-M4 build and the emulator; stateless models keep no state."""
import shutil
import subprocess

import numpy as np
import pytest
from opgraph import unary_model
from test_te_svdf import _litert, _run, steps, svdf_model

import tinyengine_tflite

MAIN_C = r"""
#include <stdio.h>
#include "model.h"

/* Invokes 4 times, resets the state, invokes the same 4 inputs again (a formula of step % 4 and position). */
int main(void) {
    int step, i;
    if (model_init(NULL, 0) != MODEL_OK) { return 1; }
    for (step = 0; step < 8; ++step) {
        int8_t *in = model_input(0);
        const int8_t *out;
        if (step == 4 && model_reset_state() != MODEL_OK) { return 2; }
        for (i = 0; i < MODEL_INPUT0_SIZE; ++i) { in[i] = (int8_t)(((i * 37 + (step % 4) * 11) % 256) - 128); }
        if (model_invoke() != MODEL_OK) { return 3; }
        out = model_output(0);
        for (i = 0; i < MODEL_OUTPUT0_SIZE; ++i) { printf("%d ", out[i]); }
        printf("\n");
    }
    return 0;
}
"""


def _formula_input(shape, step):
    i = np.arange(int(np.prod(shape)))
    return (((i * 37 + (step % 4) * 11) % 256) - 128).astype(np.int8).reshape(shape)


def test_c_program_state_and_reset(tmp_path):
    """A C program over the generated folder (C99, -Wall -Wextra -Werror -pedantic, address and undefined
    sanitizers): eight invokes with model_reset_state() after the fourth print LiteRT's outputs for the same
    sequence with reset_all_variables()."""
    model = svdf_model(2, 7, 6, 5, 2, seed=4)
    tinyengine_tflite.convert(model, tmp_path / "c")
    (tmp_path / "c" / "main.c").write_text(MAIN_C)
    srcs = [str(p) for p in (tmp_path / "c").glob("*.c")]
    exe = tmp_path / "prog"
    r = subprocess.run(["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-O1",
                        "-fsanitize=address,undefined", "-fno-sanitize-recover=all", *srcs, "-o", str(exe)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    run = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    got = [np.array(line.split(), dtype=np.int64) for line in run.stdout.splitlines()]
    ref = _litert(model)
    want = []
    for step in range(8):
        if step == 4:
            ref.reset_all_variables()
        want.append(_run(ref, _formula_input((2, 7), step)).reshape(-1))
    assert len(got) == 8, run.stdout
    for step, (a, b) in enumerate(zip(got, want)):
        np.testing.assert_array_equal(a, b, err_msg=f"invoke {step}")
    np.testing.assert_array_equal(got[4:], got[:4])   # the reset restarts the sequence
    assert not np.array_equal(got[1], got[0])


def test_state_downstream_cortex_m4(tmp_path):
    """The SVDF model builds warning-free for Cortex-M4 (-std=c99 -Wall -Wextra -Werror -pedantic), the emulated
    output equals the host's, and the state is counted in the firmware's RAM."""
    from tinyengine_tflite.cortexm import run_on_cortexm
    if shutil.which("arm-none-eabi-gcc") is None:
        pytest.fail("arm-none-eabi-gcc is not installed")
    model = svdf_model(1, 40, 32, 8, 2, seed=2)
    report = tinyengine_tflite.convert(model, tmp_path / "c")
    assert report.state_bytes == 32 * 8 * 2 and report.peak_sram_bytes == report.arena_bytes + 512
    srcs = [str(p) for p in (tmp_path / "c").glob("*.c")]
    r = subprocess.run(["arm-none-eabi-gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic",
                        "-mcpu=cortex-m4", "-mthumb", "-Os", "-c", *srcs], cwd=tmp_path, capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
    run = run_on_cortexm(model, part="stm32f746", seed=1)
    assert run.status == "ok" and run.output_matches_host is True, run


def test_stateless_model_has_no_state(tmp_path):
    """A model without stateful operators: no state, peak SRAM is the arena, the report line is unchanged, and
    model_reset_state() exists and does nothing but return MODEL_OK."""
    model = unary_model("RELU", (1, 4, 4, 3), (0.1, 2), (0.1, 2))
    report = tinyengine_tflite.convert(model, tmp_path)
    assert report.state_bytes == 0 and report.peak_sram_bytes == report.arena_bytes
    assert "state" not in str(report).split("peak SRAM")[1].split("\n")[0]
    src = (tmp_path / "model.c").read_text()
    assert "te_state_" not in src and "int model_reset_state(void) {\n    return MODEL_OK;\n}" in src
    assert "#define MODEL_STATE_BYTES 0" in (tmp_path / "model.h").read_text()


def test_benchmark_runs_a_stateful_model():
    """The benchmark against TFLite Micro runs an SVDF model (TFLM crashes on some too-small arenas of a model
    with variable tensors: the arena search probes those in a child process). Both sides count the state: TFLM
    keeps it in its arena's tail, tinyengine outside the arena, in peak SRAM and in the lower bound."""
    from tinyengine_tflite.measure import benchmark_model
    r = benchmark_model(svdf_model(1, 40, 32, 8, 2, seed=2), name="svdf", repeats=3, warmup=1, latency_budget_s=2,
                        cortexm=False)
    assert r.status == "ok", r.errors
    assert r.tinyengine.peak_sram_bytes == r.tinyengine.arena_bytes + 512
    assert r.tinyengine.lower_bound_bytes >= 512 and r.tinyengine.weight_bytes == 32 * 40 + 32 * 8 * 2
    assert r.sram.tflm_arena_bytes > 512
    assert any("variable buffer data' used 512 bytes" in line for line in r.sram.tflm_allocation_lines)
