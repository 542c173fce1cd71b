"""Malformed and hostile models (issue 14): each is refused with the project's error, naming the model and the
operator or tensor at fault and what is wrong, before any arithmetic; the CLI prints that one line and exits 2."""
import subprocess
import sys

import numpy as np
import pytest
from modelgen import patch_model
from reference import REPO, SUITE_DIR

import tinyengine_tflite
from tinyengine_tflite.errors import ConversionError, UnsupportedOperatorError
from tinyengine_tflite.schema import fb

HELLO = SUITE_DIR / "tflm_hello_world_int8.tflite"        # FULLY_CONNECTED x 3
RESNET = SUITE_DIR / "mlperf_ic_resnet8_int8.tflite"      # CONV_2D 0: inputs [0, 8, 3], output 22; input tensor 0


def _mutant(path, edit) -> bytes:
    return patch_model(path.read_bytes(), lambda m: edit(m, m.subgraphs[0]))


def _refused(data, pattern, cls=ConversionError):
    with pytest.raises(cls, match=pattern) as e:
        tinyengine_tflite.convert(data)
    assert type(e.value) is cls or cls is ConversionError
    return e.value


def _set(obj, **fields):
    for k, v in fields.items():
        setattr(obj, k, v)


def _conv0(sg):
    return sg.operators[0]


@pytest.mark.parametrize("scale", [float("nan"), float("inf"), -float("inf"), 0.0, -0.5])
def test_bad_scales(scale):
    data = _mutant(RESNET, lambda m, sg: _set(sg.tensors[22].quantization, scale=np.array([scale], np.float32)))
    e = _refused(data, r"tensor 22 .*scale .*must be finite and positive")
    assert e.tensor_index == 22 and e.model == "<bytes>"


@pytest.mark.parametrize("inputs, message", [
    ([-1], "input list names tensor -1"), ([999], "input list names tensor 999"),
    ([0, 0], "input list names tensor 0 .* twice"), (None, "no inputs list")])
def test_bad_graph_inputs(inputs, message):
    data = _mutant(RESNET, lambda m, sg: _set(sg, inputs=None if inputs is None else np.array(inputs, np.int32)))
    _refused(data, message)


def test_duplicated_output_and_missing_outputs():
    _refused(_mutant(RESNET, lambda m, sg: _set(sg, outputs=np.array([37, 37], np.int32))),
             "output list names tensor 37 .* twice")
    _refused(_mutant(RESNET, lambda m, sg: _set(sg, outputs=None)), "no outputs list")
    _refused(_mutant(RESNET, lambda m, sg: _set(sg, outputs=np.array([], np.int32))), "no outputs")


@pytest.mark.parametrize("option", ["strideH", "strideW", "dilationHFactor", "dilationWFactor"])
def test_zero_stride_or_dilation(option):
    data = _mutant(RESNET, lambda m, sg: setattr(_conv0(sg).builtinOptions, option, 0))
    _refused(data, r"operator 0 \(CONV_2D\): option \w+ is 0; it must be in \[1, 65535\]")


def test_too_few_inputs_and_required_input_omitted():
    _refused(_mutant(RESNET, lambda m, sg: _set(_conv0(sg), inputs=np.array([0], np.int32))),
             r"operator 0 \(CONV_2D\): has 1 inputs; CONV_2D takes 2 to 3")
    _refused(_mutant(RESNET, lambda m, sg: _set(_conv0(sg), inputs=np.array([0, -1, 3], np.int32))),
             r"operator 0 \(CONV_2D\): input 1 is omitted")
    _refused(_mutant(RESNET, lambda m, sg: _set(_conv0(sg), outputs=np.array([22, 22], np.int32))),
             r"operator 0 \(CONV_2D\): lists output tensor")


def test_float_constant_holding_infinity():
    def edit(m, sg):
        bias = sg.tensors[3]                       # CONV_2D 0's int32 bias: 4-byte values, retyped float32
        bias.type = fb.TensorType.FLOAT32
        d = np.array(m.buffers[bias.buffer].data, np.uint8)
        d[:4] = np.frombuffer(np.float32(-np.inf).tobytes(), np.uint8)
        m.buffers[bias.buffer].data = d
    _refused(_mutant(RESNET, edit), r"tensor 3 .*float constant holding NaN or infinity")


