"""tf.lite.Interpreter parity for TF2 scripts: SignatureDefs (get_signature_list, get_signature_runner) and a
script written against tf.lite.Interpreter that runs with only its import changed, compared with == to
tf.lite.Interpreter on the reference kernels."""
import json
import subprocess
import sys

import numpy as np
import pytest
from modelgen import function_tflite, int8_tflite
from reference import REPO, SUITE_DIR

import tinyengine_tflite
from keras_mcunet._tf import keras


def two_in_two_out_module():
    """A tf.function model whose signature names are not in the graph's order: inputs zeta, alpha (sorted:
    alpha, zeta), outputs scores, features."""
    from keras_mcunet._tf import tf

    class Net(tf.Module):
        def __init__(self):
            super().__init__()
            self.conv = keras.layers.Conv2D(4, 3, padding="same", activation="relu")
            self.dense = keras.layers.Dense(3)
            self.conv.build((1, 6, 5, 2))
            self.dense.build((1, 4))

        @tf.function(input_signature=[tf.TensorSpec((1, 6, 5, 2), tf.float32, name="zeta"),
                                      tf.TensorSpec((1, 6, 5, 2), tf.float32, name="alpha")])
        def __call__(self, zeta, alpha):
            h = self.conv(zeta + alpha)
            return {"scores": self.dense(tf.reduce_mean(h, axis=[1, 2])), "features": h}
    return Net()


def _two_in_two_out() -> bytes:
    return function_tflite(two_in_two_out_module, "signature_two_in_two_out")


def _float_io_keras() -> bytes:
    return int8_tflite(lambda x: keras.layers.Dense(3, name="logits")(keras.layers.Flatten()(
        keras.layers.Conv2D(2, 3, strides=2)(x))), [(7, 6, 2)], "signature_float_io", float_io=True)


def _tflite(model: bytes):
    from keras_mcunet._tf import tf
    return tf.lite.Interpreter(model_content=model,
                               experimental_op_resolver_type=tf.lite.experimental.OpResolverType.BUILTIN_REF)


