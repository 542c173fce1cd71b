"""TRANSPOSE_CONV against the TFLite reference kernels (LiteRT BUILTIN_REF and TFLite Micro): strides 1 to 3,
SAME and VALID padding, kernels larger and smaller than the stride, odd sizes, with and without bias, a fused
activation."""
import numpy as np
import pytest
from modelgen import first_op, int8_tflite, op_names, patch_model
from reference import assert_bit_exact

from keras_mcunet._tf import keras
from tinyengine_tflite.schema import fb

L = keras.layers


def _tconv(filters, k, stride, padding="same", **kw):
    return lambda x: L.Conv2DTranspose(filters, k, strides=stride, padding=padding, **kw)(x)


CASES = {
    # name: (input shape, build)
    "k3_s2_same": ((5, 4, 3), _tconv(4, 3, 2)),
    "k2_s2_same": ((4, 5, 6), _tconv(3, 2, 2)),
    "k3_s2_valid": ((5, 3, 2), _tconv(5, 3, 2, "valid")),
    "k4_s3_valid_rect": ((3, 4, 3), _tconv(2, (4, 2), (3, 2), "valid")),
    "k5_s1_same": ((6, 7, 3), _tconv(4, 5, 1)),
    "k1_s3_same_no_bias": ((4, 3, 5), _tconv(3, 1, 3, use_bias=False)),
    "k3_s2_relu": ((5, 5, 4), _tconv(6, 3, 2, activation="relu")),
    "after_conv": ((7, 6, 3), lambda x: L.Conv2DTranspose(3, 3, strides=2, padding="same")(L.Conv2D(5, 3)(x))),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_transpose_conv(case):
    shape, build = CASES[case]
    model = int8_tflite(build, [shape], f"tconv_{case}")
    assert "TRANSPOSE_CONV" in op_names(model)
    assert_bit_exact(model)


@pytest.mark.parametrize("activation", ["NONE", "RELU"])
def test_transpose_conv_bias_and_fused_activation(activation):
    """The converter drops a zero bias and emits a separate RELU: a non-zero per-channel bias (the fourth input)
    and a fused activation are patched in."""
    shape, build = CASES["k3_s2_same"]
    base = int8_tflite(build, [shape], "tconv_k3_s2_same")

    def edit(m):
        sg = m.subgraphs[0]
        op = sg.operators[0]
        filt = sg.tensors[op.inputs[1]]
        scales = np.float32(sg.tensors[op.inputs[2]].quantization.scale[0]) * np.asarray(filt.quantization.scale,
                                                                                           np.float32)
        bias = np.random.default_rng(0).integers(-3000, 3000, filt.shape[0]).astype(np.int32)
        buf = fb.BufferT()
        buf.data = bias.view(np.uint8).tolist()
        m.buffers.append(buf)
        t = fb.TensorT()
        t.name, t.shape, t.type, t.buffer = "bias", [int(filt.shape[0])], fb.TensorType.INT32, len(m.buffers) - 1
        t.quantization = fb.QuantizationParametersT()
        t.quantization.scale = [float(s) for s in scales]
        t.quantization.zeroPoint = [0] * len(scales)
        sg.tensors.append(t)
        op.inputs = list(op.inputs) + [len(sg.tensors) - 1]
        op.builtinOptions.fusedActivationFunction = getattr(fb.ActivationFunctionType, activation)
    model = patch_model(base, edit)
    assert len(first_op(model, "TRANSPOSE_CONV").inputs) == 4
    assert_bit_exact(model)
