"""Stage 2a: train the supernet of the chosen space (sandwich rule, checkpoint per epoch, resumable), with
Adam and a cosine learning-rate decay as Once-for-All."""
from __future__ import annotations

import os

from keras_mcunet._tf import keras
from keras_mcunet.data import as_dataset, known_length

from .project_files import SUPERNET_DONE, write_json


def supernet_optimizer(supernet, train_data, learning_rate: float, epochs: int, steps_per_epoch: int | None,
                       batch_size: int):
    """Adam under the supernet's strategy, cosine-decayed over all steps when their number is known."""
    steps = steps_per_epoch or known_length(as_dataset(train_data, batch_size, drop_remainder=True,
                                                       what="train_data"))
    rate = learning_rate
    if steps and epochs:
        rate = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=epochs * steps, alpha=0.01)
    with supernet.strategy.scope():
        return keras.optimizers.Adam(rate)


def train_supernet(supernet, train_data, checkpoint_dir: str, *, epochs: int, steps_per_epoch: int | None,
                   learning_rate: float, batch_size: int, num_random: int, seed: int, verbose: bool,
                   distill: bool = False) -> dict:
    """fit_supernet with checkpoints in `checkpoint_dir` (a resumed call continues after the last saved epoch,
    a finished one only restores), then mark the directory trained. Returns fit_supernet's history."""
    history = supernet.fit_supernet(
        train_data, epochs=epochs, steps_per_epoch=steps_per_epoch, batch_size=batch_size, num_random=num_random,
        checkpoint_dir=checkpoint_dir, seed=seed, distill=distill, verbose=verbose,
        optimizer=supernet_optimizer(supernet, train_data, learning_rate, epochs, steps_per_epoch, batch_size))
    write_json(os.path.join(checkpoint_dir, SUPERNET_DONE), {"epochs": epochs})
    return history