@pytest.mark.parametrize("zp", [1000, -129, 128])
def test_zero_point_outside_int8(zp):
    """TFLite's int8 kernels read an input zero point of 1000 into int32 arithmetic; the engine's kernels pad
    with the zero point as an int8, so it is refused (TFLite's converter never writes one)."""
    data = _mutant(RESNET, lambda m, sg: _set(sg.tensors[0].quantization, zeroPoint=np.array([zp], np.int64)))
    _refused(data, rf"tensor 0 .*zero point {zp}, outside int8's range \[-128, 127\]")


def test_huge_filter_scales_are_refused_not_clamped():
    def edit(m, sg):
        q = sg.tensors[8].quantization
        q.scale = np.full(len(q.scale), 1e30, np.float32)
    _refused(_mutant(RESNET, edit), r"operator 0 \(CONV_2D\): the requantization multiplier .* too large")


@pytest.mark.parametrize("qdim, message", [(4, r"quantized_dimension 4 is outside \[0, 4\)"),
                                           (-1, "quantized_dimension -1"),
                                           (1, "per-axis quantization needs one per element of dimension 1")])
def test_quantized_dimension(qdim, message):
    data = _mutant(RESNET, lambda m, sg: _set(sg.tensors[8].quantization, quantizedDimension=qdim))
    _refused(data, r"tensor 8 .*" + message)


def test_mismatched_zero_point_count():
    data = _mutant(RESNET, lambda m, sg: _set(sg.tensors[8].quantization, zeroPoint=np.zeros(3, np.int64)))
    _refused(data, r"tensor 8 .*scales and 3 zero points")


def test_negative_dimension():
    data = _mutant(RESNET, lambda m, sg: _set(sg.tensors[22], shape=np.array([1, -32, 32, 16], np.int32)))
    _refused(data, r"tensor 22 .*negative dimension")


def test_variable_tensor():
    _refused(_mutant(RESNET, lambda m, sg: _set(sg.tensors[8], isVariable=True)), r"tensor 8 .*is_variable")


def test_unknown_weights_format_and_builtin_code():
    data = _mutant(HELLO, lambda m, sg: _set(sg.operators[1].builtinOptions, weightsFormat=1))
    _refused(data, r"operator 1 \(FULLY_CONNECTED\): weights format 1", UnsupportedOperatorError)

    def unknown(m, sg):
        m.operatorCodes[0].builtinCode = 1000
    _refused(_mutant(HELLO, unknown), r"operator 0 \(BUILTIN_1000\).*not supported", UnsupportedOperatorError)


def test_tensor_over_the_size_limits():
    """A 65536 x 65536 activation (4 GiB) would wrap a 32-bit byte count in the generated C."""
    data = _mutant(HELLO, lambda m, sg: _set(sg.tensors[sg.inputs[0]], shape=np.array([65536, 65536], np.int32)))
    _refused(data, r"shape \[65536, 65536\] of int8 is 4294967296 bytes, more than the engine's limit")
    data = _mutant(HELLO, lambda m, sg: _set(sg.tensors[sg.inputs[0]], shape=np.array([1, 5000, 5000], np.int32)))
    _refused(data, r"25000000 bytes, more than the engine's limit of 16777216 bytes")


def test_accumulator_overflow_is_refused():
    """A bias near INT32_MAX plus the products overflows int32 (undefined in TFLite's kernels and ours)."""
    def edit(m, sg):
        b = m.buffers[sg.tensors[3].buffer]
        v = np.frombuffer(np.array(b.data, np.uint8).tobytes(), np.int32).copy()
        v[5] = 2**31 - 1000
        b.data = np.frombuffer(v.tobytes(), np.uint8)
    _refused(_mutant(RESNET, edit), r"operator 0 \(CONV_2D\): output channel 5: bias 2147482648 .* int32 "
                                    r"accumulator")


def test_tensor_written_twice():
    data = _mutant(RESNET, lambda m, sg: _set(sg.operators[1], outputs=np.array([22], np.int32)))
    _refused(data, r"operator 1 \(CONV_2D\): writes tensor 22 .* which operator 0 already provides")


