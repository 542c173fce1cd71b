"""SVDF (int8 input and weights_feature, int16 weights_time and state): bit-exact with LiteRT's reference kernel
and, in reference="tflm" mode, TFLite Micro, over consecutive invokes (the state carries) and after a reset."""
import copy

import numpy as np
import pytest
from modelgen import patch_model
from opgraph import T, Op, graph_model

import tinyengine_tflite
from tinyengine_tflite.schema import fb

RELU = 1   # LiteRT's integer SVDF requires a RELU fused activation (and, like TFLM's, does not apply it)


def svdf_model(batches, input_size, filters, memory, rank, seed=0, bias=True, in_q=(0.05, 3), out_q=(0.1, -4),
               activation=RELU) -> bytes:
    """One SVDF with random weights at realistic scales (int16 state of range +-8, time weights of range +-0.25,
    as a KWS model's) and the state as a variable tensor; bias scale state scale * weights_time scale."""
    return svdf_stack(batches, input_size, [(filters, memory, rank)], seed, bias, in_q, out_q, activation)


def svdf_stack(batches, input_size, layers, seed=0, bias=True, in_q=(0.05, 3), out_q=(0.1, -4),
               activation=RELU) -> bytes:
    """SVDFs one after the other, layers: (filters, memory, rank) each (svdf_model's weights and scales)."""
    rng = np.random.default_rng(seed)
    s_wf, s_wt, s_state = 0.004, 2.0 ** -17, 2.0 ** -12
    tensors, ops, states = [T((batches, input_size), "INT8", *in_q)], [], []
    for filters, memory, rank in layers:
        units, x, n = filters // rank, len(tensors) - 1, len(tensors)
        tensors += [T((filters, input_size), "INT8", s_wf, 0, rng.integers(-127, 128, (filters, input_size))),
                    T((filters, memory), "INT16", s_wt, 0, rng.integers(-32767, 32768, (filters, memory))),
                    T((units,), "INT32", float(np.float32(s_state) * np.float32(s_wt)), 0,
                      rng.integers(-2 ** 28, 2 ** 28, units)),
                    T((batches, memory * filters), "INT16", s_state, 0),
                    T((batches, units), "INT8", *out_q)]
        ops.append(Op("SVDF", [x, n, n + 1, n + 2 if bias else -1, n + 3], [n + 4]))
        states.append(n + 3)
        input_size = units
    model = graph_model(tensors, ops, [0], [len(tensors) - 1])

    def edit(m):
        sg = m.subgraphs[0]
        m.operatorCodes[0].version = 3          # the int8 SVDF's version (LiteRT registers it under 3)
        for o, (_, _, rank), t in zip(sg.operators, layers, states):
            sg.tensors[t].isVariable = True
            o.builtinOptionsType = fb.BuiltinOptions.SVDFOptions
            o.builtinOptions = fb.SVDFOptionsT()
            o.builtinOptions.rank = rank
            o.builtinOptions.fusedActivationFunction = activation
    return patch_model(model, edit)


