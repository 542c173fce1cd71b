"""ADD, MUL and int8 -> int8 QUANTIZE (requantization) against the TFLite reference kernels.

Models come from the converter (tf_keras graphs) and, where the converter cannot make a variant (chosen
quantization parameters, general broadcasting, constant operands in either position, unsupported variants),
from single_op_model, which writes a one-operator flatbuffer with the schema object API."""
import ctypes
import subprocess
from dataclasses import dataclass
from pathlib import Path

import flatbuffers
import numpy as np
import pytest
from modelgen import int8_tflite, op_names
from reference import assert_bit_exact, run_litert, run_tflm, run_tinyengine

import tinyengine_tflite
from keras_mcunet._tf import keras, tf
from tinyengine_tflite.build import compiler
from tinyengine_tflite.errors import ConversionError, UnsupportedOperatorError
from tinyengine_tflite.ops.elementwise import ADD_LEFT_SHIFT, add_sub_kernel
from tinyengine_tflite.quant import quantize_multiplier
from tinyengine_tflite.schema import fb

L = keras.layers
KERNELS = Path(tinyengine_tflite.__file__).parent / "kernels"

_OPTIONS = {"ADD": "AddOptions", "MUL": "MulOptions", "SOFTMAX": "SoftmaxOptions"}


def single_op_model(op, inputs, output, options=None) -> bytes:
    """A one-operator int8 model. inputs: [(shape, scale, zero_point, constant int8 data or None)], the
    non-constant ones become the model inputs in order; output: (shape, scale, zero_point); options: fields
    of the operator's options table (object API names, e.g. fusedActivationFunction, beta)."""
    m = fb.ModelT()
    m.version = 3
    m.buffers = [fb.BufferT()]
    code = fb.OperatorCodeT()
    code.builtinCode = getattr(fb.BuiltinOperator, op)
    code.deprecatedBuiltinCode = min(code.builtinCode, 127)
    code.version = 1
    m.operatorCodes = [code]
    sg = fb.SubGraphT()
    sg.tensors = []

    def tensor(name, shape, scale, zero_point, data=None):
        t = fb.TensorT()
        t.name = name
        t.shape = list(shape)
        t.type = fb.TensorType.INT8
        t.quantization = fb.QuantizationParametersT()
        t.quantization.scale = [float(scale)]
        t.quantization.zeroPoint = [int(zero_point)]
        buf = fb.BufferT()
        if data is not None:
            buf.data = np.asarray(data, dtype=np.int8).reshape(-1).view(np.uint8).tolist()
        m.buffers.append(buf)
        t.buffer = len(m.buffers) - 1
        sg.tensors.append(t)
        return len(sg.tensors) - 1

    ins = [tensor(f"in{k}", *spec) for k, spec in enumerate(inputs)]
    out = tensor("out", *output)
    o = fb.OperatorT()
    o.opcodeIndex = 0
    o.inputs = ins
    o.outputs = [out]
    if op in _OPTIONS:
        o.builtinOptionsType = getattr(fb.BuiltinOptions, _OPTIONS[op])
        o.builtinOptions = getattr(fb, _OPTIONS[op] + "T")()
        for k, v in (options or {}).items():
            setattr(o.builtinOptions, k, v)
    sg.operators = [o]
    sg.inputs = [t for t, spec in zip(ins, inputs) if spec[3] is None]
    sg.outputs = [out]
    m.subgraphs = [sg]
    b = flatbuffers.Builder(1024)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


# --- converter-made models ------------------------------------------------------------------------------
ADD_CASES = {
    # name: (input shapes, build)
    "add_same": ([(5, 7, 6), (5, 7, 6)], lambda x, y: L.Add()([x, y])),
    "add_relu6": ([(4, 9, 3), (4, 9, 3)], lambda x, y: L.ReLU(6.0)(L.Add()([x, y]))),
    "add_relu_channel_bcast": ([(6, 5, 7), (1, 1, 7)], lambda x, y: L.ReLU()(x + y)),
    "add_channel_bcast_first": ([(1, 1, 7), (6, 5, 7)], lambda x, y: x + y),
    "add_row_bcast": ([(6, 5, 7), (6, 1, 7)], lambda x, y: x + y),
    "add_const_scalar": ([(3, 4, 5)], lambda x: x + 3.0),
    "add_const_vector": ([(3, 4, 5)], lambda x: x + tf.constant(np.linspace(-2, 3, 5, dtype=np.float32))),
}

