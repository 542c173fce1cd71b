"""The reader refuses bad input with one clear error naming the model, the operator and its index."""
import numpy as np
import pytest
from modelgen import int8_tflite, pack_model
from reference import SUITE_DIR

import tinyengine_tflite
from keras_mcunet._tf import keras, tf
from tinyengine_tflite.errors import ConversionError, UnsupportedOperatorError
from tinyengine_tflite.reader import read_model
from tinyengine_tflite.schema import fb

HELLO = SUITE_DIR / "tflm_hello_world_int8.tflite"


def test_reads_suite_model():
    g = read_model(HELLO)
    assert [op.name for op in g.operators] == ["FULLY_CONNECTED"] * 3
    assert g.tensors[g.inputs[0]].dtype == "int8"
    w = g.tensors[g.operators[0].inputs[1]]
    assert w.data is not None and w.data.dtype == np.int8 and w.data.shape == w.shape


def test_truncated_file(tmp_path):
    p = tmp_path / "cut.tflite"
    p.write_bytes(HELLO.read_bytes()[:600])
    with pytest.raises(ConversionError, match="cut.tflite") as e:
        tinyengine_tflite.convert(p, tmp_path / "out")
    assert "truncated" in str(e.value) or "corrupt" in str(e.value)


def test_not_a_flatbuffer(tmp_path):
    p = tmp_path / "junk.tflite"
    p.write_bytes(b"\x00" * 64)
    with pytest.raises(ConversionError, match="junk.tflite.*not a TFLite flatbuffer"):
        read_model(p)


def test_corrupt_offsets(tmp_path):
    data = bytearray(HELLO.read_bytes())
    data[0:4] = (len(data) + 1000).to_bytes(4, "little")  # root table offset past the end
    with pytest.raises(ConversionError, match="corrupt or truncated"):
        read_model(bytes(data))


def test_missing_file(tmp_path):
    with pytest.raises(ConversionError, match="cannot read"):
        read_model(tmp_path / "nope.tflite")


def test_float_only_model_is_refused():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    data = tf.lite.TFLiteConverter.from_keras_model(model).convert()
    with pytest.raises(ConversionError, match=r"operator 0 \(FULLY_CONNECTED\).*float32.*full-integer"):
        tinyengine_tflite.compile_model(data)


def test_several_subgraphs_are_refused():
    m = fb.ModelT.InitFromPackedBuf(HELLO.read_bytes(), 0)
    m.subgraphs.append(m.subgraphs[0])
    with pytest.raises(ConversionError, match="2 subgraphs"):
        read_model(pack_model(m))


def test_unsupported_operator_named_with_index():
    m = fb.ModelT.InitFromPackedBuf(HELLO.read_bytes(), 0)
    code = fb.OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = fb.BuiltinOperator.FLOOR
    code.version = 1
    m.operatorCodes.append(code)
    m.subgraphs[0].operators[1].opcodeIndex = len(m.operatorCodes) - 1
    with pytest.raises(UnsupportedOperatorError, match=r"operator 1 \(FLOOR\).*not supported"):
        tinyengine_tflite.compile_model(pack_model(m))


def test_operator_refers_to_missing_tensor():
    m = fb.ModelT.InitFromPackedBuf(HELLO.read_bytes(), 0)
    op = m.subgraphs[0].operators[2]
    op.inputs = np.array([999, *op.inputs[1:]], dtype=np.int32)
    with pytest.raises(ConversionError, match=r"operator 2 \(FULLY_CONNECTED\).*tensor 999"):
        read_model(pack_model(m))


def test_constant_with_wrong_size():
    m = fb.ModelT.InitFromPackedBuf(HELLO.read_bytes(), 0)
    w = m.subgraphs[0].tensors[m.subgraphs[0].operators[0].inputs[1]]
    m.buffers[w.buffer].data = m.buffers[w.buffer].data[:-3]
    with pytest.raises(ConversionError, match="bytes of data"):
        read_model(pack_model(m))


def test_batch_above_one_is_refused():
    data = int8_tflite(lambda x: keras.layers.Conv2D(2, 3)(x), [(5, 5, 1)], "conv_for_batch")
    m = fb.ModelT.InitFromPackedBuf(data, 0)
    for t in m.subgraphs[0].tensors:
        if t.shape is not None and len(t.shape) == 4 and m.buffers[t.buffer].data is None:
            t.shape = np.array([2, *t.shape[1:]], dtype=np.int32)
    with pytest.raises(ConversionError, match=r"operator 0 \(CONV_2D\).*batch 2"):
        tinyengine_tflite.compile_model(pack_model(m))
