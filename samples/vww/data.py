"""Visual Wake Words data: the standard folder layout, single image files and an offline proxy default.

Arrays are float32 in [0, 1] (the default) or uint8 in [0, 255] (``dtype="uint8"``, 4x smaller for the full
115k-image set), shaped (N, height, width, channels); labels are int32 with ``CLASS_NAMES`` order:
0 = non_person, 1 = person (alphabetical, as Keras' image_dataset_from_directory orders the MLPerf Tiny
``vw_coco2014_96`` folders). Every image is resized with the nearest rule of ``image_ops`` so that training, the
Python inference path and the C reader (``image_c/``) see the same pixels.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError
from tqdm import tqdm

from .image_ops import check_channels, normalize_resolution, resize_nearest, to_channels, to_unit_float
from .proxy_data import load_default_vww

CLASS_NAMES = ("non_person", "person")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")

__all__ = ["CLASS_NAMES", "IMAGE_SUFFIXES", "load_image", "load_vww", "load_default_vww"]


def _read_pixels(path: Path, resolution, channels: int) -> np.ndarray:
    """uint8 (height, width, channels) pixels of one image file."""
    try:
        with Image.open(path) as im:
            rgb = np.asarray(ImageOps.exif_transpose(im).convert("RGB"), dtype=np.uint8)
    except (UnidentifiedImageError, OSError, ValueError) as e:
        raise ValueError(f"cannot read image file {path}: {e}") from e
    return to_channels(resize_nearest(rgb, resolution), channels)


def _cast(pixels: np.ndarray, dtype: str) -> np.ndarray:
    if dtype == "float32":
        return to_unit_float(pixels)
    if dtype == "uint8":
        return pixels
    raise ValueError(f"dtype must be 'float32' or 'uint8', got {dtype!r}")


def load_image(path, resolution=(96, 96), channels: int = 3, dtype: str = "float32") -> np.ndarray:
    """One image file (BMP, PNG or JPEG) as a (height, width, channels) array, float32 in [0, 1] by default.

    Nearest resize and 601-2 luma for ``channels=1``, exactly as the C reader does it, so
    ``samples.quantize.quantize_int8(load_image(p, ...), scale, zero_point)`` equals the C reader's output."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"image file {path} does not exist")
    return _cast(_read_pixels(path, normalize_resolution(resolution), check_channels(channels)), dtype)


def _image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def _class_folders(root: Path) -> list[Path]:
    """The person/ and non_person/ folders of a VWW root, with a clear error when the layout is wrong."""
    if not root.is_dir():
        raise FileNotFoundError(f"VWW folder {root} does not exist or is not a folder")
    missing = [name for name in CLASS_NAMES if not (root / name).is_dir()]
    if missing:
        hint = ""
        nested = [d for d in root.iterdir() if d.is_dir() and all((d / n).is_dir() for n in CLASS_NAMES)]
        if nested:
            hint = f"; did you mean {nested[0]}?"
        raise ValueError(
            f"VWW folder {root} must hold the subfolders {' and '.join(n + '/' for n in CLASS_NAMES)} "
            f"(the vw_coco2014_96 layout); missing: {', '.join(missing)}{hint}")
    folders = [root / name for name in CLASS_NAMES]
    for folder in folders:
        if not _image_files(folder):
            raise ValueError(f"VWW class folder {folder} holds no images ({', '.join(IMAGE_SUFFIXES)})")
    return folders


def _split_files(files: list[Path], validation_split: float, rng: np.random.Generator):
    order = rng.permutation(len(files))
    n_val = int(round(len(files) * validation_split))
    if validation_split > 0 and len(files) > 1:
        n_val = min(max(n_val, 1), len(files) - 1)
    return [files[i] for i in order[n_val:]], [files[i] for i in order[:n_val]]


def _load_files(items, resolution, channels, dtype, progress, desc):
    """items: list of (path, label); returns (x, y) in the given order."""
    h, w = resolution
    x = np.empty((len(items), h, w, channels), dtype=np.float32 if dtype == "float32" else np.uint8)
    y = np.empty((len(items),), dtype=np.int32)
    for i, (path, label) in enumerate(tqdm(items, desc=desc, unit="img", disable=not progress)):
        x[i] = _cast(_read_pixels(path, resolution, channels), dtype)
        y[i] = label
    return x, y


def load_vww(path, resolution=(96, 96), channels: int = 3, validation_split: float = 0.1, seed: int = 0,
             max_images_per_class: int | None = None, dtype: str = "float32", progress: bool = False):
    """Read a Visual Wake Words folder: ``path/person/*`` and ``path/non_person/*`` image files (.jpg, .jpeg,
    .png, .bmp; other files are ignored), as in MLPerf Tiny's ``vw_coco2014_96``.

    Returns ``(x_train, y_train), (x_val, y_val)``. The split is stratified and deterministic: each class's files
    are sorted by name and permuted with ``seed``; the first ``validation_split`` of them go to validation.
    ``max_images_per_class`` keeps only that many files per class (after the permutation) for quick runs.
    The training set is shuffled with ``seed``; the validation set keeps class order."""
    resolution = normalize_resolution(resolution)
    channels = check_channels(channels)
    _cast(np.zeros((1,), np.uint8), dtype)  # validates dtype before any work
    if not 0.0 <= validation_split < 1.0:
        raise ValueError(f"validation_split must be in [0, 1), got {validation_split!r}")
    if max_images_per_class is not None and max_images_per_class < 1:
        raise ValueError(f"max_images_per_class must be at least 1, got {max_images_per_class!r}")
    rng = np.random.default_rng(seed)
    train, val = [], []
    for label, folder in enumerate(_class_folders(Path(path))):
        files = _image_files(folder)
        if max_images_per_class is not None:
            files = [files[i] for i in rng.permutation(len(files))[:max_images_per_class]]
        tr, va = _split_files(files, validation_split, rng)
        train += [(p, label) for p in tr]
        val += [(p, label) for p in va]
    train = [train[i] for i in rng.permutation(len(train))]
    return (_load_files(train, resolution, channels, dtype, progress, "VWW train"),
            _load_files(val, resolution, channels, dtype, progress, "VWW val"))
