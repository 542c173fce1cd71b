"""Model inputs and outputs of type uint8 and int16 (the QUANTIZE at the model's edges) and int8 -> int8
QUANTIZE inside a graph, against LiteRT's reference kernels and TFLite Micro; the Interpreter's details of
such inputs and outputs equal tf.lite.Interpreter's."""
import numpy as np
import pytest
from ai_edge_litert.interpreter import OpResolverType
from modelgen import _cached_int8
from opgraph import Op, T, graph_model
from reference import run_litert, run_tflm

import tinyengine_tflite
from tinyengine_tflite.compiler import compile_model


def _inputs(details, seed):
    rng = np.random.default_rng(seed)
    out = []
    for d in details:
        info = np.iinfo(d["dtype"])
        out.append(rng.integers(info.min, info.max + 1, tuple(d["shape"])).astype(d["dtype"]))
    return out


def _check(model: bytes, seeds=(0, 1, 2)):
    for reference, run in (("litert", run_litert), ("tflm", run_tflm)):
        it = tinyengine_tflite.Interpreter(model_content=model, reference=reference)
        it.allocate_tensors()
        for seed in seeds:
            xs = _inputs(it.get_input_details(), seed)
            for d, x in zip(it.get_input_details(), xs):
                it.set_tensor(d["index"], x)
            it.invoke()
            ours = [it.get_tensor(d["index"]) for d in it.get_output_details()]
            ref = run(model, xs)
            for a, b in zip(ours, ref):
                assert a.dtype == b.dtype and a.shape == b.shape, (reference, a.dtype, b.dtype)
                np.testing.assert_array_equal(a, b, err_msg=f"{reference}, seed {seed}")


def _edge_model(edge: str, in_q, mid_q, out_q, shape=(1, 5, 7, 3)) -> bytes:
    """edge input -> QUANTIZE -> int8 -> QUANTIZE (int8 -> int8) -> int8 -> QUANTIZE -> edge output."""
    tensors = [T(shape, edge, *in_q), T(shape, "INT8", *mid_q),
               T(shape, "INT8", mid_q[0] * 1.37, max(-128, mid_q[1] - 3)), T(shape, edge, *out_q)]
    ops = [Op("QUANTIZE", [0], [1]), Op("QUANTIZE", [1], [2]), Op("QUANTIZE", [2], [3])]
    return graph_model(tensors, ops, [0], [3])


@pytest.mark.parametrize("in_q,mid_q,out_q", [
    ((0.0078125, 128), (0.0078125, 0), (0.0078125, 128)),     # the converter's usual edge: zero point moves 128
    ((1.0, 0), (1.0, -128), (1.0, 0)),                        # image bytes 0..255
    ((0.0173, 131), (0.021, -7), (0.0302, 97)),               # different scales both ways
    ((0.5, 3), (0.07, 10), (0.003, 250)),                     # saturating
])
def test_uint8_edges(in_q, mid_q, out_q):
    _check(_edge_model("UINT8", in_q, mid_q, out_q))


@pytest.mark.parametrize("in_q,mid_q,out_q", [
    ((1 / 4096, 0), (0.02, -3), (1 / 8192, 0)),
    ((0.37, 0), (0.5, 11), (0.001, 0)),                       # saturating both ways
])
def test_int16_edges(in_q, mid_q, out_q):
    _check(_edge_model("INT16", in_q, mid_q, out_q))


def _uint8_conv(float_output: bool = False):
    def converter(keras, tf):
        x = keras.Input(shape=(9, 11, 3), batch_size=1)
        y = keras.layers.Conv2D(5, 3, strides=2, padding="same", activation="relu")(x)
        model = keras.Model(x, keras.layers.GlobalAveragePooling2D()(y))
        rng = np.random.default_rng(0)

        def representative():
            for _ in range(16):
                yield [rng.uniform(0, 1, (1, 9, 11, 3)).astype(np.float32)]
        conv = tf.lite.TFLiteConverter.from_keras_model(model)
        conv.inference_input_type = tf.uint8
        conv.inference_output_type = tf.float32 if float_output else tf.uint8
        return conv, representative
    # float_io=True: the helper then keeps the edge types set above.
    name = "uint8_in_float_out" if float_output else "uint8_conv"
    return _cached_int8((name, 1), converter, name, True, 0)


