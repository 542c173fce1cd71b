"""Fine-tune the winning subnet: extracted from the supernet (shared weights, its own BN statistics), trained
with Adam and a cosine learning-rate decay, resumable per epoch (a checkpoint of weights, optimizer and epoch
after each epoch; tf_keras' BackupAndRestore would refuse OneDeviceStrategy). Training keeps the epoch with the
best validation accuracy. The supernet's weights are not a candidate when fine-tuning: the search picked the
winner for its validation accuracy with those weights, the best of hundreds of subnets, so that accuracy
overstates them and no fine-tuned epoch beat it on any seed of the digits evidence (BENCHMARKS.md): search()
returned the unfine-tuned weights, below the same architecture trained from scratch on held-out data."""
from __future__ import annotations

import os

import numpy as np

from keras_mcunet._tf import keras, tf
from keras_mcunet.data import as_dataset, known_length
from keras_mcunet.model_builder import build_model
from keras_mcunet.search_space import ArchConfig

from .project_files import read_json, write_json


def compile_classifier(model: keras.Model, learning_rate) -> keras.Model:
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    return model


def cosine_learning_rate(learning_rate: float, epochs: int, train_ds: tf.data.Dataset):
    """Cosine decay over the whole run when the epoch length is known, else the constant rate."""
    steps = known_length(train_ds)
    if not steps or not epochs:
        return learning_rate
    return keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=epochs * steps, alpha=0.01)


class EpochCheckpoint(keras.callbacks.Callback):
    """Save model, optimizer and the number of finished epochs after every epoch; `restore()` returns the
    epoch to continue from (0 without a checkpoint)."""

    def __init__(self, model: keras.Model, directory: str):
        super().__init__()
        self._net = model
        self._epoch = tf.Variable(0, dtype=tf.int64, trainable=False)
        self._checkpoint = tf.train.Checkpoint(model=model, optimizer=model.optimizer, epoch=self._epoch)
        self._manager = tf.train.CheckpointManager(self._checkpoint, directory, max_to_keep=1)

    def restore(self) -> int:
        if self._manager.latest_checkpoint:
            self._net.optimizer.build(self._net.trainable_variables)   # so its slots restore too
            self._checkpoint.restore(self._manager.latest_checkpoint).assert_existing_objects_matched()
        return int(self._epoch.numpy())

    def on_epoch_end(self, epoch, logs=None):
        self._epoch.assign(epoch + 1)
        self._manager.save(checkpoint_number=epoch + 1)


class BestEpoch(keras.callbacks.Callback):
    """Keep the weights of the epoch with the best validation accuracy (the earliest on a tie); with a
    directory they are saved there too, so a resumed run still knows the best of the epochs before it."""

    WEIGHTS, SCORE = "best_weights.npz", "best_epoch.json"

    def __init__(self, model: keras.Model, directory: str | None = None):
        super().__init__()
        self._net, self._directory = model, directory
        self.best, self.epoch, self._weights = None, None, None
        if directory and os.path.exists(os.path.join(directory, self.SCORE)):
            saved = read_json(os.path.join(directory, self.SCORE))
            with np.load(os.path.join(directory, self.WEIGHTS)) as arrays:
                self._weights = [arrays[f"arr_{i}"] for i in range(len(arrays.files))]
            self.best, self.epoch = saved["val_accuracy"], saved["epoch"]

    def offer(self, epoch: int, accuracy: float) -> None:
        """Record the model's current weights as of `epoch` (0: before training) if they are the best yet."""
        if not np.isfinite(accuracy) or (self.best is not None and accuracy <= self.best):
            return
        self.best, self.epoch, self._weights = float(accuracy), epoch, [w.copy() for w in self._net.get_weights()]
        if self._directory:
            os.makedirs(self._directory, exist_ok=True)
            tmp = os.path.join(self._directory, "best_weights.tmp.npz")
            np.savez(tmp, *self._weights)
            os.replace(tmp, os.path.join(self._directory, self.WEIGHTS))     # weights first, then the score
            write_json(os.path.join(self._directory, self.SCORE), {"epoch": epoch, "val_accuracy": self.best})

    def on_epoch_end(self, epoch, logs=None):
        self.offer(epoch + 1, (logs or {})["val_accuracy"])

    def restore(self) -> None:
        if self._weights is not None:
            self._net.set_weights(self._weights)


