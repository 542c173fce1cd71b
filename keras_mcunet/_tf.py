"""Import TensorFlow with Keras 2 (tf_keras) selected; every module of the project imports TF from here.

tensorflow_model_optimization flips TF_USE_LEGACY_KERAS when imported, and TensorFlow reads it once at import,
so the variable is set before anything imports TensorFlow."""
import os

os.environ["TF_USE_LEGACY_KERAS"] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402

__all__ = ["tf", "keras"]
