"""Import KerasTuner after TensorFlow is set up for Keras 2 (tf_keras): keras_tuner imports TensorFlow, which
reads TF_USE_LEGACY_KERAS once, so keras_mcunet._tf must come first. Every tuner module imports it from here.

keras-tuner 1.4.8's conditions.Parent.to_proto prints its first value (a leftover debug print), once per
conditional hyperparameter each time a trial crosses gRPC; TinyNAS's block genes are conditional on their
stage's depth, so the same conversion without the print replaces it here."""
from keras_mcunet._tf import tf  # noqa: F401  (must precede keras_tuner)

import keras_tuner  # noqa: E402
from keras_tuner.engine.base_tuner import BaseTuner  # noqa: E402
from keras_tuner.engine.trial import Trial, TrialStatus  # noqa: E402
from keras_tuner.src import protos  # noqa: E402
from keras_tuner.src.engine import conditions as _conditions  # noqa: E402


def _parent_to_proto(self):
    """conditions.Parent.to_proto of keras-tuner 1.4.8, without its print."""
    first = self.values[0]
    if isinstance(first, str):
        values = [protos.get_proto().Value(string_value=v) for v in self.values]
    elif isinstance(first, bool):
        values = [protos.get_proto().Value(boolean_value=v) for v in self.values]
    elif isinstance(first, int):
        values = [protos.get_proto().Value(int_value=v) for v in self.values]
    else:
        values = [protos.get_proto().Value(float_value=v) for v in self.values]
    return protos.get_proto().Condition(parent=protos.get_proto().Condition.Parent(name=self.name, values=values))


_conditions.Parent.to_proto = _parent_to_proto

__all__ = ["keras_tuner", "BaseTuner", "Trial", "TrialStatus"]