def train_classifier(model: keras.Model, train_data, validation_data, *, epochs: int, learning_rate: float,
                     batch_size: int, backup_dir: str | None = None, seed: int = 0, verbose: int = 1,
                     keep_start: bool = True) -> float:
    """Compile and train `model` (logits out) on (x, y) data or datasets; leave it with the weights of its best
    epoch on the validation data and return that accuracy. keep_start: the starting weights count as epoch 0
    (False when the validation data already chose them). With backup_dir, an interrupted run resumes after its
    last finished epoch."""
    shape = tuple(model.input_shape[1:])
    train_ds = as_dataset(train_data, batch_size, input_shape=shape, shuffle=True, seed=seed, what="train_data")
    val_ds = as_dataset(validation_data, batch_size, input_shape=shape, what="validation_data")
    compile_classifier(model, cosine_learning_rate(learning_rate, epochs, train_ds))
    callbacks, initial_epoch = [], 0
    if backup_dir:
        saver = EpochCheckpoint(model, backup_dir)
        initial_epoch = saver.restore()
        callbacks.append(saver)
    best = BestEpoch(model, backup_dir)
    if keep_start and initial_epoch == 0 and best.best is None:
        best.offer(0, model.evaluate(val_ds, verbose=0)[1])
    if epochs > initial_epoch:
        model.fit(train_ds, epochs=epochs, initial_epoch=initial_epoch, validation_data=val_ds,
                  callbacks=[best] + callbacks, verbose=verbose)
    best.restore()
    return best.best if best.best is not None else float(model.evaluate(val_ds, verbose=0)[1])


def finetune_subnet(supernet, arch: ArchConfig, train_data, validation_data, calibration_data, *, epochs: int,
                    learning_rate: float, batch_size: int, calibration_batches: int, backup_dir: str | None = None,
                    seed: int = 0, verbose: int = 1) -> tuple[keras.Model, float]:
    """(model, validation accuracy): `arch` extracted from `supernet` (its batch norm recalibrated) and trained
    `epochs` more epochs; the best of those epochs, not the extracted weights (see the module docstring)."""
    supernet.recalibrate_bn(arch, calibration_data, calibration_batches, batch_size)
    with supernet.strategy.scope():
        model = supernet.extract(arch)
        accuracy = train_classifier(model, train_data, validation_data, epochs=epochs,
                                    learning_rate=learning_rate, batch_size=batch_size, backup_dir=backup_dir,
                                    seed=seed, verbose=verbose, keep_start=False)
    return model, accuracy


def train_from_scratch(arch: ArchConfig, train_data, validation_data, *, epochs: int, learning_rate: float,
                       batch_size: int, backup_dir: str | None = None, seed: int = 0, verbose: int = 1,
                       strategy=None) -> tuple[keras.Model, float]:
    """(model, validation accuracy): build_model(arch) with fresh weights trained for `epochs` epochs."""
    with (strategy or tf.distribute.get_strategy()).scope():
        model = build_model(arch)
        accuracy = train_classifier(model, train_data, validation_data, epochs=epochs, learning_rate=learning_rate,
                                    batch_size=batch_size, backup_dir=backup_dir, seed=seed, verbose=verbose)
    return model, accuracy


def load_subnet(arch: ArchConfig, weights_path: str, learning_rate: float = 1e-3, strategy=None) -> keras.Model:
    """A compiled build_model(arch) with weights saved by a finished fine-tuning."""
    if not os.path.exists(weights_path):
        raise FileNotFoundError(f"no saved weights at {weights_path}")
    with (strategy or tf.distribute.get_strategy()).scope():
        model = build_model(arch)
        model.load_weights(weights_path)
        return compile_classifier(model, learning_rate)


__all__ = ["BestEpoch", "finetune_subnet", "train_classifier", "load_subnet", "compile_classifier"]
