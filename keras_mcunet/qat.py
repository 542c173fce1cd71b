"""Quantization-aware training with tensorflow-model-optimization (tfmot), on tf_keras models."""
from __future__ import annotations

from tinyengine_tflite.arguments import check_count, check_number

from ._tf import keras, tf  # noqa: F401  (selects Keras 2 before tfmot is imported)
from .data import as_dataset
from .resizing import ATTRIBUTE, fit_inputs


def quantize(model: keras.Model, train_data, epochs: int = 1, *, batch_size: int = 32,
             learning_rate: float = 1e-4, validation_data=None, verbose: int = 0) -> keras.Model:
    """Wrap `model` (a functional tf_keras model, e.g. build_model's or Supernet.extract's) with tfmot's
    default 8-bit fake quantization and fine-tune it for `epochs` epochs (0: quantize only) with Adam on
    sparse categorical cross-entropy over logits. Returns the QAT model, ready for export_tflite.

    train_data / validation_data: (x, y) numpy arrays (shuffled each epoch) or a tf.data.Dataset of (x, y).
    A model from keras_mcunet.search passes its `input_resizing` on to the QAT model, and data of another size
    are resized as the search resized them (with a warning)."""
    import tensorflow_model_optimization as tfmot

    if not isinstance(model, keras.Model):
        raise ValueError(f"quantize expects a tf_keras Model, got {type(model).__name__}")
    epochs = check_count(epochs, "epochs", minimum=0)
    check_number(learning_rate, "learning_rate")
    input_shape = tuple(model.input_shape[1:])
    train_data = fit_inputs(model, train_data, "train_data")
    validation_data = None if validation_data is None else fit_inputs(model, validation_data, "validation_data")
    ds = as_dataset(train_data, batch_size, input_shape=input_shape, shuffle=True, what="train_data")
    val = None if validation_data is None else as_dataset(validation_data, batch_size, input_shape=input_shape,
                                                          what="validation_data")
    qat_model = tfmot.quantization.keras.quantize_model(model)
    qat_model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    if epochs:
        qat_model.fit(ds, epochs=epochs, validation_data=val, verbose=verbose)
    if hasattr(model, ATTRIBUTE):
        setattr(qat_model, ATTRIBUTE, getattr(model, ATTRIBUTE))
    return qat_model
