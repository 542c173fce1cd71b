"""UNIDIRECTIONAL_SEQUENCE_LSTM (TFLite's integer LSTM: int8 activations and weights, int16 cell state), as
tf_keras LSTMs convert with full-integer quantization: bit-exact with LiteRT's reference kernels and, in
reference="tflm" mode, with TFLite Micro, over consecutive invokes (the hidden and cell states carry) and after
a reset; batch-major and time-major, batch 1 and more, return_sequences True and False; and downstream (report,
state outside the arena, a sanitized C program, the emulated Cortex-M4)."""
import shutil
import subprocess

import numpy as np
import pytest
from modelgen import _cached_int8, op_names, patch_model
from test_te_state import MAIN_C, _formula_input
from test_te_svdf import _litert, _run, _run_tflm

import tinyengine_tflite
from tinyengine_tflite.reader import read_model


def lstm_model(units, steps, features, sequences=True, batch=1, time_major=False, layers=1, dense=0,
               seed=0) -> bytes:
    """`layers` Keras LSTMs (units each; all but the last return sequences), an optional Dense of `dense` units,
    converted with full-integer quantization (int8 I/O) from a (batch, steps, features) input. With time_major,
    the LSTMs read that input's first dimension as time (time `batch`, batch `steps`). Cached on disk."""
    def converter(keras, tf):
        x = keras.Input(shape=(steps, features), batch_size=batch, name="in00")
        y = x
        for k in range(layers):
            y = keras.layers.LSTM(units, return_sequences=sequences or k < layers - 1, time_major=time_major)(y)
        if dense:
            y = keras.layers.Dense(dense)(y)
        rng = np.random.default_rng(seed)

        def representative():
            for _ in range(16):
                yield {"in00": rng.normal(0, 1, (batch, steps, features)).astype(np.float32)}
        return tf.lite.TFLiteConverter.from_keras_model(keras.Model(x, y)), representative

    key = ("lstm", units, steps, features, sequences, batch, time_major, layers, dense, seed)
    return _cached_int8(key, converter, f"lstm_u{units}_t{steps}_f{features}", False, seed)


def _inputs(model, n, seed):
    """n int8 inputs: half uniform over the whole range, half the quantized N(0, 1) the model was calibrated on."""
    ref = _litert(model)
    d = ref.get_input_details()[0]
    scale, zp = d["quantization"]
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        if k % 2:
            out.append(rng.integers(-128, 128, d["shape"]).astype(np.int8))
        else:
            q = np.round(rng.normal(0, 1, d["shape"]) / scale) + zp
            out.append(np.clip(q, -128, 127).astype(np.int8))
    return out


def check_invokes(model, n=8, reset_at=5, seed=0):
    """n invokes with a reset before invoke reset_at: ours equals LiteRT (BUILTIN_REF) and ours in tflm mode
    equals TFLM, at every invoke. Then the first input once more, without a reset: the carried state changes
    the output (in both modes). Returns our outputs."""
    from tflite_micro.python.tflite_micro import runtime
    ref, tflm = _litert(model), runtime.Interpreter.from_bytes(model)
    ours = tinyengine_tflite.Interpreter(model_content=model)
    ours_m = tinyengine_tflite.Interpreter(model_content=model, reference="tflm")
    ours.allocate_tensors()
    ours_m.allocate_tensors()
    outs = []
    for k, x in enumerate(_inputs(model, n, seed)):
        if k == reset_at:
            for it in (ours, ours_m, ref):
                it.reset_all_variables()
            tflm.reset()
        got = _run(ours, x)
        np.testing.assert_array_equal(got, _run(ref, x), err_msg=f"litert, invoke {k}")
        np.testing.assert_array_equal(_run(ours_m, x), _run_tflm(tflm, x), err_msg=f"tflm, invoke {k}")
        outs.append(got)
    xs = _inputs(model, 1, seed)
    assert not np.array_equal(_run(ours, xs[0]), outs[0])
    assert not np.array_equal(_run(ours_m, xs[0]), _run_tflm(runtime.Interpreter.from_bytes(model), xs[0]))
    return outs


# (units, steps, features, return_sequences, batch, time_major): awkward sizes, batch-major over several steps
# with 2 rows, and time-major (time = the input's first dimension, batch = its second: one step of 3 rows).
# More (batch 1 over several steps, one batch-major step, time-major over several steps, larger sizes) under
# -m slow.
CASES = [(7, 6, 5, False, 2, False), (5, 3, 3, True, 1, True)]


@pytest.fixture(scope="module", params=CASES, ids=lambda c: "u{}_t{}_f{}_seq{}_b{}_tm{}".format(*c))
def case_model(request):
    units, steps, features, sequences, batch, time_major = request.param
    model = lstm_model(units, steps, features, sequences, batch, time_major, seed=units)
    return request.param, model