def test_converter_uint8_input_float_output():
    """STMicroelectronics' model zoo's edges: uint8 -> QUANTIZE -> int8 ... -> DEQUANTIZE -> float32."""
    from ai_edge_litert.interpreter import Interpreter as LiteRT
    model = _uint8_conv(float_output=True)
    ours = tinyengine_tflite.Interpreter(model_content=model)
    ours.allocate_tensors()
    ref = LiteRT(model_content=model, experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    ref.allocate_tensors()
    assert ours.get_output_details()[0]["dtype"] is np.float32
    for seed in range(3):
        x = np.random.default_rng(seed).integers(0, 256, (1, 9, 11, 3)).astype(np.uint8)
        for it in (ours, ref):
            it.set_tensor(it.get_input_details()[0]["index"], x)
            it.invoke()
        a, b = (it.get_tensor(it.get_output_details()[0]["index"]) for it in (ours, ref))
        np.testing.assert_array_equal(a.view(np.uint32), b.view(np.uint32))
        np.testing.assert_array_equal(a, run_tflm(model, [x])[0])


def test_converter_uint8_model_and_details():
    """The converter's uint8 -> QUANTIZE -> int8 ... int8 -> QUANTIZE -> uint8 model: bit-exact, both edge
    conversions in place, and the Interpreter's input and output details are tf.lite.Interpreter's."""
    from ai_edge_litert.interpreter import Interpreter as LiteRT
    model = _uint8_conv()
    _check(model)
    compiled, sched = compile_model(model)
    edges = [i for i, layer in enumerate(compiled.layers) if layer.op == "QUANTIZE"]
    assert [compiled.layers[i].kernel for i in edges] == ["te_requantize_u8_s8", "te_requantize_s8_u8"]
    assert set(edges) <= set(sched.inplace)
    ours = tinyengine_tflite.Interpreter(model_content=model)
    ref = LiteRT(model_content=model)
    for mine, theirs in ((ours.get_input_details(), ref.get_input_details()),
                         (ours.get_output_details(), ref.get_output_details())):
        assert len(mine) == len(theirs) == 1
        a, b = mine[0], theirs[0]
        assert a["dtype"] is b["dtype"] is np.uint8
        assert (a["index"], a["name"], a["quantization"]) == (b["index"], b["name"], b["quantization"])
        np.testing.assert_array_equal(a["shape"], b["shape"])
        for k in ("scales", "zero_points"):
            qa, qb = a["quantization_parameters"][k], b["quantization_parameters"][k]
            assert qa.dtype == qb.dtype
            np.testing.assert_array_equal(qa, qb)
    ours.allocate_tensors()
    with pytest.raises(ValueError, match="UINT8"):
        ours.set_tensor(ours.get_input_details()[0]["index"], np.zeros((1, 9, 11, 3), np.int8))


def test_unsupported_quantize_pair():
    shape = (1, 4)
    model = graph_model([T(shape, "INT8", 0.1, 0), T(shape, "INT32", 0.1, 0)], [Op("QUANTIZE", [0], [1])], [0], [1])
    with pytest.raises(tinyengine_tflite.errors.ConversionError, match="int8 -> int32"):
        tinyengine_tflite.Interpreter(model_content=model)


# Reads float input 0, runs through the float helpers, writes float output 0; prints the API's view of the I/O.
FLOAT_MAIN_C = r"""
#include <stdio.h>
#include "model.h"

static float x[MODEL_INPUT0_SIZE], y[MODEL_OUTPUT0_SIZE];

int main(int argc, char **argv) {
    FILE *f;
    size_t n_in = (size_t)MODEL_INPUT0_SIZE, n_out = (size_t)MODEL_OUTPUT0_SIZE;
    if (model_input_type[0] == MODEL_TYPE_INT16) n_in /= 2;
    if (model_output_type[0] == MODEL_TYPE_INT16) n_out /= 2;
    if (argc != 3 || (f = fopen(argv[1], "rb")) == NULL || fread(x, sizeof(float), n_in, f) != n_in) return 2;
    fclose(f);
    printf("types %d %d same %d\n", (int)model_input_type[0], (int)model_output_type[0],
           model_input_data(0) == (void *)model_input(0) && model_output_data(0) == (void *)model_output(0));
    printf("set %d ", model_set_input_float(0, x));
    printf("bad %d\n", model_set_input_float(MODEL_NUM_INPUTS, x));
    printf("invoke %d ", model_invoke());
    printf("get %d\n", model_get_output_float(0, y));
    if ((f = fopen(argv[2], "wb")) == NULL || fwrite(y, sizeof(float), n_out, f) != n_out) return 2;
    fclose(f);
    return 0;
}
"""


@pytest.mark.parametrize("edge,in_q,mid_q,out_q,code", [
    ("UINT8", (0.0173, 131), (0.021, -7), (0.0302, 97), 1),
    ("INT16", (1 / 4096, 0), (0.02, -3), (1 / 8192, 0), 2),
])
def test_float_helpers_of_uint8_and_int16_io(tmp_path, edge, in_q, mid_q, out_q, code):
    """A uint8- or int16-I/O model used through the generated float helpers (a host C program, strict C99)
    equals tf.lite (BUILTIN_REF) running the same model between float QUANTIZE and DEQUANTIZE edges: the helpers
    quantize and dequantize with the tensor's own type, and the type table names it."""
    import subprocess
    shape = (1, 5, 7, 3)
    model = _edge_model(edge, in_q, mid_q, out_q, shape)
    tensors = [T(shape, "FLOAT32"), T(shape, edge, *in_q), T(shape, "INT8", *mid_q),
               T(shape, "INT8", mid_q[0] * 1.37, max(-128, mid_q[1] - 3)), T(shape, edge, *out_q),
               T(shape, "FLOAT32")]
    ops = [Op("QUANTIZE", [0], [1]), Op("QUANTIZE", [1], [2]), Op("QUANTIZE", [2], [3]), Op("QUANTIZE", [3], [4]),
           Op("DEQUANTIZE", [4], [5])]
    float_model = graph_model(tensors, ops, [0], [5])
    out = tmp_path / "gen"
    tinyengine_tflite.convert(model, out)
    (tmp_path / "main.c").write_text(FLOAT_MAIN_C)
    exe = tmp_path / "main"
    r = subprocess.run(["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", f"-I{out}",
                        str(tmp_path / "main.c"), *map(str, sorted(out.glob("*.c"))), "-o", str(exe)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    span = np.iinfo(np.uint8 if edge == "UINT8" else np.int16)
    for seed in range(3):
        rng = np.random.default_rng(seed)
        # beyond the range both ways, and exact halves of a step (rounded away from zero)
        lo, hi = (span.min - in_q[1] - 20) * in_q[0], (span.max - in_q[1] + 20) * in_q[0]
        x = rng.uniform(lo, hi, shape).astype(np.float32)
        x.reshape(-1)[::4] = ((rng.integers(-300, 300, x.size)[::4] + 0.5) * in_q[0]).astype(np.float32)
        x.tofile(tmp_path / "in.bin")
        r = subprocess.run([str(exe), str(tmp_path / "in.bin"), str(tmp_path / "out.bin")], capture_output=True,
                           text=True)
        assert r.returncode == 0 and r.stdout.split("\n")[:3] == [f"types {code} {code} same 1", "set 0 bad -1",
                                                                    "invoke 0 get 0"], r.stdout + r.stderr
        got = np.fromfile(tmp_path / "out.bin", np.float32)
        want = run_litert(float_model, [x])[0].reshape(-1)
        np.testing.assert_array_equal(got.view(np.uint32), want.view(np.uint32), err_msg=f"seed {seed}")


@pytest.mark.cortexm
def test_uint8_input_model_emulated_on_cortex_m4():
    """The converter's uint8-I/O model and a uint8 edge model on the emulated Cortex-M4: the random
    input is drawn in each input's type (values above 127 included) and the emulated output equals the host's."""
    from tinyengine_tflite.cortexm import _random_tensor, run_on_cortexm
    spec = compile_model(_uint8_conv())[0].inputs[0]
    x = _random_tensor(np.random.default_rng(0), spec)
    assert x.dtype == np.uint8 and x.max() > 127
    for model in (_uint8_conv(), _edge_model("UINT8", (0.0173, 131), (0.021, -7), (0.0302, 97))):
        r = run_on_cortexm(model)
        assert r.status == "ok" and r.output_matches_host, (r.status, r.reason)
