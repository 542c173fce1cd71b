"""ARG_MAX and ARG_MIN of int8 tensors (int32 and int64 indices, any axis, ties to the first index) against
LiteRT's reference kernels and TFLite Micro (int32 indices: TFLite Micro's ARG_MAX writes no int64), with
equality; the model's output, after an int8 operator or straight from the input; under the sanitizers and on the
emulated Cortex-M4."""
import numpy as np
import pytest
from opgraph import Op, T, graph_model
from reference import assert_equal_bytes, engines, run_litert, run_tflm

import tinyengine_tflite
from tinyengine_tflite.schema import fb

_OUT = {"INT32": fb.TensorType.INT32, "INT64": fb.TensorType.INT64}


def _model(op: str, shape, axis: int, out_type: str, axis_type: str = "INT32", after_add: bool = False) -> bytes:
    """input (int8) [-> ADD of itself] -> op along `axis` -> out_type indices, the graph's only output."""
    rank = len(shape)
    out_shape = tuple(d for k, d in enumerate(shape) if k != axis % rank)
    tensors = [T(shape, "INT8", 0.05, -3), T((1,), axis_type, data=np.array([axis])),
               T(out_shape, out_type), T(shape, "INT8", 0.09, 5)]
    ops = [Op(op, [3 if after_add else 0, 1], [2], {"outputType": _OUT[out_type]})]
    if after_add:
        ops.insert(0, Op("ADD", [0, 0], [3]))
    return graph_model(tensors if after_add else tensors[:3], ops, [0], [2])


def _check(model: bytes, shape, tflm: bool) -> None:
    its = engines(model, tflm)
    for seed in range(4):
        rng = np.random.default_rng(seed)
        span = (-128, 128) if seed < 2 else (-2, 1)      # seeds 2, 3: mostly ties
        x = [rng.integers(*span, shape).astype(np.int8)]
        assert_equal_bytes(_run(its["litert"], x), run_litert(model, x), "litert", seed)
        if tflm:
            assert_equal_bytes(_run(its["tflm"], x), run_tflm(model, x), "tflm", seed)


def _run(it, x):
    it.set_tensor(it.get_input_details()[0]["index"], x[0])
    it.invoke()
    return [it.get_tensor(d["index"]) for d in it.get_output_details()]


CASES = [((1, 5, 7, 3), 3), ((1, 5, 7, 3), 1), ((2, 9), -1), ((3, 1, 4), 1), ((13,), 0), ((2, 3, 4, 5), -3),
         ((4, 6), 0)]


@pytest.mark.parametrize("op", ["ARG_MAX", "ARG_MIN"])
@pytest.mark.parametrize("shape,axis", CASES)
def test_arg_min_max_int32(op, shape, axis):
    _check(_model(op, shape, axis, "INT32"), shape, tflm=True)


@pytest.mark.parametrize("op", ["ARG_MAX", "ARG_MIN"])
@pytest.mark.parametrize("shape,axis", CASES[:4])
def test_arg_min_max_int64(op, shape, axis):
    _check(_model(op, shape, axis, "INT64", axis_type="INT64"), shape, tflm=False)


@pytest.mark.parametrize("out_type", ["INT32", "INT64"])
def test_arg_max_after_an_int8_operator(out_type):
    """After ADD (the index buffer is planned with the activations), and the details tf.lite reports."""
    shape = (1, 6, 5, 4)
    model = _model("ARG_MAX", shape, -1, out_type, after_add=True)
    _check(model, shape, tflm=out_type == "INT32")
    from ai_edge_litert.interpreter import Interpreter as LiteRT
    ours, ref = tinyengine_tflite.Interpreter(model_content=model), LiteRT(model_content=model)
    a, b = ours.get_output_details()[0], ref.get_output_details()[0]
    assert a["dtype"] is b["dtype"] and a["quantization"] == b["quantization"] == (0.0, 0)
    np.testing.assert_array_equal(a["shape"], b["shape"])
    lowered, _ = tinyengine_tflite.compile_model(model)
    assert lowered.layers[-1].kernel == f"te_arg_max_s8_s{out_type[3:]}"
    assert lowered.buffers[lowered.outputs[0].buffer].nbytes == 6 * 5 * int(out_type[3:]) // 8


@pytest.mark.cortexm
@pytest.mark.parametrize("op,out_type", [("ARG_MAX", "INT64"), ("ARG_MIN", "INT32")])
def test_downstream(tmp_path, op, out_type):
    """Planned and reported, sanitizer-clean (every allocation its own object, ASan and UBSan: the int64 index
    is written as two words into a 4-byte aligned buffer) with the plain build's bytes, and the emulated
    Cortex-M4 output equals the host's."""
    from sanitized import SANITIZE, build, input_bytes, run, sanitizer_clean

    from tinyengine_tflite.cortexm import run_on_cortexm
    model = _model(op, (1, 7, 5, 6), 2, out_type, after_add=True)
    src = tmp_path / "src"
    report = tinyengine_tflite.convert(model, src)
    assert [layer.op for layer in report.layers] == ["ADD", op]
    assert report.peak_sram_bytes >= report.lower_bound_bytes > 0 and all(r.live_bytes > 0 for r in report.layers)
    data = np.random.default_rng(0).integers(-3, 3, input_bytes(src)).astype(np.int8).tobytes()
    r, sanitized = run(build(src, tmp_path, "sanitized", SANITIZE), tmp_path, data)
    assert sanitizer_clean(r), r.stderr[-3000:]
    r, plain = run(build(src, tmp_path, "plain", []), tmp_path, data)
    assert r.returncode == 0 and sanitized == plain and len(plain) == 7 * 6 * int(out_type[3:]) // 8
    x = np.frombuffer(data, np.int8).reshape(1, 7, 5, 6)
    assert plain == run_litert(model, [x])[0].tobytes()
    emu = run_on_cortexm(model)
    assert emu.status == "ok" and emu.output_matches_host, (emu.status, emu.reason)