def test_lstm_matches_both_references(case_model):
    """Eight invokes with a reset before the sixth: every output equals LiteRT's and (tflm mode) TFLM's; the
    state matters and the outputs are not all saturated."""
    (units, steps, _, sequences, batch, time_major), model = case_model
    names = op_names(model)
    assert "UNIDIRECTIONAL_SEQUENCE_LSTM" in names and ("STRIDED_SLICE" in names) != sequences
    outs = check_invokes(model)
    assert np.mean(np.abs(np.concatenate([o.ravel() for o in outs]).astype(int)) < 127) > 0.5


def test_lstm_references_differ():
    """LiteRT (gemmlowp's fixed-point sigmoid / tanh, float32 multipliers) and TFLM (the interpolated sigmoid
    table, double multipliers) disagree on some outputs of the same model, so matching each in its own mode
    (test_lstm_matches_both_references, test_lstm_more_models) is two different things."""
    from tflite_micro.python.tflite_micro import runtime
    model = lstm_model(5, 4, 3, True, 1, False, seed=5)
    ref, tflm = _litert(model), runtime.Interpreter.from_bytes(model)
    assert sum(int(np.sum(_run(ref, x) != _run_tflm(tflm, x))) for x in _inputs(model, 12, seed=3)) > 0


def test_lstm_state_in_report_outside_arena(tmp_path):
    """Hidden (int8) and cell (int16) state, batch x units each: RAM outside the arena, counted in peak SRAM,
    shown separately in the report. TFLite starts (and resets) an int8 variable tensor at its zero point, not
    at 0: the hidden state's static array is initialized to it, and model_reset_state() writes it back."""
    units, batch = 7, 2
    model = lstm_model(units, 6, 5, False, batch, False, seed=7)
    hidden = next(t for t in read_model(model).tensors if t.is_variable and t.dtype == "int8")
    zp = hidden.qparams()[1]
    assert zp != 0
    report = tinyengine_tflite.convert(model, tmp_path)
    assert report.weight_bytes == 4 * units * (5 + units)          # input and recurrent weights, int8
    assert report.state_bytes == batch * units * (1 + 2)
    assert report.peak_sram_bytes == report.arena_bytes + report.state_bytes
    assert f"state {report.state_bytes} B" in str(report)
    src = (tmp_path / "model.c").read_text()
    assert f"static int16_t te_state_L0_1[{batch * units}];" in src
    assert f"static int8_t te_state_L0_0[{batch * units}] = {{{', '.join([str(zp)] * batch * units)}}};" in src
    assert f"te_state_L0_0[k] = {zp}; }}" in src and "te_state_L0_1[k] = 0; }" in src