MUL_CASES = {
    "mul_same": ([(5, 7, 6), (5, 7, 6)], lambda x, y: x * y),
    "mul_se": ([(6, 5, 7), (1, 1, 7)], lambda x, s: x * s),
    "mul_se_gate_first": ([(6, 5, 7), (1, 1, 7)], lambda x, s: s * x),
    "mul_relu": ([(5, 3, 9), (5, 3, 9)], lambda x, y: L.ReLU()(x * y)),
    "mul_const_scalar": ([(3, 4, 5)], lambda x: x * 0.37),
    "mul_const_vector": ([(3, 4, 5)], lambda x: x * tf.constant(np.linspace(-1, 2, 5, dtype=np.float32))),
    # MCUNetV2's squeeze-and-excite gate: relu6(s + 3) / 6 (ADD and MUL with constants), times the features.
    "mul_hard_sigmoid_gate": ([(6, 5, 7), (1, 1, 7)], lambda x, s: x * (L.ReLU(6.0)(s + 3.0) * (1.0 / 6.0))),
}


@pytest.mark.parametrize("case", sorted(ADD_CASES))
def test_add(case):
    shapes, build = ADD_CASES[case]
    model = int8_tflite(build, shapes, case)
    assert "ADD" in op_names(model)
    assert_bit_exact(model)


@pytest.mark.parametrize("case", sorted(MUL_CASES))
def test_mul(case):
    shapes, build = MUL_CASES[case]
    model = int8_tflite(build, shapes, case)
    assert "MUL" in op_names(model)
    assert_bit_exact(model)


def test_residual_adds_run_in_place():
    """Each ADD writes over an operand that dies there; the first ADD's first operand (the block input) is
    still needed by the second ADD, so the lowering swaps the operands to run it in place."""
    def build(x):
        a = L.Conv2D(6, 1, activation="relu6")(x)
        s = L.Add()([x, a])
        b = L.DepthwiseConv2D(3, padding="same")(s)
        return L.Conv2D(5, 1)(L.Add()([b, x]))
    model = int8_tflite(build, [(7, 9, 6)], "residual_adds")
    assert op_names(model).count("ADD") == 2
    lowered, sched = tinyengine_tflite.compile_model(model)
    adds = [i for i, layer in enumerate(lowered.layers) if layer.op == "ADD"]
    assert set(adds) <= sched.inplace
    assert_bit_exact(model)


# --- chosen parameters and shapes -----------------------------------------------------------------------
def _check(model, seeds=(0, 1, 2)):
    """Bit-exact against both references on random inputs of every non-constant input."""
    assert_bit_exact(model, seeds=seeds)


@pytest.mark.parametrize("op", ["ADD", "MUL"])
@pytest.mark.parametrize("shapes", [
    ((2, 3, 1, 5), (1, 3, 4, 1)),      # both operands broadcast, batch 2
    ((4, 1, 3), (2, 1)),               # rank 3 with rank 2
    ((3,), (2, 1, 1, 3)),              # rank 1 with rank 4
    ((1, 5, 4, 1, 1, 3), (2, 1, 1, 6, 1, 3)),  # rank 6 that merges into four dimensions
])
def test_general_broadcast(op, shapes):
    sa, sb = shapes
    out = tuple(np.broadcast_shapes(sa, sb))
    model = single_op_model(op, [(sa, 0.043, -7, None), (sb, 0.011, 25, None)], (out, 0.057, 3),
                            {"fusedActivationFunction": 0})
    _check(model)


@pytest.mark.parametrize("op", ["ADD", "MUL"])
@pytest.mark.parametrize("const_first", [False, True])
def test_constant_operand(op, const_first):
    """A constant operand in either position (passed to the kernel as a const array), fused RELU_N1_TO_1."""
    rng = np.random.default_rng(7)
    const = ((1, 1, 5), 0.021, -11, rng.integers(-128, 128, (1, 1, 5)).astype(np.int8))
    act = (3, 4, 5), 0.0092, 17, None
    ins = [const, act] if const_first else [act, const]
    model = single_op_model(op, ins, ((3, 4, 5), 0.0071, -2), {"fusedActivationFunction": 2})
    _check(model)


@pytest.mark.parametrize("scales", [(0.02, 0.02, 0.04), (0.5, 0.003, 0.25), (0.001, 0.8, 0.0005),
                                    (0.1, 0.1, 0.0003)])
