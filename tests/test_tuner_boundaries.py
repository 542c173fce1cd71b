"""Package boundaries: dependencies run one way (tinyengine_tflite <- keras_mcunet <- tuner <- samples), third-party
internals stay in one compat module per library, and those modules fail with a clear ImportError."""
import ast
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ["tinyengine_tflite", "keras_mcunet", "tuner", "samples"]   # each may import only those before it
OUTSIDE = ["benchmarks"]                                              # scripts no package imports


def _imports(path: Path):
    """(module imported, names, inside a function?) for every import statement of a file."""
    tree = ast.parse(path.read_text(), str(path))
    found = []

    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            nested = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.Import):
                found.extend((alias.name, [], in_function) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                module = child.module or ""
                if child.level:   # relative: resolve against the file's package
                    package = path.relative_to(ROOT).with_suffix("").parts[:-child.level]
                    module = ".".join([*package, module] if module else package)
                found.append((module, [a.name for a in child.names], in_function))
            visit(child, nested)
    visit(tree, False)
    return found


def _files(package: str):
    return sorted((ROOT / package).rglob("*.py"))


def _top(module: str) -> str:
    return module.split(".")[0]


@pytest.mark.parametrize("package", LAYERS)
def test_dependencies_run_one_way(package):
    later = LAYERS[LAYERS.index(package) + 1:] + OUTSIDE
    for path in _files(package):
        for module, names, in_function in _imports(path):
            top = _top(module)
            if top not in later:
                continue
            facade = path == ROOT / "keras_mcunet" / "tinynas.py" and top == "tuner" and in_function
            assert facade, f"{path.relative_to(ROOT)} imports {module} ({'in a function' if in_function else 'at import'})"
            # the facade reaches tuner through public names only
            assert not any(part.startswith("_") for part in module.split(".")), module
            assert not any(name.startswith("_") for name in names), names


def test_keras_mcunet_does_not_import_tuner():
    code = ("import sys, keras_mcunet as km\n"
            "km.SearchSpace, km.build_model, km.export_tflite, km.quantize, km.search, km.Supernet\n"
            "assert 'tuner' not in sys.modules and 'keras_tuner' not in sys.modules, sorted(sys.modules)\n"
            "from keras_mcunet.tinynas import search\n"
            "assert km.search is search and callable(km.search)\n"
            "assert km.SearchConfig.__module__ == 'tuner.search_config'\n")
    _run(code)


def test_third_party_internals_are_in_one_compat_module_each():
    for package in ("keras_mcunet", "tuner"):
        for path in _files(package):
            text = path.read_text()
            tree = ast.parse(text)
            strings = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
            if path != ROOT / "keras_mcunet" / "_tf.py":
                assert "TF_USE_LEGACY_KERAS" not in strings, path
            if path != ROOT / "tuner" / "kt_compat.py":
                private = [m for m, _, _ in _imports(path) if m.startswith("keras_tuner.src")]
                assert not private, (path, private)
                assert not any(m == "keras_tuner" or m.startswith("keras_tuner.") for m, _, _ in _imports(path)), path
            assert "__class__ =" not in text and ".__class__ = " not in text, f"{path} patches a class"


def _run(code: str, expect_error: str | None = None, **env):
    environment = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}
    environment.update(env, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                            cwd=ROOT, env=environment, timeout=300)
    if expect_error is None:
        assert result.returncode == 0, result.stderr[-3000:]
    else:
        assert result.returncode != 0
        assert expect_error in result.stderr, result.stderr[-3000:]
    return result


def test_keras_3_loaded_first_is_a_clear_import_error():
    # TensorFlow imported without the Keras 2 switch (here through Keras 3): too late to select tf_keras.
    _run("import keras, tensorflow\nimport keras_mcunet.supernet\n",
         expect_error="ImportError: keras_mcunet needs Keras 2 (tf_keras), but TensorFlow was already imported "
                      "with Keras 3")
    # the same order with the switch set in the environment works
    _run("import keras, tensorflow\nimport keras_mcunet.supernet\n", TF_USE_LEGACY_KERAS="1")


def test_another_keras_tuner_version_is_a_clear_import_error():
    _run("""
        import keras_mcunet._tf, keras_tuner
        keras_tuner.__version__ = "1.5.0"
        import tuner
        """, expect_error="ImportError: tuner needs keras-tuner 1.4.x (it uses KerasTuner's private modules), "
                          "found keras-tuner 1.5.0")
