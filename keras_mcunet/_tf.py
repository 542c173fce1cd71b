"""Import TensorFlow with Keras 2 (tf_keras) selected; every module of the project imports TF from here, and
nothing else touches the switch.

TensorFlow reads TF_USE_LEGACY_KERAS once, when it is first imported (tensorflow_model_optimization and
KerasTuner need it set then), so the variable is set before anything imports TensorFlow. When TensorFlow was
already imported without it (e.g. `import keras` or `import tensorflow` with Keras 3 before keras_mcunet),
it is too late to switch: ImportError says how to fix it."""
import os
import sys

_before = sys.modules.get("tensorflow")
if _before is not None and getattr(_before, "_tf_uses_legacy_keras", True) is False:
    raise ImportError(
        "keras_mcunet needs Keras 2 (tf_keras), but TensorFlow was already imported with Keras 3 (without "
        "TF_USE_LEGACY_KERAS=1). Import keras_mcunet (or tuner) before tensorflow / keras, or set the environment "
        "variable TF_USE_LEGACY_KERAS=1 before Python starts.")

from tinyengine_tflite.extras import require_extra  # noqa: E402

require_extra("nas", "keras_mcunet's Keras models (build_model, Supernet, quantize, export_tflite, search)")

os.environ["TF_USE_LEGACY_KERAS"] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402

__all__ = ["tf", "keras"]
