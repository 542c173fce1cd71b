"""Turn what users pass as data (numpy arrays or tf.data datasets) into batched tf.data datasets, checking shapes."""
from __future__ import annotations

import numpy as np

from tinyengine_tflite.arguments import check_count

from ._tf import tf


def _check_x(x: np.ndarray, input_shape: tuple | None, what: str) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 4:
        raise ValueError(f"{what}: inputs must be a 4-D array (N, H, W, C), got shape {x.shape}")
    if len(x) == 0:
        raise ValueError(f"{what}: no samples")
    if input_shape is not None and tuple(x.shape[1:]) != tuple(input_shape):
        raise ValueError(f"{what}: inputs have shape {tuple(x.shape[1:])} per sample, the model expects "
                         f"{tuple(input_shape)}")
    return x.astype(np.float32, copy=False)


def _check_y(y, n: int, what: str) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"{what}: labels must be a 1-D array of integer class ids, got shape {y.shape} "
                         f"dtype {y.dtype}")
    if len(y) != n:
        raise ValueError(f"{what}: {n} inputs but {len(y)} labels")
    return y.astype(np.int32)


def as_dataset(data, batch_size: int = 32, *, labels: bool = True, input_shape: tuple | None = None,
               shuffle: bool = False, drop_remainder: bool = False, seed: int = 0,
               what: str = "data") -> tf.data.Dataset:
    """A batched dataset of (x, y) (labels=True) or of x alone (labels=False).

    data: a tf.data.Dataset of (x, y) or x elements, batched or not; a tuple (x, y) of numpy arrays; or, when
    labels are not needed, an array x. numpy inputs are (N, H, W, C) floats, labels 1-D integer class ids.
    shuffle applies to numpy data; drop_remainder to numpy data and unbatched datasets. A batched dataset is
    used as it is."""
    batch_size = check_count(batch_size, "batch_size")
    if isinstance(data, tf.data.Dataset):
        return _from_dataset(data, batch_size, labels, input_shape, drop_remainder, what)
    if isinstance(data, (tuple, list)):
        if len(data) != 2:
            raise ValueError(f"{what}: expected a pair (x, y), got a sequence of {len(data)} items")
        x = _check_x(data[0], input_shape, what)
        y = _check_y(data[1], len(x), what)
        ds = tf.data.Dataset.from_tensor_slices((x, y) if labels else x)
        n = len(x)
    elif isinstance(data, np.ndarray):
        if labels:
            raise ValueError(f"{what}: labels are needed; pass (x, y) or a dataset of (x, y)")
        ds = tf.data.Dataset.from_tensor_slices(_check_x(data, input_shape, what))
        n = len(data)
    else:
        raise ValueError(f"{what}: expected a tf.data.Dataset, an (x, y) pair of arrays or an array, "
                         f"got {type(data).__name__}")
    if shuffle:
        ds = ds.shuffle(min(n, 10_000), seed=seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size, drop_remainder=drop_remainder)


def _from_dataset(ds: tf.data.Dataset, batch_size: int, labels: bool, input_shape, drop_remainder: bool,
                  what: str):
    spec = ds.element_spec
    paired = isinstance(spec, tuple) and len(spec) >= 2
    if labels and not paired:
        raise ValueError(f"{what}: the dataset must yield (x, y) pairs, its elements are {spec}")
    x_spec = spec[0] if paired else spec
    if not isinstance(x_spec, tf.TensorSpec):
        raise ValueError(f"{what}: the dataset's inputs must be tensors, got {x_spec}")
    rank = x_spec.shape.rank
    if rank == 3:
        ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    elif rank != 4:
        raise ValueError(f"{what}: dataset inputs must be (H, W, C) samples or (N, H, W, C) batches, "
                         f"got shape {x_spec.shape}")
    if paired and spec[1].shape.rank not in (None, rank - 3):
        raise ValueError(f"{what}: labels must be integer class ids, one per sample; their shape is "
                         f"{spec[1].shape} for inputs of shape {x_spec.shape}")
    sample_shape = tuple(x_spec.shape[-3:])
    if input_shape is not None and None not in sample_shape and sample_shape != tuple(input_shape):
        raise ValueError(f"{what}: inputs have shape {sample_shape} per sample, the model expects "
                         f"{tuple(input_shape)}")
    if labels:
        return ds.map(lambda x, y, *_: (tf.cast(x, tf.float32), tf.cast(y, tf.int32)))
    return ds.map(lambda x, *_: tf.cast(x, tf.float32)) if paired else ds.map(lambda x: tf.cast(x, tf.float32))


def known_length(ds: tf.data.Dataset) -> int | None:
    """Number of batches of a finite dataset whose size tf.data knows, else None."""
    n = int(ds.cardinality())
    return n if n >= 0 else None
