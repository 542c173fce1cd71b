"""Everything the project takes from KerasTuner, including its private `keras_tuner.src` modules and the one
patch it applies: the other tuner modules import KerasTuner from here only. Written against keras-tuner 1.4.x
(tested with 1.4.8); another version raises ImportError at import, since the private names may have moved.

KerasTuner imports TensorFlow, which reads TF_USE_LEGACY_KERAS once, so keras_mcunet._tf (Keras 2) comes first.

keras-tuner 1.4.8's conditions.Parent.to_proto prints its first value (a leftover debug print), once per
conditional hyperparameter each time a trial crosses gRPC; TinyNAS's block genes are conditional on their
stage's depth, so the same conversion without the print replaces it here."""
from keras_mcunet._tf import tf  # noqa: F401  (must precede keras_tuner)

import keras_tuner  # noqa: E402

SUPPORTED = "1.4."
if not keras_tuner.__version__.startswith(SUPPORTED):
    raise ImportError(f"tuner needs keras-tuner {SUPPORTED}x (it uses KerasTuner's private modules), found "
                      f"keras-tuner {keras_tuner.__version__}; install it with: pip install 'keras-tuner~=1.4.8'")

from keras_tuner.engine.base_tuner import BaseTuner  # noqa: E402
from keras_tuner.engine.trial import Trial, TrialStatus  # noqa: E402
from keras_tuner.src import protos  # noqa: E402
from keras_tuner.src.distribute import oracle_chief  # noqa: E402
from keras_tuner.src.distribute import utils as distribute_utils  # noqa: E402
from keras_tuner.src.engine import conditions as _conditions  # noqa: E402
from keras_tuner.src.engine.oracle import Display  # noqa: E402


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

__all__ = ["keras_tuner", "BaseTuner", "Trial", "TrialStatus", "Display", "protos", "oracle_chief",
           "distribute_utils"]
