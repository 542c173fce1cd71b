"""Offline default for Visual Wake Words: a person / no-person proxy built from images scikit-image ships.

What it is (plainly): not COCO. Each "person" image is a scene crop (skimage's bundled photos and textures)
with a real face pasted into it (one of the 100 25x25 LFW face patches of ``skimage.data.lfw_subset()``), or,
for 15% of them, a crop of one of skimage's two photos of a person (``astronaut`` for training, ``camera`` for
validation). Each "non_person" image is built the same way from the same scenes, with a non-face square pasted
in (one of the 100 non-face patches of ``lfw_subset()`` or a gray crop of another scene) for 85% of them and
nothing for 15%, so a pasted square by itself says nothing about the label. Augmentation: random crops, patch
size and position, flips, grayscale (half the images, like a grayscale camera), brightness, contrast, noise.
Validation uses held-out faces (20), non-face patches (20), scenes and person photo, so its accuracy measures
generalization to unseen faces and backgrounds. The task is "is there a face in this scene": a stand-in that
exercises the pipeline offline on 2 CPU cores in minutes. A small CNN reaches ~78% validation accuracy on it, and
it does not transfer to real photos (such a model called both shared/data/person.bmp and no_person.bmp
"person"); use ``load_vww`` on the real Visual Wake Words data for a meaningful person detector.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from PIL import Image

from .image_ops import check_channels, normalize_resolution, rgb_to_gray, to_channels, to_unit_float

TRAIN_SCENES = ("coffee", "chelsea", "coins", "moon", "brick", "grass", "page", "text", "hubble_deep_field",
                "immunohistochemistry")
VAL_SCENES = ("rocket", "clock", "gravel")
TRAIN_PERSON_PHOTOS = ("astronaut",)
VAL_PERSON_PHOTOS = ("camera",)
N_TRAIN_PATCHES = 80  # of the 100 face and 100 non-face patches; the other 20 of each are for validation
PHOTO_FRACTION = 0.15
GRAY_FRACTION = 0.5


def _skimage_data():
    try:
        import skimage.data
    except ImportError as e:
        raise ImportError("the default VWW data need scikit-image (pip install scikit-image)") from e
    return skimage.data


@lru_cache(maxsize=None)
def _photo(name: str) -> Image.Image:
    """One of skimage's bundled photos as an RGB PIL image."""
    arr = np.asarray(getattr(_skimage_data(), name)())
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=2)
    return Image.fromarray(np.ascontiguousarray(arr[..., :3]).astype(np.uint8), "RGB")


@lru_cache(maxsize=1)
def _patches() -> tuple[np.ndarray, np.ndarray]:
    """(faces, non_faces): two uint8 (100, 25, 25) arrays from skimage.data.lfw_subset()."""
    patches = np.asarray(_skimage_data().lfw_subset())
    if patches.shape != (200, 25, 25):
        raise RuntimeError(f"skimage.data.lfw_subset() has shape {patches.shape}, expected (200, 25, 25)")
    patches = np.round(np.clip(patches, 0.0, 1.0) * 255).astype(np.uint8)
    return patches[:100], patches[100:]


def _random_crop(im: Image.Image, aspect: float, min_frac: float, rng, size) -> Image.Image:
    """A random crop of ``im`` with width/height ``aspect``, side at least min_frac of the largest that fits,
    resized (bilinear) to ``size`` = (width, height)."""
    w, h = im.size
    max_h = min(h, w / aspect)
    ch = max_h * rng.uniform(min_frac, 1.0)
    cw = ch * aspect
    x0 = rng.uniform(0, w - cw)
    y0 = rng.uniform(0, h - ch)
    return im.resize(size, Image.BILINEAR, box=(x0, y0, x0 + cw, y0 + ch))


def _patch_image(patch, side: int, rng) -> Image.Image:
    """An augmented patch (crop, flip, contrast), resized to side x side, as RGB. ``patch`` is a 25x25 uint8
    array or a PIL image (a scene, of which a random square crop is taken)."""
    im = Image.fromarray(patch, "L") if isinstance(patch, np.ndarray) else patch.convert("L")
    crop = _random_crop(im, 1.0, 0.8 if isinstance(patch, np.ndarray) else 0.1, rng, (side, side))
    if rng.random() < 0.5:
        crop = crop.transpose(Image.FLIP_LEFT_RIGHT)
    arr = np.asarray(crop, dtype=np.float32)
    arr = (arr - arr.mean()) * rng.uniform(0.7, 1.3) + arr.mean() + rng.uniform(-25, 25)
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "L").convert("RGB")