@pytest.mark.parametrize("reference", ["litert", pytest.param("tflm", marks=pytest.mark.slow)])
def test_lstm_c_program_sanitized(tmp_path, reference):
    """The generated C (C99, -Wall -Wextra -Werror -pedantic, address and undefined sanitizers) run by
    test_te_state's program (four invokes, model_reset_state(), the same four again) prints the reference's
    outputs for the same sequence."""
    from tflite_micro.python.tflite_micro import runtime
    model = lstm_model(7, 6, 5, False, 2, False, seed=7)
    tinyengine_tflite.convert(model, tmp_path / "c", reference=reference)
    (tmp_path / "c" / "main.c").write_text(MAIN_C)
    exe = tmp_path / "prog"
    r = subprocess.run(["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-O1",
                        "-fsanitize=address,undefined", "-fno-sanitize-recover=all",
                        *map(str, (tmp_path / "c").glob("*.c")), "-o", str(exe)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    run = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    got = [np.array(line.split(), dtype=np.int64) for line in run.stdout.splitlines()]
    shape = tuple(_litert(model).get_input_details()[0]["shape"])
    ref = _litert(model) if reference == "litert" else runtime.Interpreter.from_bytes(model)
    want = []
    for step in range(8):
        if step == 4:
            ref.reset_all_variables() if reference == "litert" else ref.reset()
        x = _formula_input(shape, step)
        want.append((_run(ref, x) if reference == "litert" else _run_tflm(ref, x)).reshape(-1))
    assert len(got) == 8, run.stdout
    for step, (a, b) in enumerate(zip(got, want)):
        np.testing.assert_array_equal(a, b, err_msg=f"invoke {step}")
    np.testing.assert_array_equal(got[4:], got[:4])


def test_lstm_cortex_m4_equals_host():
    """A stacked LSTM + Dense model builds for Cortex-M4 and the emulated output equals the host's."""
    from tinyengine_tflite.cortexm import run_on_cortexm
    if shutil.which("arm-none-eabi-gcc") is None:
        pytest.fail("arm-none-eabi-gcc is not installed")
    model = lstm_model(6, 5, 4, False, 1, False, layers=2, dense=3, seed=2)
    assert op_names(model).count("UNIDIRECTIONAL_SEQUENCE_LSTM") == 2
    run = run_on_cortexm(model, part="stm32f746", seed=1)
    assert run.status == "ok" and run.output_matches_host is True, run


@pytest.mark.slow
def test_benchmark_runs_an_lstm_model():
    """The benchmark against TFLite Micro runs a stacked LSTM model; both sides count the state (TFLM in its
    arena's variable buffers, tinyengine outside the arena, in peak SRAM and in the lower bound)."""
    from tinyengine_tflite.measure import benchmark_model
    r = benchmark_model(lstm_model(6, 5, 4, False, 1, False, layers=2, dense=3, seed=2), name="lstm", repeats=3,
                        warmup=1, latency_budget_s=2, cortexm=False)
    assert r.status == "ok", r.errors
    state = 2 * 6 * (1 + 2)
    assert r.tinyengine.peak_sram_bytes == r.tinyengine.arena_bytes + state
    assert r.tinyengine.lower_bound_bytes >= state and r.sram.tflm_arena_bytes > state
    assert any("variable buffer data' used" in line and f"requested {state} bytes" in line
               for line in r.sram.tflm_allocation_lines)


@pytest.mark.slow
def test_stacked_lstm_with_dense_matches_both_references():
    """Two LSTMs (the first returning sequences) and a Dense: two layers with two states each, all carried and
    reset; every invoke equals both references."""
    model = lstm_model(6, 5, 4, False, 1, False, layers=2, dense=3, seed=2)
    it = tinyengine_tflite.Interpreter(model_content=model)
    assert [len(layer.states) for layer in it._model.layers if layer.states] == [2, 2]
    check_invokes(model, n=6, reset_at=4, seed=4)


@pytest.mark.slow
@pytest.mark.parametrize("case", [(5, 4, 3, True, 1, False), (3, 1, 7, False, 1, False), (5, 2, 3, True, 3, True),
                                  (16, 12, 13, True, 1, False), (11, 8, 9, False, 4, False),
                                  (9, 3, 6, True, 5, True), (32, 20, 10, False, 1, False)],
                         ids=lambda c: "u{}_t{}_f{}_seq{}_b{}_tm{}".format(*c))
def test_lstm_more_models(case):
    """test_lstm_matches_both_references's check on more shapes: batch 1 over several steps, one batch-major
    step, time-major over several steps with 2 to 5 rows, larger units and sequences."""
    units, steps, features, sequences, batch, time_major = case
    check_invokes(lstm_model(units, steps, features, sequences, batch, time_major, seed=units), n=10, reset_at=6)


def _strip_intermediates(m):
    m.subgraphs[0].operators[0].intermediates = []


def _set_input(k, tensor_of):
    """An edit setting the LSTM's input k to tensor_of(op inputs)."""
    def edit(m):
        op = m.subgraphs[0].operators[0]
        op.inputs = [int(t) for t in op.inputs]
        op.inputs[k] = tensor_of(op.inputs)
    return edit


@pytest.mark.parametrize("edit,message", [
    (_set_input(13, lambda ins: -1), r"lacks the required inputs \[13\]"),
    (_set_input(10, lambda ins: ins[13]), "is a peephole LSTM"),
    (_set_input(17, lambda ins: ins[13]), "is a projection LSTM"),
    (_set_input(1, lambda ins: -1), "is a CIFG LSTM"),
    (lambda m: setattr(m.subgraphs[0].tensors[m.subgraphs[0].operators[0].inputs[2]].quantization, "zeroPoint",
                       [3]), "zero point 3"),
    (lambda m: setattr(m.subgraphs[0].tensors[m.subgraphs[0].operators[0].inputs[19]].quantization, "scale",
                       [0.001]), "power of two"),
    (lambda m: setattr(m.subgraphs[0].operators[0].builtinOptions, "fusedActivationFunction", 1),
     "uses TANH"),
    (_strip_intermediates, "fifth intermediate"),
])
def test_lstm_refusals(edit, message):
    """Models the integer kernels cannot run are refused with a message that names the problem."""
    model = patch_model(lstm_model(5, 4, 3, True, 1, False, seed=5), edit)
    with pytest.raises(tinyengine_tflite.ConversionError, match=message):
        tinyengine_tflite.Interpreter(model_content=model)


def _cell(clip, scale):
    """An edit: the LSTM's cell clip and its cell state's scale."""
    def edit(m):
        op = m.subgraphs[0].operators[0]
        op.builtinOptions.cellClip = clip
        m.subgraphs[0].tensors[op.inputs[19]].quantization.scale = [scale]
    return edit


@pytest.mark.slow
@pytest.mark.parametrize("clip,scale", [(0.5, 2.0 ** -14), (0.0, 2.0 ** -11), (3.0, 2.0 ** -12), (0.7, 2.0 ** -15),
                                        (0.0, 2.0 ** -9)])
def test_lstm_cell_clip_and_scale(clip, scale):
    """The cell state clipped (0.5 and 0.7 bind: LiteRT's outputs change), and other power-of-two cell scales
    (the tanh's integer bits in LiteRT, its input shift in TFLM)."""
    base = lstm_model(7, 6, 5, False, 2, False, seed=7)
    model = patch_model(base, _cell(clip, scale))
    check_invokes(model, n=6, reset_at=4, seed=2)
    if 0 < clip < 1:
        clipped, unclipped = _litert(model), _litert(patch_model(base, _cell(0.0, scale)))
        assert any(not np.array_equal(_run(clipped, x), _run(unclipped, x)) for x in _inputs(model, 6, 2))
