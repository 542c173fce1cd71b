"""Input resizing: how `keras_mcunet.search` fed the user's data to the model it returns, and the same resizing
applied downstream (quantize, export_tflite, evaluate_tflite) to data of another size, with a warning.

The search resizes inputs bilinearly (tf.image.resize) to the resolution stage 1 chose; the returned model
carries an `InputResizing` as its `input_resizing` attribute (and the project's best_model.json holds it), so
the data that went into search() works unchanged afterwards. Models without the record (build_model,
Supernet.extract) still reject inputs of another size."""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from ._tf import tf
from .search_space import Resolution, resolution_hw

METHOD = "bilinear"
ATTRIBUTE = "input_resizing"


@dataclass(frozen=True)
class InputResizing:
    """Inputs of data_hw (height, width) were resized to model_hw, the model's input, with `method`."""
    data_hw: tuple[int, int]
    model_hw: tuple[int, int]
    method: str = METHOD

    def to_dict(self) -> dict:
        return {"data_hw": list(self.data_hw), "model_hw": list(self.model_hw), "method": self.method}

    @classmethod
    def from_dict(cls, d: dict) -> InputResizing:
        return cls(tuple(d["data_hw"]), tuple(d["model_hw"]), d.get("method", METHOD))


def resize_inputs(x, hw: tuple[int, int], chunk: int = 1024) -> np.ndarray:
    """(N, H, W, C) inputs as float32, resized bilinearly to hw (height, width) in chunks (unchanged if H, W = hw)."""
    x = np.asarray(x, dtype=np.float32)
    if tuple(x.shape[1:3]) == tuple(hw):
        return x
    return np.concatenate([tf.image.resize(x[i:i + chunk], hw).numpy() for i in range(0, len(x), chunk)])


def resize_data(data, resolution: Resolution):
    """`data` ((x, y) arrays or a tf.data dataset of (x, y), batched or not) with inputs resized bilinearly to
    `resolution` and cast to float32; labels as they are. Datasets are mapped lazily."""
    hw = resolution_hw(resolution)
    if isinstance(data, tf.data.Dataset):
        def resize(x, y, *rest):
            x = tf.cast(x, tf.float32)
            if tuple(x.shape[-3:-1]) != hw:
                x = tf.image.resize(x, hw)
            return (x, y, *rest)
        return data.map(resize)
    x, y = data
    return resize_inputs(x, hw), np.asarray(y)


def _inputs_hw(data) -> tuple[int, int] | None:
    """(H, W) of the inputs of an array, an (x, y) pair or a dataset; None when unknown."""
    if isinstance(data, tf.data.Dataset):
        spec = data.element_spec
        shape = (spec[0] if isinstance(spec, tuple) else spec).shape
        hw = tuple(shape[-3:-1]) if shape.rank in (3, 4) else ()
        return hw if len(hw) == 2 and None not in hw else None
    x = data[0] if isinstance(data, (tuple, list)) and len(data) == 2 else data
    shape = getattr(x, "shape", None)
    return tuple(int(d) for d in shape[1:3]) if shape is not None and len(shape) == 4 else None


def _say_resizing(what: str, from_hw, resizing: InputResizing) -> None:
    warnings.warn(f"{what}: resizing inputs from {from_hw[0]}x{from_hw[1]} to {resizing.model_hw[0]}x"
                  f"{resizing.model_hw[1]} ({resizing.method}), as keras_mcunet.search did for this model",
                  stacklevel=3)


def fit_inputs(model, data, what: str):
    """`data` (array, (x, y) pair or dataset) resized to `model`'s input when the model carries an InputResizing
    and the data have another height and width (with a warning saying so); else `data` unchanged."""
    resizing = getattr(model, ATTRIBUTE, None)
    hw = _inputs_hw(data)
    if not isinstance(resizing, InputResizing) or hw is None or hw == tuple(resizing.model_hw):
        return data
    _say_resizing(what, hw, resizing)
    if isinstance(data, tf.data.Dataset) and not isinstance(data.element_spec, tuple):
        return data.map(lambda x: tf.image.resize(tf.cast(x, tf.float32), resizing.model_hw))
    if isinstance(data, tf.data.Dataset):
        return resize_data(data, resizing.model_hw)
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return resize_data(data, resizing.model_hw)
    return resize_inputs(data, resizing.model_hw)


def fit_array(x: np.ndarray, model_hw: tuple[int, int], resizing: InputResizing | None, what: str) -> np.ndarray:
    """Inputs `x` resized to model_hw when `resizing` is given and their height and width differ (saying so)."""
    hw = _inputs_hw(x)
    if resizing is None or hw is None or hw == tuple(model_hw):
        return x
    if not isinstance(resizing, InputResizing):
        raise ValueError(f"resizing must be an InputResizing (a searched model's input_resizing), got "
                         f"{type(resizing).__name__}")
    _say_resizing(what, hw, resizing)
    return resize_inputs(x, tuple(model_hw))