def _inputs(details: dict, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    return {name: (rng.integers(-128, 128, tuple(d["shape"])).astype(np.int8) if d["dtype"] == np.int8 else
                   rng.normal(0, 1.5, tuple(d["shape"])).astype(np.float32)) for name, d in details.items()}


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def test_signature_list_and_runner_equal_tflite():
    model = _two_in_two_out()
    ours, ref = tinyengine_tflite.Interpreter(model_content=model), _tflite(model)
    assert ours.get_signature_list() == ref.get_signature_list() == \
        {"serving_default": {"inputs": ["alpha", "zeta"], "outputs": ["features", "scores"]}}
    runners = [it.get_signature_runner() for it in (ours, ref)]
    assert [list(r.get_input_details()) for r in runners] == [["alpha", "zeta"]] * 2
    for kind in ("get_input_details", "get_output_details"):
        a, b = (getattr(r, kind)() for r in runners)
        assert list(a) == list(b)
        for name in a:
            assert (a[name]["index"], a[name]["dtype"], a[name]["quantization"]) == \
                (b[name]["index"], b[name]["dtype"], b[name]["quantization"])
            assert (a[name]["shape"] == b[name]["shape"]).all()
    for seed in range(3):
        x = _inputs(runners[0].get_input_details(), seed)
        got, want = (r(**x) for r in runners)
        assert list(got) == list(want) == ["features", "scores"]
        assert all(_same(got[k], want[k]) for k in want)
    # the runner and the classic API share the interpreter's tensors, as in TFLite
    for name, d in runners[0].get_output_details().items():
        assert _same(ours.get_tensor(d["index"]), got[name])


def test_signature_runner_errors_are_tflite_s():
    model = _two_in_two_out()
    x = _inputs(tinyengine_tflite.Interpreter(model_content=model).get_signature_runner().get_input_details(), 0)
    for it in (tinyengine_tflite.Interpreter(model_content=model), _tflite(model)):
        run = it.get_signature_runner()
        with pytest.raises(ValueError, match="Invalid number of inputs provided for running a SignatureDef, "
                                             "expected 2 vs provided 1"):
            run(alpha=x["alpha"])
        with pytest.raises(ValueError, match=r"Invalid Input name \(beta\) for SignatureDef"):
            run(alpha=x["alpha"], beta=x["zeta"])
        with pytest.raises(ValueError, match='Invalid signature_key provided: "train"'):
            it.get_signature_runner("train")


@pytest.mark.parametrize("name", ["mlperf_ad01_int8", "tflm_hello_world_int8"])
def test_models_with_and_without_a_signature_like_tflite(name):
    """A model converted without SignatureDefs has none, and the runner is refused as TFLite refuses it."""
    model = (SUITE_DIR / f"{name}.tflite").read_bytes()
    ours, ref = tinyengine_tflite.Interpreter(model_content=model), _tflite(model)
    assert ours.get_signature_list() == ref.get_signature_list()
    if not ref.get_signature_list():
        for it in (ours, ref):
            with pytest.raises(ValueError, match="signature_key is None and model has 0 Signatures"):
                it.get_signature_runner()
            with pytest.raises(ValueError, match='Invalid signature_key provided: "serving_default"'):
                it.get_signature_runner("serving_default")
        return
    runners = [it.get_signature_runner() for it in (ours, ref)]
    x = _inputs(runners[0].get_input_details(), 1)
    got, want = (r(**x) for r in runners)
    assert list(got) == list(want) and all(_same(got[k], want[k]) for k in want)


SCRIPT = '''\
"""Classify with a TFLite model, TF2 style: the classic API and the signature API."""
import json
import sys

import numpy as np
{import_line}

model_path, out_path = sys.argv[1], sys.argv[2]
interpreter = Interpreter(model_path=model_path, num_threads=2,
                          experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
interpreter.allocate_tensors()
rng = np.random.default_rng(7)


def sample(d):
    if d["dtype"] == np.int8:
        return rng.integers(-128, 128, d["shape"]).astype(np.int8)
    return rng.normal(0.0, 1.5, d["shape"]).astype(d["dtype"])


results, described = {{}}, []
for d in interpreter.get_input_details():
    interpreter.set_tensor(d["index"], sample(d))
interpreter.invoke()
for d in interpreter.get_input_details() + interpreter.get_output_details():
    described.append([d["name"], int(d["index"]), d["shape"].tolist(), np.dtype(d["dtype"]).name,
                      list(d["quantization"])])
for d in interpreter.get_output_details():
    results["classic/" + d["name"]] = interpreter.get_tensor(d["index"])

signatures = interpreter.get_signature_list()
for key in signatures:
    runner = interpreter.get_signature_runner(key)
    outputs = runner(**{{name: sample(d) for name, d in runner.get_input_details().items()}})
    for name, value in outputs.items():
        results[key + "/" + name] = value
interpreter.reset_all_variables()
np.savez(out_path, **results)
print(json.dumps({{"signatures": signatures, "details": described}}))
'''
TFLITE_IMPORT = ("import tensorflow as tf\n"
                 "Interpreter, OpResolverType = tf.lite.Interpreter, tf.lite.experimental.OpResolverType")
OUR_IMPORT = "from tinyengine_tflite import Interpreter, OpResolverType"


@pytest.mark.parametrize("which", ["tf_function_int8_io", "keras_float_io"])
def test_tflite_script_runs_with_only_its_import_changed(which, tmp_path):
    model = _two_in_two_out() if which == "tf_function_int8_io" else _float_io_keras()
    (tmp_path / "model.tflite").write_bytes(model)
    runs = {}
    for label, line in (("tflite", TFLITE_IMPORT), ("ours", OUR_IMPORT)):
        script = tmp_path / f"classify_{label}.py"
        script.write_text(SCRIPT.format(import_line=line))
        assert script.read_text().replace(line, "") == SCRIPT.format(import_line="")   # only the import differs
        r = subprocess.run([sys.executable, str(script), str(tmp_path / "model.tflite"), str(tmp_path / label)],
                           capture_output=True, text=True, cwd=REPO)
        assert r.returncode == 0, r.stderr[-3000:]
        runs[label] = (json.loads(r.stdout.strip().splitlines()[-1]), np.load(tmp_path / f"{label}.npz"))
    (meta, ours), (ref_meta, ref) = runs["ours"], runs["tflite"]
    assert meta == ref_meta and meta["signatures"]
    assert sorted(ours.files) == sorted(ref.files) and any(k.startswith("serving_default/") for k in ours.files)
    for k in ref.files:
        assert _same(ours[k], ref[k]), k
