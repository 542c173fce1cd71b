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