def _litert(model):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType
    it = Interpreter(model_content=model, experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    it.allocate_tensors()
    return it


def _run(it, x) -> np.ndarray:
    it.set_tensor(it.get_input_details()[0]["index"], x)
    it.invoke()
    return it.get_tensor(it.get_output_details()[0]["index"])


def _run_tflm(it, x) -> np.ndarray:
    it.set_input(x, 0)
    it.invoke()
    return it.get_output(0)


def steps(shape, n, seed):
    rng = np.random.default_rng(seed)
    return [rng.integers(-128, 128, shape).astype(np.int8) for _ in range(n)]


# (batches, input_size, filters, memory, rank): rank 1 and 2 (and 3), memory 1 up to 12, several batches
CASES = [(1, 10, 8, 4, 1), (1, 13, 6, 6, 2), (2, 7, 6, 5, 2), (3, 5, 4, 12, 1), (1, 9, 9, 1, 3), (1, 40, 32, 8, 2)]


@pytest.mark.parametrize("case", CASES, ids=lambda c: "b{}_in{}_f{}_m{}_r{}".format(*c))
def test_svdf_state_carries_over_invokes(case):
    """Ten invokes (longer than the memory: old steps leave the state), a reset, four more: every output equals
    LiteRT's, and the reference="tflm" conversion's TFLM's. The outputs depend on the state: the same input
    after different histories gives different outputs."""
    from tflite_micro.python.tflite_micro import runtime
    batches, input_size = case[:2]
    model = svdf_model(*case, seed=sum(case))
    ours, ref = tinyengine_tflite.Interpreter(model_content=model), _litert(model)
    ours_m = tinyengine_tflite.Interpreter(model_content=model, reference="tflm")
    ours.allocate_tensors()
    ours_m.allocate_tensors()
    tflm = runtime.Interpreter.from_bytes(model)
    xs = steps((batches, input_size), 14, seed=case[2])
    outs = []
    for k, x in enumerate(xs):
        if k == 10:
            ours.reset_all_variables()
            ours_m.reset_all_variables()
            ref.reset_all_variables()
            tflm.reset()
        got, want = _run(ours, x), _run(ref, x)
        np.testing.assert_array_equal(got, want, err_msg=f"litert, invoke {k}")
        np.testing.assert_array_equal(_run(ours_m, x), _run_tflm(tflm, x), err_msg=f"tflm, invoke {k}")
        outs.append(got)
    # a meaningful range: not all saturated
    assert np.mean(np.abs(np.concatenate(outs).astype(int)) < 127) > 0.5
    if case[3] > 1:
        # the same input after another history: the state matters
        again = tinyengine_tflite.Interpreter(model_content=model)
        again.allocate_tensors()
        assert not np.array_equal(_run(again, xs[1]), outs[1])


def test_svdf_reset_restarts_the_sequence():
    """After reset_all_variables() the outputs repeat the first invokes' exactly (the state starts at zero)."""
    model = svdf_model(1, 12, 8, 5, 2, seed=7)
    it = tinyengine_tflite.Interpreter(model_content=model)
    it.allocate_tensors()
    xs = steps((1, 12), 6, seed=3)
    first = [_run(it, x) for x in xs]
    it.reset_all_variables()
    np.testing.assert_array_equal([_run(it, x) for x in xs], first)
    assert not np.array_equal(_run(it, xs[0]), first[0])


def test_svdf_without_bias_and_zero_points():
    """No bias (-1) and nonzero input / output zero points, against LiteRT over several invokes."""
    model = svdf_model(2, 6, 4, 3, 2, seed=5, bias=False, in_q=(0.07, -17), out_q=(0.05, 9))
    ours, ref = tinyengine_tflite.Interpreter(model_content=model), _litert(model)
    ours.allocate_tensors()
    for k, x in enumerate(steps((2, 6), 6, seed=11)):
        np.testing.assert_array_equal(_run(ours, x), _run(ref, x), err_msg=f"invoke {k}")


def test_svdf_state_in_report_outside_arena():
    """The state (batches * memory * filters int16) is RAM outside the arena: counted in peak SRAM, shown
    separately in the report, declared as its own static array and cleared by model_reset_state()."""
    import tempfile
    from pathlib import Path
    model = svdf_model(2, 7, 6, 5, 2)
    with tempfile.TemporaryDirectory() as d:
        report = tinyengine_tflite.convert(model, d)
        src = (Path(d) / "model.c").read_text()
        header = (Path(d) / "model.h").read_text()
    assert report.state_bytes == 2 * 5 * 6 * 2
    assert report.peak_sram_bytes == report.arena_bytes + report.state_bytes
    assert "state 120 B" in str(report)
    assert "static int16_t te_state_L0_0[60];" in src and "int model_reset_state(void);" in header
    assert "#define MODEL_STATE_BYTES 120" in header


@pytest.mark.parametrize("edit,message", [
    (lambda m: setattr(m.subgraphs[0].tensors[4], "isVariable", False), "not a variable tensor"),
    (lambda m: setattr(m.subgraphs[0].operators[0].builtinOptions, "rank", 4), "rank 4 does not divide"),
    (lambda m: setattr(m.subgraphs[0].tensors[4].quantization, "zeroPoint", [5]), "zero point 5"),
])
def test_svdf_refusals(edit, message):
    model = patch_model(svdf_model(1, 6, 6, 3, 2), edit)
    with pytest.raises(tinyengine_tflite.ConversionError, match=message):
        tinyengine_tflite.Interpreter(model_content=model)


def _shared_state(m):
    """A second SVDF reading the first one's state."""
    sg = m.subgraphs[0]
    o = copy.deepcopy(sg.operators[0])
    o.outputs = [len(sg.tensors)]
    sg.tensors.append(copy.deepcopy(sg.tensors[5]))
    sg.operators.append(o)


@pytest.mark.parametrize("tensor,edit", [
    (0, lambda m: setattr(m.subgraphs[0].tensors[0], "isVariable", True)),     # SVDF's input
    (2, lambda m: setattr(m.subgraphs[0].tensors[2], "isVariable", True)),     # a constant (weights_time)
    (4, _shared_state),                                                         # one state read by two SVDFs
])
def test_variable_tensor_elsewhere_refused(tensor, edit):
    """A variable tensor that is not the state input of exactly one SVDF is still refused, by index."""
    model = patch_model(svdf_model(1, 6, 6, 3, 2), edit)
    with pytest.raises(tinyengine_tflite.ConversionError, match=rf"tensor {tensor} .*is_variable"):
        tinyengine_tflite.Interpreter(model_content=model)


def test_stacked_svdf_keeps_one_state_each():
    """Three SVDFs in a row (a KWS model's shape): three states, each its own static array, all carried and all
    reset; every invoke equals LiteRT's and TFLM's. The activations between them are planned in the arena."""
    from tflite_micro.python.tflite_micro import runtime
    layers = [(24, 6, 2), (16, 4, 1), (9, 3, 3)]
    model = svdf_stack(1, 20, layers, seed=9, out_q=(0.01, 0))
    ours, ref = tinyengine_tflite.Interpreter(model_content=model), _litert(model)
    ours_m = tinyengine_tflite.Interpreter(model_content=model, reference="tflm")
    ours.allocate_tensors()
    ours_m.allocate_tensors()
    tflm = runtime.Interpreter.from_bytes(model)
    assert [len(layer.states) for layer in ours._model.layers] == [1, 1, 1]
    assert ours._model.state_bytes == 2 * (24 * 6 + 16 * 4 + 9 * 3)
    for k, x in enumerate(steps((1, 20), 9, seed=4)):
        if k == 6:
            for it in (ours, ours_m, ref):
                it.reset_all_variables()
            tflm.reset()
        np.testing.assert_array_equal(_run(ours, x), _run(ref, x), err_msg=f"litert, invoke {k}")
        np.testing.assert_array_equal(_run(ours_m, x), _run_tflm(tflm, x), err_msg=f"tflm, invoke {k}")
