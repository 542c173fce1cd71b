"""QAT, fully int8 TFLite export and evaluation on scikit-learn's digits; arch_layers against real flatbuffers."""
import numpy as np
import pytest

from keras_mcunet import SearchSpace, arch_layers, build_model, evaluate_tflite, export_tflite, quantize
from keras_mcunet._tf import keras

# A shortened skeleton keeps training fast on 16x16 digits.
DIGITS_SPACE = SearchSpace(width_mults=(0.35,), resolutions=(16,), in_channels=1, num_classes=10,
                           stage_channels=(24, 40, 80), stage_strides=(2, 2, 1),
                           stage_depths=((1, 2), (1, 2), (1,)))
TFLITE_KINDS = {"CONV_2D": "conv", "DEPTHWISE_CONV_2D": "depthwise", "ADD": "add", "MEAN": "mean",
                "FULLY_CONNECTED": "fc"}


def _digits():
    from sklearn.datasets import load_digits
    digits = load_digits()
    x = np.kron(digits.images.astype(np.float32) / 16.0, np.ones((1, 2, 2), np.float32))[..., None]  # 16x16
    order = np.random.default_rng(0).permutation(len(x))
    x, y = x[order], digits.target[order].astype(np.int64)
    return (x[:1400], y[:1400]), (x[1400:], y[1400:])


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    (x, y), (x_test, y_test) = _digits()
    arch = DIGITS_SPACE.make_arch([[3], [5], [3]], [[3], [3], [3]])
    keras.utils.set_random_seed(0)
    model = build_model(arch)
    model.compile(keras.optimizers.Adam(3e-3), keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  ["accuracy"])
    model.fit(x, y, epochs=15, batch_size=32, verbose=0)
    float_accuracy = model.evaluate(x_test, y_test, verbose=0)[1]
    qat_model = quantize(model, (x, y), epochs=2, learning_rate=1e-4)
    path = tmp_path_factory.mktemp("tflite") / "digits.tflite"
    flatbuffer = export_tflite(qat_model, path, x, num_samples=100)
    return dict(arch=arch, float_accuracy=float_accuracy, qat_model=qat_model, path=path,
                flatbuffer=flatbuffer, test=(x_test, y_test))


def _ops(flatbuffer):
    """(op name, input shape, output shape) of each operator, batch dimension dropped."""
    from ai_edge_litert.interpreter import Interpreter
    interpreter = Interpreter(model_content=flatbuffer)
    shapes = {t["index"]: tuple(int(d) for d in t["shape"][1:]) for t in interpreter.get_tensor_details()}
    return [(op["op_name"], shapes[op["inputs"][0]], shapes[op["outputs"][0]])
            for op in interpreter._get_ops_details()], interpreter


def test_int8_accuracy_within_one_point_of_float(exported):
    x_test, y_test = exported["test"]
    float_accuracy = exported["float_accuracy"]
    assert float_accuracy > 0.9
    int8_accuracy = evaluate_tflite(exported["flatbuffer"], x_test, y_test)
    assert int8_accuracy >= float_accuracy - 0.01, (int8_accuracy, float_accuracy)
    qat_accuracy = exported["qat_model"].evaluate(x_test, y_test, verbose=0)[1]
    assert abs(int8_accuracy - qat_accuracy) <= 0.01
    assert evaluate_tflite(exported["path"], x_test, y_test) == int8_accuracy
    assert exported["path"].read_bytes() == exported["flatbuffer"]


def test_flatbuffer_is_fully_int8_with_per_channel_weights(exported):
    ops, interpreter = _ops(exported["flatbuffer"])
    assert interpreter.get_input_details()[0]["dtype"] == np.int8
    assert interpreter.get_output_details()[0]["dtype"] == np.int8
    tensors = {t["index"]: t for t in interpreter.get_tensor_details()}
    for op in interpreter._get_ops_details():
        assert op["op_name"] in TFLITE_KINDS, op["op_name"]
        for index in op["inputs"]:
            if index >= 0:
                assert tensors[index]["dtype"] in (np.int8, np.int32), (op["op_name"], tensors[index]["name"])
        if op["op_name"] in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            weights = tensors[op["inputs"][1]]
            channels = weights["shape"][0 if op["op_name"] == "CONV_2D" else 3]
            assert len(weights["quantization_parameters"]["scales"]) == channels > 1


def _assert_layers_match(arch, flatbuffer):
    ops, _ = _ops(flatbuffer)
    specs = arch_layers(arch)
    assert [(TFLITE_KINDS.get(name, name), i, o) for name, i, o in ops] == \
        [(s.kind, s.input_shape, s.output_shape) for s in specs]


def test_arch_layers_match_the_exported_flatbuffer(exported):
    _assert_layers_match(exported["arch"], exported["flatbuffer"])


def test_arch_layers_match_a_non_square_float_export():
    space = SearchSpace(width_mults=(0.2,), resolutions=((49, 10),), in_channels=1, num_classes=12,
                        expand_ratios=(1, 3, 6), stage_depths=((1, 2, 3),) * 5 + ((1,),))
    arch = space.make_arch([[3, 5], [7], [3, 3, 5], [5, 7], [3], [7]], [[1, 6], [3], [6, 1, 3], [3, 6], [6], [1]])
    assert sum(s.kind == "add" for s in arch_layers(arch)) >= 4
    x = np.random.default_rng(0).normal(size=(8, 49, 10, 1)).astype(np.float32)
    _assert_layers_match(arch, export_tflite(build_model(arch), None, x, num_samples=8))


def test_bad_arguments_raise_clear_errors(exported, tmp_path):
    x_test, y_test = exported["test"]
    model = build_model(exported["arch"])
    with pytest.raises(ValueError, match="epochs must be an int >= 0"):
        quantize(model, (x_test, y_test), epochs=-1)
    with pytest.raises(ValueError, match="learning_rate"):
        quantize(model, (x_test, y_test), learning_rate=0)
    with pytest.raises(ValueError, match=r"inputs have shape \(8, 8, 1\)"):
        quantize(model, (x_test[:, :8, :8], y_test))
    with pytest.raises(ValueError, match="expects a tf_keras Model"):
        quantize("model", (x_test, y_test))
    with pytest.raises(ValueError, match="num_samples must be an int >= 1"):
        export_tflite(model, None, x_test, num_samples=0)
    with pytest.raises(ValueError, match=r"x must have shape \(N, 16, 16, 1\)"):
        evaluate_tflite(exported["flatbuffer"], x_test[:, :8], y_test)
    with pytest.raises(ValueError, match="integer labels"):
        evaluate_tflite(exported["flatbuffer"], x_test, y_test[:5])
    with pytest.raises(ValueError, match="no TFLite model file"):
        evaluate_tflite(tmp_path / "missing.tflite", x_test, y_test)