def test_add_scales(scales):
    """Very different input scales, and an output scale finer than both inputs (output shift near 0)."""
    s1, s2, so = scales
    model = single_op_model("ADD", [((3, 11, 5), s1, 40, None), ((3, 11, 5), s2, -90, None)], ((3, 11, 5), so, -5),
                            {"fusedActivationFunction": 0})
    _check(model)


_RNG = np.random.default_rng(11)
# op, (shape, (scale, zp), constant or None) per input, (output scale, zp), options: the two ADD kernels
# (ops/elementwise.add_sub_kernel) side by side: odd lengths, either input of the larger scale (the kernel reads the
# exactly halved one first), equal scales, broadcasting in every position, saturation, fused activations.
ADD_FAST = [
    ("ADD", ((1, 5, 7, 3), (0.05, 3), None), ((1, 5, 7, 3), (0.02, -5), None), (0.06, 2), {}),
    ("ADD", ((1, 5, 7, 3), (0.01, 3), None), ((1, 5, 7, 3), (0.07, -5), None), (0.06, 2), {}),
    ("ADD", ((3, 11), (0.03, -128), None), ((3, 11), (0.03, 127), None), (0.05, 0), {"fusedActivationFunction": 1}),
    ("ADD", ((1, 5, 7, 3), (0.05, 3), None), ((1, 1, 7, 1), (0.09, -5), None), (0.1, -2), {}),
    ("ADD", ((2, 1, 9), (0.3, -128), None), ((1, 4, 1), (0.001, 127), None), (0.25, 0), {}),
    ("ADD", ((1, 1, 1, 3), (0.01, 0), _RNG.integers(-128, 128, (1, 1, 1, 3)).astype(np.int8)),
     ((1, 4, 5, 3), (0.03, 9), None), (0.04, -1), {"fusedActivationFunction": 3}),
    ("ADD", ((1, 6, 13), (0.05, 40), None), ((1, 6, 13), (0.04, -60), None), (0.004, 5), {}),   # saturates
]
ADD_GENERAL = [
    ("ADD", ((1, 4, 9), (0.5, 10), None), ((1, 4, 9), (0.5 * 2.0 ** -23, -7), None), (0.6, 1), {}),  # shift -24
    ("ADD", ((1, 4, 9), (0.02, 10), None), ((1, 4, 9), (0.05, -7), None), (3 * 0.05 / 2 ** 20, 1), {}),  # out shift 0
]


@pytest.mark.parametrize("reference,run", [("litert", run_litert), ("tflm", run_tflm)])
def test_add_kernel_variants(reference, run):
    """te_add_s8 where its preconditions hold, te_add_s8_general elsewhere: both equal each reference."""
    from test_te_binary import _side_by_side, assert_side_by_side

    lowered, _ = tinyengine_tflite.compile_model(_side_by_side(ADD_FAST + ADD_GENERAL))
    assert [layer.kernel for layer in lowered.layers] == \
        ["te_add_s8"] * len(ADD_FAST) + ["te_add_s8_general"] * len(ADD_GENERAL)
    ours = assert_side_by_side(ADD_FAST + ADD_GENERAL, reference, run, seeds=range(2))
    assert np.any(ours[len(ADD_FAST) - 1] == 127) and np.any(ours[len(ADD_FAST) - 1] == -128)   # saturation


@pytest.mark.cortexm
def test_add_kernels_on_cortex_m4(tmp_path):
    """Both ADD kernels built for Cortex-M4 (SMLAL) and emulated give the host's outputs."""
    from test_te_binary import _side_by_side
    from tinyengine_tflite.cortexm import run_on_cortexm

    run = run_on_cortexm(_side_by_side(ADD_FAST + ADD_GENERAL), part="stm32h743", work_dir=tmp_path)
    assert run.status == "ok", run.reason
    assert run.output_matches_host is True


