"""GATHER (compile-time indices), DEPTH_TO_SPACE and SPACE_TO_DEPTH against the TFLite reference kernels
(LiteRT BUILTIN_REF and TFLite Micro): every axis, negative axes, repeated and reordered indices, index
matrices, block sizes 2 and 3; constants folded."""
import numpy as np
import pytest
from modelgen import int8_tflite, op_names, patch_model
from reference import assert_bit_exact

import tinyengine_tflite
from keras_mcunet._tf import keras, tf
from tinyengine_tflite.ir import Graph, Operator, Tensor
from tinyengine_tflite.lower import lower_graph
from tinyengine_tflite.schema import fb

L = keras.layers

CASES = {
    # name: (input shapes, build, operator expected in the flatbuffer)
    "gather_channels_reorder": ([(4, 5, 6)], lambda x: tf.gather(x, [5, 0, 2, 2], axis=-1), "GATHER"),
    "gather_rows_strided": ([(7, 3, 2)], lambda x: tf.gather(x, [1, 3, 5], axis=1), "GATHER"),
    "gather_cols_matrix": ([(3, 5, 2)], lambda x: tf.gather(x, [[4, 0], [1, 1], [3, 2]], axis=2), "GATHER"),
    "gather_3d_scalar": ([(6, 4)], lambda x: L.Dense(3)(tf.gather(L.Dense(4)(x), 4, axis=1)), "GATHER"),
    "depth_to_space_2": ([(3, 5, 8)], lambda x: tf.nn.depth_to_space(x, 2), "DEPTH_TO_SPACE"),
    "depth_to_space_3": ([(2, 3, 18)], lambda x: tf.nn.depth_to_space(L.Conv2D(18, 1)(x), 3), "DEPTH_TO_SPACE"),
    "space_to_depth_2": ([(6, 4, 3)], lambda x: tf.nn.space_to_depth(x, 2), "SPACE_TO_DEPTH"),
    "space_to_depth_3": ([(3, 9, 2)], lambda x: tf.nn.space_to_depth(x, 3), "SPACE_TO_DEPTH"),
}


def _version_1(m):
    """LiteRT's reference resolver registers DEPTH_TO_SPACE only as version 1, the converter writes version 2 for
    int8; the kernel is the same (it switches on the tensor type), so the version is lowered for LiteRT to load
    the model."""
    for code in m.operatorCodes:
        if max(code.builtinCode, code.deprecatedBuiltinCode) == fb.BuiltinOperator.DEPTH_TO_SPACE:
            code.version = 1


@pytest.mark.parametrize("case", sorted(CASES))
def test_space(case):
    shapes, build, op = CASES[case]
    model = patch_model(int8_tflite(build, shapes, f"space_{case}"), _version_1)
    assert op in op_names(model)
    assert_bit_exact(model)


def test_gather_kernel_choice():
    """Indices in arithmetic progression are a strided copy; others use te_gather_s8."""
    kernels = {}
    for case in ("gather_channels_reorder", "gather_rows_strided"):
        shapes, build, _ = CASES[case]
        lowered, _ = tinyengine_tflite.compile_model(int8_tflite(build, shapes, f"space_{case}"))
        kernels[case] = [layer.kernel for layer in lowered.layers]
    assert kernels == {"gather_channels_reorder": ["te_gather_s8"], "gather_rows_strided": ["te_strided_copy_s8"]}


def _tensor(i, shape, dtype="int8", data=None, q=True):
    return Tensor(i, f"t{i}", tuple(shape), dtype, np.array([0.05], np.float32) if q else None,
                  np.array([3]) if q else None, 0, data)


def test_gather_of_a_shape_folds():
    """SHAPE -> GATHER -> RESHAPE (shape arithmetic) folds: no layer."""
    g = Graph("t", [_tensor(0, (1, 4, 6)), _tensor(1, (3,), "int32", q=False),
                    _tensor(2, (2,), "int32", np.array([2, 1], np.int32), q=False),
                    _tensor(3, (2,), "int32", q=False), _tensor(4, (6, 4))],
              [Operator(0, "SHAPE", [0], [1]), Operator(1, "GATHER", [1, 2], [3], {"axis": 0}),
               Operator(2, "RESHAPE", [0, 3], [4])], [0], [4])
    lowered = lower_graph(g, "t")
    assert lowered.layers == [] and lowered.outputs[0].shape == (6, 4)


def test_gather_index_out_of_range_is_refused():
    g = Graph("t", [_tensor(0, (1, 4)), _tensor(1, (2,), "int32", np.array([0, 4], np.int32), q=False),
                    _tensor(2, (1, 2))], [Operator(0, "GATHER", [0, 1], [2], {"axis": 1})], [0], [2])
    with pytest.raises(tinyengine_tflite.ConversionError, match="GATHER.*outside"):
        lower_graph(g, "t")


