"""A model with several problems gets one error listing every unsupported operator (name and index) and every
tensor of an unsupported type, not only the first."""
import pytest
from opgraph import Op, T, graph_model

import tinyengine_tflite
from tinyengine_tflite.errors import ConversionError, UnsupportedOperatorError

SHAPE = (1, 4, 5)


def _q(dtype="INT8"):
    return T(SHAPE, dtype, 0.1, 0)


def test_every_unsupported_operator_and_float_tensor_at_once():
    # 0 FLOOR (unsupported), 1 TANH on float32 (supported operator, float tensor), 2 SIN (unsupported),
    # 3 FLOOR again, 4 RELU on int8 (fine), 5 ELU on float32.
    tensors = [_q(), _q(), T(SHAPE, "FLOAT32"), T(SHAPE, "FLOAT32"), _q(), _q(), _q(), _q(), T(SHAPE, "FLOAT32")]
    ops = [Op("FLOOR", [0], [1]), Op("TANH", [2], [3]), Op("SIN", [1], [4]), Op("FLOOR", [4], [5]),
           Op("RELU", [5], [6]), Op("ELU", [3], [8])]
    model = graph_model(tensors, ops, [0, 2], [6, 8])
    with pytest.raises(UnsupportedOperatorError) as info:
        tinyengine_tflite.Interpreter(model_content=model)
    err = info.value
    assert err.unsupported_ops == [("FLOOR", 0), ("SIN", 2), ("FLOOR", 3)]
    assert [(e.op_name, e.op_index) for e in err.tensor_errors] == [("TANH", 1), ("ELU", 5)]
    message = str(err)
    for part in ("operator 0 (FLOOR)", "operator 2 (SIN)", "operator 3 (FLOOR)", "are not supported",
                 "operator 1 (TANH): tensor 't2' is float32", "operator 5 (ELU): tensor 't3' is float32",
                 "full-integer quantization"):
        assert part in message, (part, message)
    assert "RELU)" not in message


def test_unsupported_type_and_operators_at_once():
    tensors = [_q(), T(SHAPE, "COMPLEX64"), _q(), T(SHAPE, "STRING")]
    model = graph_model(tensors, [Op("FLOOR", [0], [2]), Op("ADD", [2, 1], [3])], [0, 1], [3])
    with pytest.raises(UnsupportedOperatorError) as info:
        tinyengine_tflite.Interpreter(model_content=model)
    message = str(info.value)
    for part in ("operator 0 (FLOOR) is not supported", "tensor 1 ('t1'): has type COMPLEX64",
                 "tensor 3 ('t3'): has type STRING", "2 tensor(s) of an unsupported type"):
        assert part in message, (part, message)


def test_a_lone_problem_keeps_its_error():
    model = graph_model([_q(), _q()], [Op("FLOOR", [0], [1])], [0], [1])
    with pytest.raises(UnsupportedOperatorError, match=r"operator 0 \(FLOOR\): FLOOR is not supported") as info:
        tinyengine_tflite.Interpreter(model_content=model)
    assert info.value.op_index == 0
    model = graph_model([T(SHAPE, "FLOAT32"), T(SHAPE, "FLOAT32")], [Op("TANH", [0], [1])], [0], [1])
    with pytest.raises(ConversionError, match=r"operator 0 \(TANH\): tensor 't0' is float32; .*full-integer"):
        tinyengine_tflite.Interpreter(model_content=model)


def test_every_unsupported_operator_variant_at_once():
    """Operators the engine has, in variants it does not (the lowering refuses them): all listed in one error,
    the operators after a refused one still checked."""
    ops = [Op("TANH", [0], [1]), Op("RELU", [1], [2]), Op("LOG_SOFTMAX", [2], [3]), Op("SOFTMAX", [3], [4])]
    tensors = [_q(), T(SHAPE, "INT8", 0.01, 0), _q(), T(SHAPE, "INT8", 0.0625, 0), T(SHAPE, "INT8", 0.1, 3)]
    model = graph_model(tensors, ops, [0], [4])
    with pytest.raises(UnsupportedOperatorError) as info:
        tinyengine_tflite.Interpreter(model_content=model, reference="tflm")
    message = str(info.value)
    assert [(e.op_name, e.op_index) for e in info.value.errors] == [("TANH", 0), ("LOG_SOFTMAX", 2), ("SOFTMAX", 3)]
    for part in ("3 operators cannot be converted", "operator 0 (TANH): output quantization", "1/128",
                 "operator 2 (LOG_SOFTMAX)", "16/256", "operator 3 (SOFTMAX)", "1/256"):
        assert part in message, (part, message)
