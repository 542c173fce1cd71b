"""Data handling for keras_mcunet.search: the input shape of what the user passed, resizing to the resolution
stage 1 chose (keras_mcunet.resizing, which the returned model's downstream steps share), and the calibration
inputs for batch-norm recalibration.

numpy data ((x, y) pairs of (N, H, W, C) inputs and integer labels) stay numpy (resized once, in chunks), so the
supernet shuffles them and knows their length; tf.data datasets (of (x, y), batched or not) are mapped lazily.
"""
from __future__ import annotations

import numpy as np

from keras_mcunet._tf import tf
from keras_mcunet.resizing import resize_data

__all__ = ["input_shape_of", "resize_data", "calibration_inputs"]


def input_shape_of(data, what: str) -> tuple[int, int, int]:
    """(H, W, C) of one input sample of an (x, y) pair of arrays or a dataset of (x, y)."""
    if isinstance(data, tf.data.Dataset):
        spec = data.element_spec
        if not (isinstance(spec, tuple) and len(spec) >= 2):
            raise ValueError(f"{what}: the dataset must yield (x, y) pairs, its elements are {spec}")
        shape = spec[0].shape
        if shape.rank not in (3, 4) or None in tuple(shape[-3:]):
            raise ValueError(f"{what}: dataset inputs must have a known (H, W, C) shape, got {shape}")
        return tuple(int(d) for d in shape[-3:])
    if isinstance(data, (tuple, list)) and len(data) == 2:
        x = np.asarray(data[0]) if not hasattr(data[0], "shape") else data[0]
        if len(x.shape) != 4:
            raise ValueError(f"{what}: inputs must be a 4-D array (N, H, W, C), got shape {tuple(x.shape)}")
        if len(x) != len(data[1]):
            raise ValueError(f"{what}: {len(x)} inputs but {len(data[1])} labels")
        if len(x) == 0:
            raise ValueError(f"{what}: no samples")
        return tuple(int(d) for d in x.shape[1:])
    raise ValueError(f"{what}: expected an (x, y) pair of numpy arrays or a tf.data.Dataset of (x, y), got "
                     f"{type(data).__name__}")


def calibration_inputs(train_data, num_samples: int, seed: int):
    """Inputs for BN recalibration: a fixed random subset of numpy training inputs (so sorted data still
    gives representative statistics), or the training dataset itself (its first batches are used)."""
    if isinstance(train_data, tf.data.Dataset):
        return train_data
    x = train_data[0]
    if len(x) <= num_samples:
        return x
    index = np.random.default_rng(seed).choice(len(x), num_samples, replace=False)
    return x[np.sort(index)]