def _batched_dilation(model: bytes, pads, crops, block=(2, 2)) -> bytes:
    """The model's one dilated convolution (SAME) rewritten the old converters' way: SPACE_TO_BATCH_ND ->
    the convolution undilated, VALID, on the batched tensor -> BATCH_TO_SPACE_ND."""
    def edit(m):
        sg = m.subgraphs[0]
        conv = sg.operators[0]
        x, y = sg.tensors[conv.inputs[0]], sg.tensors[conv.outputs[0]]
        k_h, k_w = sg.tensors[conv.inputs[1]].shape[1:3]
        (pt, pb), (pl, pr) = pads
        n = block[0] * block[1]
        mid_hw = ((x.shape[1] + pt + pb) // block[0], (x.shape[2] + pl + pr) // block[1])
        out_hw = (mid_hw[0] - k_h + 1, mid_hw[1] - k_w + 1)

        def tensor(like, shape, dtype=None, data=None):
            t = fb.TensorT()
            t.name, t.shape = f"t{len(sg.tensors)}", list(shape)
            t.type = fb.TensorType.INT32 if dtype else like.type
            if like is not None and dtype is None:
                t.quantization = like.quantization
            buf = fb.BufferT()
            if data is not None:
                buf.data = np.asarray(data, np.int32).reshape(-1).view(np.uint8).tolist()
            m.buffers.append(buf)
            t.buffer = len(m.buffers) - 1
            sg.tensors.append(t)
            return len(sg.tensors) - 1
        block_t = tensor(None, (2,), "int32", block)
        pads_t = tensor(None, (2, 2), "int32", pads)
        crops_t = tensor(None, (2, 2), "int32", crops)
        mid = tensor(x, (n, *mid_hw, x.shape[3]))
        conv_out = tensor(y, (n, *out_hw, y.shape[3]))
        codes = {}
        for name in ("SPACE_TO_BATCH_ND", "BATCH_TO_SPACE_ND"):
            code = fb.OperatorCodeT()
            code.builtinCode = code.deprecatedBuiltinCode = getattr(fb.BuiltinOperator, name)
            code.version = 1
            m.operatorCodes.append(code)
            codes[name] = len(m.operatorCodes) - 1

        def op(name, inputs, outputs):
            o = fb.OperatorT()
            o.opcodeIndex, o.inputs, o.outputs = codes[name], inputs, outputs
            return o
        s2b = op("SPACE_TO_BATCH_ND", [conv.inputs[0], block_t, pads_t], [mid])
        b2s = op("BATCH_TO_SPACE_ND", [conv_out, block_t, crops_t], [conv.outputs[0]])
        conv.inputs = [mid] + list(conv.inputs[1:])
        conv.outputs = [conv_out]
        conv.builtinOptions.padding = fb.Padding.VALID
        conv.builtinOptions.dilationHFactor = conv.builtinOptions.dilationWFactor = 1
        sg.operators = [s2b, conv, b2s]
    return patch_model(model, edit)


DILATED = {
    # name: (input shape, build, SPACE_TO_BATCH_ND paddings, BATCH_TO_SPACE_ND crops)
    "conv_odd_height": ((9, 10, 3), lambda x: L.Conv2D(4, 3, dilation_rate=2, padding="same")(x),
                        [[2, 3], [2, 2]], [[0, 1], [0, 0]]),
    "depthwise": ((8, 7, 5), lambda x: L.DepthwiseConv2D(3, dilation_rate=2, padding="same")(x),
                  [[2, 2], [2, 3]], [[0, 0], [0, 1]]),
}


@pytest.mark.parametrize("case", sorted(DILATED))
def test_dilated_convolution_pattern(case):
    """SPACE_TO_BATCH_ND -> convolution -> BATCH_TO_SPACE_ND runs as one dilated convolution (no copies), bit-exact
    with LiteRT's reference kernels running the three operators. TFLite Micro pads SPACE_TO_BATCH_ND with an
    unset value (it varies from run to run), so reference="tflm" refuses the pattern instead of fusing it."""
    shape, build, pads, crops = DILATED[case]
    model = _batched_dilation(int8_tflite(build, [shape], f"space_dilated_{case}"), pads, crops)
    assert op_names(model)[0] == "SPACE_TO_BATCH_ND" and op_names(model)[2] == "BATCH_TO_SPACE_ND"
    lowered, _ = tinyengine_tflite.compile_model(model)
    assert [layer.op for layer in lowered.layers] == [op_names(model)[1]]
    assert_bit_exact(model, tflm=False)
    with pytest.raises(tinyengine_tflite.UnsupportedOperatorError, match="SPACE_TO_BATCH_ND.*dilated"):
        tinyengine_tflite.compile_model(model, reference="tflm")


def test_space_batch_without_padding():
    """SPACE_TO_BATCH_ND and BATCH_TO_SPACE_ND alone (no padding or cropping) are strided copies: a graph of the
    two, with both intermediate results as outputs, against both references."""
    from opgraph import Op, T, graph_model
    block = np.array([2, 3], np.int32)
    zero = np.zeros((2, 2), np.int32)
    q = (0.05, -3)
    model = graph_model([T((1, 4, 9, 3), "INT8", *q), T((2,), "INT32", data=block), T((2, 2), "INT32", data=zero),
                         T((6, 2, 3, 3), "INT8", *q), T((1, 4, 9, 3), "INT8", *q)],
                        [Op("SPACE_TO_BATCH_ND", [0, 1, 2], [3]), Op("BATCH_TO_SPACE_ND", [3, 1, 2], [4])], [0], [3, 4])
    lowered, _ = tinyengine_tflite.compile_model(model)
    assert [layer.kernel for layer in lowered.layers] == ["te_strided_copy_s8"] * 2
    assert_bit_exact(model)
