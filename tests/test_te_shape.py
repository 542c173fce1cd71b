"""Data movement and folded shape arithmetic against the TFLite reference kernels: RESHAPE / SQUEEZE /
EXPAND_DIMS (aliases), PAD / PADV2, TRANSPOSE, STRIDED_SLICE, CONCATENATION, PACK, RESIZE_NEAREST_NEIGHBOR,
and SHAPE / STRIDED_SLICE / PACK folded into a RESHAPE's new shape."""
import numpy as np
import pytest
from modelgen import first_op, int8_tflite, op_model, op_names, patch_model
from reference import assert_bit_exact

import tinyengine_tflite
from keras_mcunet._tf import keras, tf
from tinyengine_tflite.ir import Graph, Operator, Tensor
from tinyengine_tflite.lower import lower_graph

L = keras.layers


def layer_ops(model: bytes) -> list[str]:
    lowered, _ = tinyengine_tflite.compile_model(model)
    return [layer.op for layer in lowered.layers]


CASES = {
    # name: (input shapes, build, operator expected in the flatbuffer)
    "reshape_in_out": ([(4, 15)], lambda x: L.Flatten()(L.Conv2D(3, 1)(L.Reshape((4, 5, 3))(x))), "RESHAPE"),
    "reshape_only": ([(4, 15)], lambda x: L.Reshape((6, 10))(x), "RESHAPE"),
    "squeeze_expand": ([(1, 5, 3)],
                       lambda x: L.Conv2D(2, 1)(tf.expand_dims(L.Dense(3)(tf.squeeze(L.Conv2D(4, 1)(x), axis=1)), 2)),
                       "RESHAPE"),
    "pad_asym": ([(5, 7, 3)], lambda x: L.ZeroPadding2D(((1, 2), (3, 0)))(x), "PAD"),
    "pad_all_dims": ([(4, 3, 5)], lambda x: tf.pad(L.Conv2D(3, 1)(x), [[0, 0], [0, 2], [1, 1], [2, 1]]), "PAD"),
    "padv2_value": ([(5, 7, 3)], lambda x: tf.pad(x, [[0, 0], [1, 0], [2, 1], [0, 2]], constant_values=0.5),
                    "PADV2"),
    "transpose_nchw": ([(4, 5, 6)], lambda x: tf.transpose(x, [0, 3, 1, 2]), "TRANSPOSE"),
    "transpose_hw": ([(4, 5, 7)], lambda x: tf.transpose(x, [0, 2, 1, 3]), "TRANSPOSE"),
    "transpose_3d": ([(6, 9)], lambda x: tf.transpose(L.Dense(5)(x), [0, 2, 1]), "TRANSPOSE"),
    "slice_rows": ([(6, 5, 3)], lambda x: x[:, 1:4], "STRIDED_SLICE"),
    "slice_op": ([(6, 5, 4)], lambda x: tf.slice(x, [0, 1, 2, 1], [1, 4, -1, 2]), "SLICE"),
    "slice_neg_stride_shrink": ([(6, 5, 4)], lambda x: [x[:, ::-2, 1:], x[:, 2], x[..., 1::2]], "STRIDED_SLICE"),
    "concat_channels": ([(4, 5, 3), (4, 5, 6)], lambda a, b: L.Concatenate()([L.Conv2D(4, 1)(a), b]),
                        "CONCATENATION"),
    "concat_axis1_three": ([(2, 5, 3), (3, 5, 3)], lambda a, b: L.Concatenate(axis=1)([b, a, b]), "CONCATENATION"),
    "concat_axis_neg2_3d": ([(3, 4), (5, 4)], lambda a, b: tf.concat([L.Dense(4)(a), b], axis=-2), "CONCATENATION"),
    "concat_const": ([(4, 5, 3)], lambda a: tf.concat([a, tf.ones((1, 4, 2, 3)) * 0.3], axis=2), "CONCATENATION"),
    "pack_axis2": ([(4, 5), (4, 5)], lambda a, b: tf.stack([a, b], axis=2), "PACK"),
    "pack_axis1_three": ([(7,), (7,)], lambda a, b: tf.stack([a, b, a], axis=1), "PACK"),
    "upsample2": ([(4, 5, 3)], lambda x: L.UpSampling2D(2)(x), "RESIZE_NEAREST_NEIGHBOR"),
    "resize_half_pixel": ([(7, 5, 3)], lambda x: tf.image.resize(x, (10, 13), method="nearest"),
                          "RESIZE_NEAREST_NEIGHBOR"),
    "resize_down": ([(7, 5, 3)], lambda x: tf.image.resize(x, (3, 4), method="nearest"), "RESIZE_NEAREST_NEIGHBOR"),
    "resize_align_corners": ([(7, 5, 3)],
                             lambda x: tf.compat.v1.image.resize_nearest_neighbor(x, (10, 13), align_corners=True),
                             "RESIZE_NEAREST_NEIGHBOR"),
    "resize_v1_plain": ([(4, 5, 3)], lambda x: tf.compat.v1.image.resize_nearest_neighbor(x, (9, 7)),
                        "RESIZE_NEAREST_NEIGHBOR"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_data_movement(case):
    shapes, build, op = CASES[case]
    assert_bit_exact(op_model(build, shapes, f"shape_{case}", op))


def test_reshape_is_an_alias():
    """RESHAPE needs no kernel, also on a model input and as the model output."""
    shapes, build, _ = CASES["reshape_in_out"]
    model = int8_tflite(build, shapes, "shape_reshape_in_out")
    assert op_names(model).count("RESHAPE") == 2
    assert layer_ops(model) == ["CONV_2D"]
    shapes, build, _ = CASES["reshape_only"]
    assert layer_ops(int8_tflite(build, shapes, "shape_reshape_only")) == []


def test_shape_arithmetic_is_folded():
    """tf.reshape(x, [tf.shape(x)[0], ...]) with a dynamic batch: SHAPE -> STRIDED_SLICE -> PACK -> RESHAPE
    (as in TinyMaix's MobileNet) folds at compile time; only the convolutions remain."""
    def build(x):
        y = L.Conv2D(4, 3)(x)
        y = tf.reshape(y, [tf.shape(y)[0], 1, 12, 4])
        return L.Conv2D(3, 1)(y)
    model = int8_tflite(build, [(5, 6, 3)], "shape_fold", dynamic_batch=True)
    names = op_names(model)
    assert {"SHAPE", "STRIDED_SLICE", "PACK", "RESHAPE"} <= set(names)
    assert layer_ops(model) == ["CONV_2D", "CONV_2D"]
    assert_bit_exact(model)


def _tensor(i, shape, dtype="int8", data=None, q=True):
    return Tensor(i, f"t{i}", tuple(shape), dtype, np.array([0.05], np.float32) if q else None,
                  np.array([3]) if q else None, 0, data)


def test_transpose_of_unit_dimensions_is_an_alias():
    """A permutation that moves only size-1 dimensions keeps the bytes in order: no kernel."""
    perm = np.array([0, 3, 1, 2], np.int32)
    g = Graph("t", [_tensor(0, (1, 1, 1, 7)), _tensor(1, (4,), "int32", perm, q=False), _tensor(2, (1, 7, 1, 1))],
              [Operator(0, "TRANSPOSE", [0, 1], [2])], [0], [2])
    lowered = lower_graph(g, "t")
    assert lowered.layers == [] and lowered.outputs[0].buffer == lowered.inputs[0].buffer
    assert lowered.outputs[0].shape == (1, 7, 1, 1)


def test_constant_operators_fold():
    """Data movement of constants folds: PAD, TRANSPOSE and RESHAPE of a constant feed a CONCATENATION as its
    constant operand, and no layer is emitted for them."""
    c = np.arange(6, dtype=np.int8).reshape(1, 2, 3)
    g = Graph("t", [_tensor(0, (1, 3, 4)), _tensor(1, (1, 2, 3), data=c), _tensor(2, (3, 2), "int32",
                    np.array([[0, 0], [0, 1], [1, 0]], np.int32), q=False), _tensor(3, (1, 3, 4)),
                    _tensor(4, (3,), "int32", np.array([0, 2, 1], np.int32), q=False), _tensor(5, (1, 4, 3)),
                    _tensor(6, (3,), "int32", np.array([1, 3, 4], np.int32), q=False), _tensor(7, (1, 3, 4)),
                    _tensor(8, (1, 3, 8))],
              [Operator(0, "PAD", [1, 2], [3]), Operator(1, "TRANSPOSE", [3, 4], [5]),
               Operator(2, "RESHAPE", [5, 6], [7]),
               Operator(3, "CONCATENATION", [0, 7], [8], {"axis": 2, "fused_activation_function": 0})], [0], [8])
    lowered = lower_graph(g, "t")
    assert [layer.op for layer in lowered.layers] == ["CONCATENATION"]
    blob = next(k for k in lowered.layers[0].consts if k.name == "blob")
    expect = np.pad(c, [[0, 0], [0, 1], [1, 0]], constant_values=3).transpose(0, 2, 1).reshape(-1)
    assert np.array_equal(blob.data, expect)


def test_concat_quantization_mismatch_is_refused():
    shapes, build, _ = CASES["concat_channels"]
    base = int8_tflite(build, shapes, "shape_concat_channels")
    in_t = first_op(base, "CONCATENATION").inputs[1]

    def edit(m):
        m.subgraphs[0].tensors[in_t].quantization.scale = [0.5]
    with pytest.raises(tinyengine_tflite.UnsupportedOperatorError, match="CONCATENATION.*quantization"):
        tinyengine_tflite.compile_model(patch_model(base, edit))


def test_pad_non_constant_paddings_is_refused():
    shapes, build, _ = CASES["pad_asym"]
    base = int8_tflite(build, shapes, "shape_pad_asym")
    pad_t = first_op(base, "PAD").inputs[1]

    def edit(m):
        m.subgraphs[0].tensors[pad_t].buffer = 0
    with pytest.raises(tinyengine_tflite.UnsupportedOperatorError, match="PAD.*paddings.*constant"):
        tinyengine_tflite.compile_model(patch_model(base, edit))


def test_constant_subgraphs_fold():
    """FILL (dims from SHAPE), ZEROS_LIKE of an activation, ONES_LIKE, CAST of a constant and SLICE of a constant
    fold: only the CONCATENATION that takes them as constant operands remains."""
    g = Graph("t", [_tensor(0, (1, 2, 3)), _tensor(1, (3,), "int32", q=False),
                    _tensor(2, (), "int8", np.array(-7, np.int8)), _tensor(3, (1, 2, 3)), _tensor(4, (1, 2, 3)),
                    _tensor(5, (1, 2, 3), "float32", np.array([[[1.9, -2.7, 3], [0, 4.5, -0.2]]], np.float32),
                            q=False),
                    _tensor(6, (1, 2, 3)), _tensor(7, (1, 2, 5), data=np.arange(10, dtype=np.int8).reshape(1, 2, 5)),
                    _tensor(8, (3,), "int32", np.array([0, 0, 1], np.int32), q=False),
                    _tensor(9, (3,), "int32", np.array([1, -1, 3], np.int32), q=False), _tensor(10, (1, 2, 3)),
                    _tensor(11, (1, 2, 3)), _tensor(12, (1, 2, 18))],
              [Operator(0, "SHAPE", [0], [1]), Operator(1, "FILL", [1, 2], [3]), Operator(2, "ZEROS_LIKE", [0], [4]),
               Operator(3, "CAST", [5], [6]), Operator(4, "SLICE", [7, 8, 9], [10]),
               Operator(5, "ONES_LIKE", [0], [11]),
               Operator(6, "CONCATENATION", [0, 3, 4, 6, 10, 11], [12], {"axis": 2, "fused_activation_function": 0})],
              [0], [12])
    lowered = lower_graph(g, "t")
    assert [layer.op for layer in lowered.layers] == ["CONCATENATION"]
    blob = next(k for k in lowered.layers[0].consts if k.name == "blob").data.reshape(5, 2, 3)
    assert blob[0].tolist() == [[-7] * 3] * 2
    assert blob[1].tolist() == [[0] * 3] * 2
    assert blob[2].tolist() == [[1, -2, 3], [0, 4, 0]]
    assert blob[3].tolist() == [[1, 2, 3], [6, 7, 8]]
    assert blob[4].tolist() == [[1] * 3] * 2


def test_cast_of_an_activation_is_refused():
    g = Graph("t", [_tensor(0, (1, 4)), _tensor(1, (1, 4), "int32", q=False)], [Operator(0, "CAST", [0], [1])],
              [0], [1])
    with pytest.raises(tinyengine_tflite.UnsupportedOperatorError, match="CAST of an activation"):
        lower_graph(g, "t")


def test_computed_int32_chain_reaches_the_folding():
    """A Keras-LSTM-like constant chain over computed int32 tensors, SHAPE -> GATHER / SLICE -> PACK -> CAST ->
    FILL, feeding an int8 ADD: the reader lets the int32 tensors through, the chain folds, and the model is
    bit-exact with LiteRT (TFLite Micro's GATHER refuses int32 data, so it cannot run this model)."""
    from opgraph import Op, T, graph_model
    from tinyengine_tflite.schema import fb
    i32 = [T((), "INT32", data=np.array(k, np.int32)) for k in (0, 1)]
    tensors = [T((1, 4, 6), "INT8", 0.05, 3),                                       # 0 x
               T((3,), "INT32"),                                                    # 1 SHAPE(x)
               i32[0], T((), "INT32"),                                              # 2, 3 GATHER(1, 0)
               T((1,), "INT32", data=np.array([1], np.int32)), T((1,), "INT32", data=np.array([2], np.int32)),
               T((2,), "INT32"),                                                    # 6 SLICE(1, [1], [2])
               T((), "INT32"), i32[1], T((), "INT32"),                              # 7, 9 GATHER(6, 0 / 1)
               T((3,), "INT32"), T((3,), "INT64"),                                  # 10 PACK, 11 CAST
               T((), "INT8", 0.07, -4, np.array(-20, np.int8)), T((1, 4, 6), "INT8", 0.07, -4),  # 12, 13 FILL
               T((1, 4, 6), "INT8", 0.1, -2)]                                       # 14 ADD
    ops = [Op("SHAPE", [0], [1], {"outType": fb.TensorType.INT32}), Op("GATHER", [1, 2], [3]),
           Op("SLICE", [1, 4, 5], [6]), Op("GATHER", [6, 2], [7]), Op("GATHER", [6, 8], [9]),
           Op("PACK", [3, 7, 9], [10], {"valuesCount": 3, "axis": 0}),
           Op("CAST", [10], [11], {"inDataType": fb.TensorType.INT32, "outDataType": fb.TensorType.INT64}),
           Op("FILL", [11, 12], [13]), Op("ADD", [0, 13], [14])]
    model = graph_model(tensors, ops, [0], [14])
    assert layer_ops(model) == ["ADD"]
    assert_bit_exact(model, tflm=False)
