"""keras_mcunet: MCUNet (Lin et al., NeurIPS 2020) for Keras 2 (tf_keras): TinyNAS's search space, a
weight-sharing supernet, standalone subnets, quantization-aware training and fully int8 TFLite export.

Names are imported on first use, so `import keras_mcunet` does not load TensorFlow. `search` and `SearchConfig`
reach the `tuner` package (TinyNAS on KerasTuner, which depends on keras_mcunet) only when used. To export a new name, add
one line to _EXPORTS (name -> module). A module must not be named like a function exported here: importing the
submodule would replace the function on the package.
"""
from importlib import import_module

_EXPORTS = {
    "SearchSpace": "search_space",
    "ArchConfig": "search_space",
    "make_divisible": "search_space",
    "arch_layers": "arch_graph",
    "arch_blocks": "arch_graph",
    "LayerSpec": "arch_graph",
    "build_model": "model_builder",
    "Supernet": "supernet",
    "quantize": "qat",
    "export_tflite": "export",
    "evaluate_tflite": "export",
    "profile": "profiler",
    "Profile": "profiler",
    "InputResizing": "resizing",
    "search": "tinynas",             # a facade: imports the tuner package when called
    "SearchConfig": "tinynas",       # tuner.SearchConfig, imported on first use
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))
