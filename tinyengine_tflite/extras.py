"""The extras of the keras-mcunet distribution (setup.cfg) and the third-party modules each one installs, so that a
feature used without its extra says what to install instead of failing on the first missing import.

The base install (numpy, flatbuffers, tflite) runs the compiler, the CLI's `convert` and the Interpreter."""
from __future__ import annotations

import importlib.util

_NAS = ("tensorflow", "tf_keras", "tensorflow_model_optimization", "keras_tuner", "tensorboard", "matplotlib",
        "tqdm", "sklearn", "ai_edge_litert")
_BENCH = ("ai_edge_litert", "tflite_micro", "unicorn", "matplotlib", "tqdm")

# extra -> the top-level modules it makes importable (samples installs nas's and bench's too).
EXTRA_MODULES = {
    "nas": _NAS,
    "bench": _BENCH,
    "samples": tuple(dict.fromkeys(_NAS + _BENCH + ("PIL", "scipy", "skimage"))),
}


class MissingExtraError(ImportError):
    """A feature was used without the extra of keras-mcunet that installs its third-party modules."""


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def require_extra(extra: str, feature: str) -> None:
    """Raise MissingExtraError, naming what to install, unless every module of `extra` can be imported (it looks
    for them without importing them)."""
    missing = [m for m in EXTRA_MODULES[extra] if not _installed(m)]
    if missing:
        raise MissingExtraError(f"{feature} needs the [{extra}] extra of keras-mcunet ({', '.join(missing)} not "
                                f"installed): pip install 'keras-mcunet[{extra}]'")