def _add_params(rng, general: bool) -> list[int]:
    """te_add_params / te_sub_params fields after the shape, from random scales as add_sub_params forms them; general:
    input scales 2^22..2^25 apart or an output scale that leaves the output multiplier in [0.5, 1)."""
    s1, s2 = (float(np.float32(10 ** rng.uniform(-4, 0))) for _ in range(2))
    if general and rng.integers(2):
        s2 = float(np.float32(s1 * 2.0 ** -rng.uniform(22, 25)))
    twice_max = 2 * max(s1, s2)
    so = twice_max / 2 ** 20 / rng.uniform(0.5, 1) if general else float(np.float32(10 ** rng.uniform(-4, 0)))
    (m1, sh1), (m2, sh2) = quantize_multiplier(s1 / twice_max), quantize_multiplier(s2 / twice_max)
    mo, sho = quantize_multiplier(min(twice_max / (2 ** 20 * so), 0.999))
    zp1, zp2, zo = (int(v) for v in rng.integers(-128, 128, 3))
    act = (-128, 127) if rng.integers(2) else (zo, 127)
    return [-zp1, -zp2, zo, ADD_LEFT_SHIFT, m1, sh1, m2, sh2, mo, sho, *act]


@dataclass(frozen=True)
class AddSubCase:
    """One call of te_add_s8 / te_sub_s8 over all 65,536 int8 input pairs (input 2 broadcast along rows unless
    same_shape); params: _add_params' list."""
    kernel: str
    struct: object
    first: np.ndarray
    second: np.ndarray
    same_shape: bool
    params: tuple
    what: str


def add_sub_exhaustive_cases(rng, count: int):
    """AddSubCase for `count` random parameter sets where the fast form applies: both kernels (SUB negated or
    not), both operand orders, same-shape and broadcast."""
    a = np.tile(np.arange(-128, 128, dtype=np.int8), 256)
    b = np.repeat(np.arange(-128, 128, dtype=np.int8), 256)
    shapes = [[1, 1, 1, 65536, 0, 0, 0, 1, 0, 0, 0, 1],          # same shape, one row
              [1, 1, 256, 256, 0, 0, 0, 1, 0, 0, 1, 0]]          # input 2 broadcast along rows (stride 0)
    checked = 0
    while checked < count:
        q = _add_params(rng, general=False)
        params = dict(zip(["input1_offset", "input2_offset", "output_offset", "left_shift", "input1_mult",
                           "input1_shift", "input2_mult", "input2_shift", "output_mult", "output_shift"], q))
        if add_sub_kernel(params, "te_add_s8") != "te_add_s8":
            continue
        for shape, (x, y) in ((shapes[0], (a, b)), (shapes[1], (a, b[::256].copy()))):
            for kernel, extra in (("te_add_s8", []), ("te_sub_s8", [0]), ("te_sub_s8", [1])):
                for first, second, fields in ((x, y, q), (y, x, [q[1], q[0], q[2], q[3], *q[6:8], *q[4:6], *q[8:]])):
                    if second.size != 65536 and first is y:
                        continue            # the broadcast operand stays second
                    struct = (ctypes.c_int32 * (12 + len(fields) + len(extra)))(*shape, *fields, *extra)
                    yield AddSubCase(kernel, struct, first, second, shape is shapes[0], tuple(q),
                                     f"{kernel} {fields} {extra} {shape}")
        checked += 1


@pytest.mark.parametrize("opt", ["-O2", "-Os"])
def test_fast_add_sub_equal_general_exhaustively(opt, tmp_path):
    """te_add_s8 / te_sub_s8 (both operand orders, negated or not) equal their general variants, which the tests
    above hold to the references, on every pair of int8 inputs, same-shape and broadcast, for random parameters
    where the fast form applies; -Os builds take the broadcast loop for every row."""
    lib = tmp_path / "libelementwise.so"
    subprocess.run([compiler(), "-std=c99", opt, "-fPIC", "-shared", "-o", str(lib), str(KERNELS / "te_elementwise.c"),
                    str(KERNELS / "te_binary.c")], check=True)
    k = ctypes.CDLL(str(lib))
    ptr = ctypes.POINTER(ctypes.c_int8)
    rng = np.random.default_rng(5)
    for case in add_sub_exhaustive_cases(rng, 24):
        out = [np.zeros(65536, np.int8) for _ in range(2)]
        for fn, o in zip((case.kernel, case.kernel + "_general"), out):
            getattr(k, fn)(case.struct, case.first.ctypes.data_as(ptr), case.second.ctypes.data_as(ptr),
                           o.ctypes.data_as(ptr))
        np.testing.assert_array_equal(out[0], out[1], err_msg=case.what)
    general = [add_sub_kernel(dict(zip(["input1_mult", "input1_shift", "input2_mult", "input2_shift", "left_shift",
                                        "output_shift"], [*q[4:8], q[3], q[9]])), "te_add_s8")
               for q in (_add_params(rng, general=True) for _ in range(20))]
    assert set(general) == {"te_add_s8_general"}


