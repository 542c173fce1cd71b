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

from tinyengine_tflite.extras import EXTRA_MODULES

CFG = configparser.ConfigParser()
CFG.read(REPO / "setup.cfg")


def _requirements(value: str) -> list[str]:
    return [line.strip() for line in value.splitlines() if line.strip() and not line.strip().startswith("#")]


def _name(requirement: str) -> str:
    return re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0]


BASE = [_name(r) for r in _requirements(CFG["options"]["install_requires"])]

# In the child, imports of anything but the standard library, the base requirements and the project's own packages
# fail, the way they would in a base install.
BASE_INSTALL_ONLY = """
import importlib.abc, json, sys
ALLOWED = set(sys.stdlib_module_names) | set(sys.argv[1].split(",")) | {"tinyengine_tflite", "keras_mcunet",
                                                                         "tuner", "samples"}

class BaseInstallOnly(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] not in ALLOWED:
            raise ImportError(f"{name} is not a base requirement of keras-mcunet")
        return None

sys.meta_path.insert(0, BaseInstallOnly())
"""

CONVERT_AND_RUN = BASE_INSTALL_ONLY + """
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
    run = subprocess.run([sys.executable, "-c", CONVERT_AND_RUN, ",".join(BASE), str(path), str(tmp_path)],
                         capture_output=True, text=True, timeout=600, check=False)
    assert run.returncode == 0, run.stderr[-3000:]
    child = json.loads(run.stdout.strip().splitlines()[-1])
    assert {"tensorflow", "tflite_micro", "ai_edge_litert", "keras_mcunet"}.isdisjoint(child["loaded"])
    assert np.array_equal(np.array(child["output"]), run_litert(path.read_bytes(), [x])[0])
    assert child["peak_sram_bytes"] > 0 and (tmp_path / "cli" / "model.c").exists()


EXTRAS_MISSING = BASE_INSTALL_ONLY + """
import contextlib, io
from tinyengine_tflite.cli import main
stderr = io.StringIO()
with contextlib.redirect_stderr(stderr):
    status = main(["bench", sys.argv[2]])
try:
    import samples
    samples_error = None
except ImportError as e:
    samples_error = f"{type(e).__name__}: {e}"
import keras_mcunet as km
arch = km.SearchSpace().max_arch()
profiled = km.profile(arch).peak_sram_bytes > 0          # the profiler needs no TensorFlow
try:
    km.build_model(arch)
    nas_error = None
except ImportError as e:
    nas_error = f"{type(e).__name__}: {e}"
print(json.dumps({"bench_status": status, "bench_error": stderr.getvalue(), "samples_error": samples_error,
                  "profiled": profiled, "nas_error": nas_error}))
"""


def test_features_of_a_missing_extra_say_what_to_install():
    run = subprocess.run([sys.executable, "-c", EXTRAS_MISSING, ",".join(BASE), str(REPO / "missing.tflite")],
                         capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stderr[-3000:]
    child = json.loads(run.stdout.strip().splitlines()[-1])
    assert child["bench_status"] == 2
    assert "pip install 'keras-mcunet[bench]'" in child["bench_error"] and "unicorn" in child["bench_error"]
    assert child["samples_error"].startswith("MissingExtraError: samples (the sample apps) needs the [samples] extra")
    assert child["profiled"] and child["nas_error"].startswith("MissingExtraError: keras_mcunet's Keras models")
    assert "pip install 'keras-mcunet[nas]'" in child["nas_error"]


def _extra_distributions(extra: str) -> set[str]:
    """The distributions an extra of setup.cfg installs, its references to other extras followed."""
    out = set()
    for requirement in _requirements(CFG["options.extras_require"][extra]):
        m = re.fullmatch(r"keras-mcunet\[(.+)\]", requirement)
        if m:
            for other in m.group(1).split(","):
                out |= _extra_distributions(other)
        else:
            out.add(_name(requirement).lower().replace("_", "-"))
    return out


@pytest.mark.parametrize("extra", sorted(EXTRA_MODULES))
def test_extra_modules_are_what_the_extras_install(extra):
    """tinyengine_tflite.extras' table (what a missing extra's error names) against setup.cfg's extras."""
    from importlib.metadata import packages_distributions
    distributions = {m: {d.lower().replace("_", "-") for d in ds} for m, ds in packages_distributions().items()}
    installs = _extra_distributions(extra)
    for module in EXTRA_MODULES[extra]:
        assert distributions[module] & installs, (module, distributions[module], extra)
    for distribution in installs:
        assert any(distribution in distributions[m] for m in EXTRA_MODULES[extra]), (distribution, extra)
