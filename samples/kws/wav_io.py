"""16 kHz, 16-bit, mono PCM wav files (the Speech Commands format) with the standard-library ``wave`` module."""
from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

SAMPLE_RATE = 16000
CLIP_SAMPLES = SAMPLE_RATE  # 1 s clips


def read_wav(path, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """The samples of a 16-bit mono PCM wav file at ``sample_rate`` Hz as an int16 array.

    Raises FileNotFoundError for a missing file and ValueError, naming the file, for anything else (not a
    RIFF/WAVE file, compressed, other sample width, channel count or rate)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"wav file {path} does not exist")
    try:
        with wave.open(str(path), "rb") as w:
            channels, width, rate, n = w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()
            problems = []
            if channels != 1:
                problems.append(f"{channels} channels (need mono)")
            if width != 2:
                problems.append(f"{8 * width}-bit samples (need 16-bit)")
            if rate != sample_rate:
                problems.append(f"{rate} Hz (need {sample_rate} Hz)")
            if problems:
                raise ValueError(f"wav file {path} is not 16-bit mono {sample_rate} Hz PCM: {', '.join(problems)}")
            data = w.readframes(n)
    except (wave.Error, EOFError) as e:
        raise ValueError(f"wav file {path} is not a PCM wav file: {e}") from e
    if len(data) != 2 * n:
        raise ValueError(f"wav file {path} is truncated: header says {n} samples, holds {len(data) // 2}")
    return np.frombuffer(data, dtype="<i2").astype(np.int16)


def write_wav(path, samples, sample_rate: int = SAMPLE_RATE) -> None:
    """Write int16 samples as a 16-bit mono PCM wav file."""
    samples = np.asarray(samples)
    if samples.dtype != np.int16 or samples.ndim != 1:
        raise ValueError(f"write_wav needs a 1-D int16 array, got {samples.dtype} with shape {samples.shape}")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(samples.astype("<i2").tobytes())


def fit_clip(samples, length: int = CLIP_SAMPLES) -> np.ndarray:
    """Zero-pad at the end or cut ``samples`` to ``length`` samples (int16)."""
    samples = np.asarray(samples, dtype=np.int16)[:length]
    return np.pad(samples, (0, length - len(samples)))
