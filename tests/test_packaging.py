"""Packaging: `pip install keras-mcunet` gives the compiler and its Interpreter with only its base requirements
(numpy, flatbuffers and tflite, the TFLite schema bindings); the extras add the rest; benchmarks/ is not installed."""
import configparser
import json
import re
import subprocess
import sys

import numpy as np
import pytest
from reference import REPO, SUITE_DIR, run_litert

CFG = configparser.ConfigParser()
CFG.read(REPO / "setup.cfg")


def _requirements(value: str) -> list[str]:
    return [line.strip() for line in value.splitlines() if line.strip() and not line.strip().startswith("#")]


def _name(requirement: str) -> str:
    return re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0]


BASE = [_name(r) for r in _requirements(CFG["options"]["install_requires"])]

# Imports everything but the standard library, the base requirements and tinyengine_tflite refuse, so the child
# fails the way a base install would if the compiler or the Interpreter reached for anything else.
CHILD = """
import importlib.abc, json, sys
ALLOWED = set(sys.stdlib_module_names) | {"tinyengine_tflite"} | set(sys.argv[1].split(","))

class BaseInstallOnly(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] not in ALLOWED:
            raise ImportError(f"{name} is not a base requirement of keras-mcunet")
        return None

sys.meta_path.insert(0, BaseInstallOnly())
import numpy as np
import tinyengine_tflite
from tinyengine_tflite.cli import main

model, out = sys.argv[2], sys.argv[3]
report = tinyengine_tflite.convert(model, out + "/api")
assert main(["convert", model, "-o", out + "/cli"]) == 0
it = tinyengine_tflite.Interpreter(model_path=model)
it.allocate_tensors()
x = np.load(out + "/input.npy")
it.set_tensor(it.get_input_details()[0]["index"], x)
it.invoke()
y = it.get_tensor(it.get_output_details()[0]["index"])
print(json.dumps({"peak_sram_bytes": report.peak_sram_bytes, "output": y.tolist(),
                  "loaded": sorted({m.partition(".")[0] for m in sys.modules})}))
"""


def test_base_requirements_are_numpy_and_the_schema_bindings():
    assert sorted(BASE) == ["flatbuffers", "numpy", "tflite"]


def test_extras_add_the_rest_and_test_installs_everything():
    extras = {k: _requirements(v) for k, v in CFG["options.extras_require"].items()}
    assert {"nas", "bench", "samples", "all", "test"} <= set(extras)
    assert "tensorflow==2.21.0" in extras["nas"] and "tf-keras==2.21.0" in extras["nas"]
    assert "tflite-micro==0.dev20261023182759" in extras["bench"] and "unicorn==2.1.4" in extras["bench"]
    assert "keras-mcunet[nas,bench]" in extras["samples"]
    assert extras["all"] == ["keras-mcunet[nas,bench,samples]"] and "keras-mcunet[all]" in extras["test"]
    setup = (REPO / "scripts" / "setup.sh").read_text()
    assert "-e '.[test]'" in setup      # the README's commands install everything


def test_benchmarks_are_not_an_installed_package():
    include = _requirements(CFG["options.packages.find"]["include"])
    assert (REPO / "benchmarks" / "tinynas_evidence.py").exists()
    assert not any(re.fullmatch(pattern.replace("*", ".*"), "benchmarks") for pattern in include)


@pytest.mark.parametrize("model", ["mlperf_ic_resnet8_int8", "mlperf_ad01_int8"])
def test_compiler_and_interpreter_need_only_the_base_requirements(model, tmp_path):
    """In a process where every other import fails: convert a suite model (API and CLI) and run it with the
    Interpreter; the output equals LiteRT's reference kernels' in this (full) process."""
    path = SUITE_DIR / f"{model}.tflite"
    from ai_edge_litert.interpreter import Interpreter
    details = Interpreter(model_path=str(path)).get_input_details()[0]
    x = np.random.default_rng(0).integers(-128, 128, details["shape"]).astype(details["dtype"])
    np.save(tmp_path / "input.npy", x)
    run = subprocess.run([sys.executable, "-c", CHILD, ",".join(BASE), str(path), str(tmp_path)],
                         capture_output=True, text=True, timeout=600, check=False)
    assert run.returncode == 0, run.stderr[-3000:]
    child = json.loads(run.stdout.strip().splitlines()[-1])
    assert {"tensorflow", "tflite_micro", "ai_edge_litert", "keras_mcunet"}.isdisjoint(child["loaded"])
    assert np.array_equal(np.array(child["output"]), run_litert(path.read_bytes(), [x])[0])
    assert child["peak_sram_bytes"] > 0 and (tmp_path / "cli" / "model.c").exists()