def _compose(scene: str, patch, size, rng) -> np.ndarray:
    """uint8 (h, w, 3): a crop of ``scene`` with ``patch`` (or nothing when None) pasted at a random place."""
    w, h = size
    canvas = _random_crop(_photo(scene), w / h, 0.25, rng, size)
    if patch is not None:
        side = max(4, int(round(min(w, h) * rng.uniform(0.35, 0.8))))
        canvas.paste(_patch_image(patch, side, rng), (int(rng.integers(0, w - side + 1)),
                                                      int(rng.integers(0, h - side + 1))))
    return np.asarray(canvas, dtype=np.uint8)


def _photometric(rgb: np.ndarray, rng) -> np.ndarray:
    """Flip, grayscale (half of the images), brightness, contrast and sensor noise on a uint8 (h, w, 3) image."""
    if rng.random() < 0.5:
        rgb = rgb[:, ::-1]
    if rng.random() < GRAY_FRACTION:
        rgb = np.repeat(rgb_to_gray(rgb), 3, axis=2)
    x = rgb.astype(np.float32)
    mean = x.mean()
    x = (x - mean) * rng.uniform(0.75, 1.25) + mean * rng.uniform(0.7, 1.3)
    x += rng.normal(0.0, rng.uniform(0.0, 6.0), size=x.shape).astype(np.float32)
    return np.clip(np.round(x), 0, 255).astype(np.uint8)


def _make_split(n_per_class, faces, non_faces, scenes, person_photos, size, channels, rng):
    w, h = size
    x = np.empty((2 * n_per_class, h, w, channels), dtype=np.uint8)
    y = np.repeat(np.array([0, 1], dtype=np.int32), n_per_class)
    for i, label in enumerate(y):
        use_photo = rng.random() < PHOTO_FRACTION
        if label == 1 and use_photo:
            rgb = np.asarray(_random_crop(_photo(str(rng.choice(person_photos))), w / h, 0.6, rng, size))
        else:
            if use_photo:
                patch = None
            elif label == 1:
                patch = faces[rng.integers(len(faces))]
            elif rng.random() < 0.5:
                patch = non_faces[rng.integers(len(non_faces))]
            else:
                patch = _photo(str(rng.choice(scenes)))
            rgb = _compose(str(rng.choice(scenes)), patch, size, rng)
        x[i] = to_channels(_photometric(rgb, rng), channels)
    order = rng.permutation(len(y))
    return x[order], y[order]


def load_default_vww(resolution=(96, 96), channels: int = 3, seed: int = 0, samples_per_class: int = 1000,
                     val_samples_per_class: int = 200, dtype: str = "float32"):
    """The offline VWW proxy described in the module docstring, in ``load_vww``'s format:
    ``(x_train, y_train), (x_val, y_val)``, x float32 in [0, 1] (or uint8 with ``dtype="uint8"``) shaped
    (N, height, width, channels), y int32 (0 = non_person, 1 = person), exactly ``samples_per_class`` training
    and ``val_samples_per_class`` validation images per class, deterministic for a given seed."""
    h, w = normalize_resolution(resolution)
    channels = check_channels(channels)
    if samples_per_class < 1 or val_samples_per_class < 1:
        raise ValueError("samples_per_class and val_samples_per_class must be at least 1, got "
                         f"{samples_per_class!r} and {val_samples_per_class!r}")
    if dtype not in ("float32", "uint8"):
        raise ValueError(f"dtype must be 'float32' or 'uint8', got {dtype!r}")
    faces, non_faces = _patches()
    rng = np.random.default_rng(seed)
    n = N_TRAIN_PATCHES
    train = _make_split(samples_per_class, faces[:n], non_faces[:n], TRAIN_SCENES, TRAIN_PERSON_PHOTOS,
                        (w, h), channels, rng)
    val = _make_split(val_samples_per_class, faces[n:], non_faces[n:], VAL_SCENES, VAL_PERSON_PHOTOS,
                      (w, h), channels, rng)
    if dtype == "float32":
        train, val = (to_unit_float(train[0]), train[1]), (to_unit_float(val[0]), val[1])
    return train, val