def test_mul_multiplier_follows_reference():
    """LiteRT forms MUL's multiplier as input1_scale * input2_scale / output_scale in float32, TFLM in double.
    For these scales the two multipliers round 8 products to outputs one LSB apart: the default conversion
    equals LiteRT and the reference="tflm" conversion equals TFLM."""
    scales, zps = (0.017173781991004944, 0.04061927646398544, 0.040275104343891144), (18, -20, -19)
    a = np.array([[-55, -55, -33, -33, 69, 69, 91, 91, 5]], dtype=np.int8)
    b = np.array([[-71, 31, -93, 53, -93, 53, -71, 31, 7]], dtype=np.int8)
    model = single_op_model("MUL", [(a.shape, scales[0], zps[0], None), (b.shape, scales[1], zps[1], None)],
                            (a.shape, scales[2], zps[2]), {"fusedActivationFunction": 0})
    litert, tflm = run_litert(model, [a, b])[0], run_tflm(model, [a, b], 1)[0]
    diff = litert.astype(int) - tflm.astype(int)
    assert np.count_nonzero(diff) == 8 and np.abs(diff).max() == 1
    np.testing.assert_array_equal(run_tinyengine(model, [a, b])[0], litert)
    np.testing.assert_array_equal(run_tinyengine(model, [a, b], "tflm")[0], tflm)
    assert_bit_exact(model)


# --- QUANTIZE int8 -> int8 ------------------------------------------------------------------------------
@pytest.mark.parametrize("scales,zps", [((0.02, 0.05), (-3, 40)), ((0.05, 0.007), (100, -128)),
                                        ((0.013, 0.013), (-20, 31)), ((0.3, 0.001), (0, 0))])
def test_requantize(scales, zps):
    """QUANTIZE between int8 tensors (as converters insert before a CONCATENATION): every input value."""
    shape = (1, 4, 64)
    model = single_op_model("QUANTIZE", [(shape, scales[0], zps[0], None)], (shape, scales[1], zps[1]))
    assert op_names(model) == ["QUANTIZE"]
    x = np.arange(-128, 128, dtype=np.int8).reshape(shape)
    ours = run_tinyengine(model, [x])[0]
    np.testing.assert_array_equal(ours, run_litert(model, [x])[0])
    np.testing.assert_array_equal(ours, run_tflm(model, [x], 1)[0])


# --- refused variants -----------------------------------------------------------------------------------
def test_unsupported_fused_activation():
    model = single_op_model("ADD", [((2, 3), 0.1, 0, None), ((2, 3), 0.1, 0, None)], ((2, 3), 0.2, 0),
                            {"fusedActivationFunction": 4})  # TANH
    with pytest.raises(UnsupportedOperatorError, match=r"operator 0 \(ADD\): fused activation 4 is not supported"):
        tinyengine_tflite.compile_model(model)


def test_unsupported_broadcast_rank():
    """Five alternating broadcast dimensions do not merge into the kernel's four."""
    sa, sb = (2, 1, 2, 1, 2), (1, 3, 1, 3, 1)
    model = single_op_model("MUL", [(sa, 0.1, 0, None), (sb, 0.1, 0, None)], ((2, 3, 2, 3, 2), 0.2, 0))
    with pytest.raises(UnsupportedOperatorError, match=r"operator 0 \(MUL\).*more than 4 merged dimensions"):
        tinyengine_tflite.compile_model(model)


def test_refuses_two_constants_and_bad_shapes():
    c = np.ones((1, 4), dtype=np.int8)
    model = single_op_model("ADD", [((1, 4), 0.1, 0, c), ((1, 4), 0.1, 0, c)], ((1, 4), 0.2, 0))
    with pytest.raises(UnsupportedOperatorError, match="both inputs are constant"):
        tinyengine_tflite.compile_model(model)
    model = single_op_model("ADD", [((2, 4), 0.1, 0, None), ((3, 4), 0.1, 0, None)], ((3, 4), 0.2, 0))
    with pytest.raises(ConversionError, match=r"operator 0 \(ADD\).*do not broadcast"):
        tinyengine_tflite.compile_model(model)