def test_cli_prints_one_line_and_exits_2(tmp_path):
    bad = tmp_path / "hostile.tflite"
    bad.write_bytes(_mutant(RESNET, lambda m, sg: setattr(_conv0(sg).builtinOptions, "strideH", 0)))
    r = subprocess.run([sys.executable, "-m", "tinyengine_tflite.cli", "convert", str(bad), "-o",
                        str(tmp_path / "c")], capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 2 and r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert "hostile.tflite" in lines[0] and "operator 0 (CONV_2D)" in lines[0] and "stride_h is 0" in lines[0]


def test_paddings_of_the_wrong_shape():
    """PAD's paddings must be [rank, 2] (TFLite's rule); the PAD fusion reads them before any lowering."""
    vww = SUITE_DIR / "mcunet_vww_tinyengine.tflite"          # operator 1 is a PAD, paddings tensor 98

    def edit(m, sg):
        sg.tensors[98].shape = np.array([8], np.int32)
    _refused(_mutant(vww, edit), r"operator 1 \(PAD\): paddings have shape \[8\]; \[4, 2\] is required")


def test_split_count_must_match_its_outputs():
    """Operators added since (SPLIT, UNPACK, ...) get the same generic checks: arity and count options."""
    def edit(m, sg):
        code = fb.OperatorCodeT()
        code.builtinCode = code.deprecatedBuiltinCode = fb.BuiltinOperator.UNPACK
        m.operatorCodes.append(code)
        op = sg.operators[1]
        op.opcodeIndex = len(m.operatorCodes) - 1
        op.builtinOptionsType = fb.BuiltinOptions.UnpackOptions
        op.builtinOptions = fb.UnpackOptionsT()
        op.builtinOptions.num = 3
        op.inputs = op.inputs[:1]
    _refused(_mutant(HELLO, edit), r"operator 1 \(UNPACK\): option num is 3, but the operator has 1 outputs")


def test_quantized_bias_type_must_match_the_bias():
    """LiteRT refuses a CONV_2D whose quantized_bias_type option names another type than its bias."""
    data = _mutant(RESNET, lambda m, sg: setattr(_conv0(sg).builtinOptions, "quantizedBiasType",
                                                 fb.TensorType.INT64))
    _refused(data, r"operator 0 \(CONV_2D\): option quantized_bias_type is INT64, but the bias is int32")


def test_activations_together_over_the_limit():
    """Five 16 MiB activations (each within the one-tensor limit) total 80 MiB: refused before any planning."""
    from opgraph import Op, T, graph_model
    big = (1, 4096, 4096, 1)
    tensors = [T(big, "INT8", 0.1, 0) for _ in range(5)]
    ops = [Op("ADD", [k, k], [k + 1]) for k in range(4)]
    _refused(graph_model(tensors, ops, [0], [4]), r"activation tensors total 83886080 bytes, more than the engine's "
                                                  r"limit of 67108864 bytes")


def _verifier_mutants() -> dict[str, bytes]:
    """Single-byte corruptions that FlatBuffers' verifier catches (LiteRT refuses the file before reading it) but a
    plain bindings reader would read on: a tensor name's length past the buffer, a vtable larger than the buffer,
    a field offset outside its table."""
    import struct

    import tflite
    buf = HELLO.read_bytes()
    tensor = tflite.Model.GetRootAs(buf, 0).Subgraphs(0).Tensors(0)
    tab = tensor._tab
    name_slot = tab.Pos + tab.Offset(10)                     # Tensor.name is field 3: vtable entry 4 + 2 * 3
    name = name_slot + struct.unpack_from("<I", buf, name_slot)[0]
    vtable = tab.Pos - struct.unpack_from("<i", buf, tab.Pos)[0]

    def flip(pos, value):
        b = bytearray(buf)
        b[pos] = value
        return bytes(b)
    return {"string": flip(name + 3, 2), "vtable": flip(vtable, 0xFE), "field": flip(vtable + 5, 2)}


@pytest.mark.parametrize("kind", ["string", "vtable", "field"])
def test_what_the_flatbuffer_verifier_rejects_is_refused(kind):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType
    data = _verifier_mutants()[kind]
    with pytest.raises(ValueError, match="valid Flatbuffer"):
        Interpreter(model_content=data, experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    _refused(data, "corrupt or truncated flatbuffer")
