"""Reader of the Google Speech Commands v0.02 folder layout for the 12-class keyword spotting task."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .labels import KEYWORDS, LABELS, SILENCE_LABEL, UNKNOWN_LABEL
from .wav_io import CLIP_SAMPLES, fit_clip, read_wav

BACKGROUND_NOISE_DIR = "_background_noise_"
VALIDATION_LIST = "validation_list.txt"
TESTING_LIST = "testing_list.txt"
SPLITS = ("train", "validation", "testing")


def _word_files(root: Path) -> dict[str, list[str]]:
    """word -> sorted 'word/file.wav' paths of every word folder (folders starting with '_' are not words)."""
    words = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(("_", "."))):
        files = sorted(f"{folder.name}/{f.name}" for f in folder.iterdir() if f.suffix.lower() == ".wav")
        if files:
            words[folder.name] = files
    return words


def _read_list(root: Path, name: str, known: set[str]) -> set[str]:
    path = root / name
    if not path.is_file():
        raise ValueError(f"Speech Commands folder {root} has no {name} (the v0.02 layout has "
                         f"{VALIDATION_LIST} and {TESTING_LIST} beside the word folders)")
    entries = {line.strip() for line in path.read_text().splitlines() if line.strip()}
    missing = sorted(entries - known)
    if missing:
        raise ValueError(f"{path} lists {len(missing)} clip(s) that are not in {root}, e.g. {missing[0]}")
    return entries


def _noise_clips(root: Path) -> list[np.ndarray]:
    folder = root / BACKGROUND_NOISE_DIR
    files = sorted(folder.glob("*.wav")) if folder.is_dir() else []
    if not files:
        raise ValueError(f"Speech Commands folder {root} needs {BACKGROUND_NOISE_DIR}/ with background noise wav "
                         "files to make the 'silence' class (or pass silence_percentage=0)")
    return [read_wav(f) for f in files]


def _silence(noises: list[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """1 s of a random background noise file at a random volume in [0, 1], as TensorFlow's speech example."""
    noise = noises[rng.integers(len(noises))]
    if len(noise) < CLIP_SAMPLES:
        noise = fit_clip(noise)
    start = int(rng.integers(0, len(noise) - CLIP_SAMPLES + 1))
    segment = noise[start:start + CLIP_SAMPLES].astype(np.float32) * np.float32(rng.uniform(0.0, 1.0))
    return np.clip(np.round(segment), -32768, 32767).astype(np.int16)


def _pick(files: list[str], n: int | None, rng: np.random.Generator) -> list[str]:
    if n is None or n >= len(files):
        return files
    return [files[i] for i in np.sort(rng.permutation(len(files))[:n])]


def load_speech_commands(path, silence_percentage: float = 10.0, unknown_percentage: float = 10.0,
                         max_per_word: int | None = None, seed: int = 0, progress: bool = False):
    """Read a Speech Commands v0.02 folder: word folders of 16 kHz 16-bit mono wav clips,
    ``validation_list.txt``, ``testing_list.txt`` and ``_background_noise_/``.

    Returns ``(x_train, y_train), (x_val, y_val), (x_test, y_test)``: int16 waveforms (N, 16000) and int32
    labels into ``LABELS``. Clips listed in the two list files form validation and test; all others train.
    In each split, "unknown" holds ceil(unknown_percentage% of the split's keyword clips) clips drawn from the
    non-keyword words, and "silence" ceil(silence_percentage%) 1 s segments of the background noise files at a
    random volume (as TensorFlow's speech_commands example makes them). ``max_per_word`` keeps at most that many
    clips of each word in each split, for quick runs. Everything is deterministic for a given ``seed``."""
    root = Path(path)
    if not root.is_dir():
        raise FileNotFoundError(f"Speech Commands folder {root} does not exist or is not a folder")
    for name, value in (("silence_percentage", silence_percentage), ("unknown_percentage", unknown_percentage)):
        if not 0 <= value <= 100:
            raise ValueError(f"{name} must be in [0, 100], got {value!r}")
    if max_per_word is not None and max_per_word < 1:
        raise ValueError(f"max_per_word must be at least 1, got {max_per_word!r}")
    words = _word_files(root)
    missing = [w for w in KEYWORDS if w not in words]
    if missing:
        raise ValueError(f"Speech Commands folder {root} lacks the keyword folder(s) {', '.join(missing)} "
                         "(each a folder of .wav clips)")
    unknown_words = [w for w in words if w not in KEYWORDS]
    if unknown_percentage > 0 and not unknown_words:
        raise ValueError(f"Speech Commands folder {root} has no non-keyword word folders to make the 'unknown' "
                         "class (or pass unknown_percentage=0)")
    known = {f for files in words.values() for f in files}
    held_out = {"validation": _read_list(root, VALIDATION_LIST, known),
                "testing": _read_list(root, TESTING_LIST, known)}
    noises = _noise_clips(root) if silence_percentage > 0 else []

    rng = np.random.default_rng(seed)

    def split_of(f):
        return "validation" if f in held_out["validation"] else "testing" if f in held_out["testing"] else "train"

    result = []
    for split in SPLITS:
        items = []
        for label, word in enumerate(KEYWORDS):
            items += [(f, label) for f in _pick([f for f in words[word] if split_of(f) == split], max_per_word, rng)]
        n_keywords = len(items)
        pool = [f for w in unknown_words for f in _pick([f for f in words[w] if split_of(f) == split],
                                                       max_per_word, rng)]
        n_unknown = math.ceil(n_keywords * unknown_percentage / 100)
        items += [(f, LABELS.index(UNKNOWN_LABEL)) for f in _pick(pool, n_unknown, rng)]
        n_silence = math.ceil(n_keywords * silence_percentage / 100)
        x = np.empty((len(items) + n_silence, CLIP_SAMPLES), dtype=np.int16)
        y = np.empty((len(x),), dtype=np.int32)
        for i, (f, label) in enumerate(tqdm(items, desc=f"Speech Commands {split}", unit="clip",
                                            disable=not progress)):
            x[i], y[i] = fit_clip(read_wav(root / f)), label
        for i in range(len(items), len(x)):
            x[i], y[i] = _silence(noises, rng), LABELS.index(SILENCE_LABEL)
        order = rng.permutation(len(x))
        result.append((x[order], y[order]))
    return tuple(result)
