"""Synthetic background noise for the offline keyword spotting data: white, pink, brown and mains hum."""
from __future__ import annotations

import numpy as np

from .wav_io import SAMPLE_RATE

NOISE_KINDS = ("white", "pink", "brown", "hum")


def _shaped(n: int, exponent: float, rng: np.random.Generator) -> np.ndarray:
    """Gaussian noise whose power falls as 1/f**exponent (0: white, 1: pink, 2: brown), DC removed."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, d=1.0 / SAMPLE_RATE)
    gain = np.zeros_like(f)
    gain[1:] = 1.0 / np.maximum(f[1:], 20.0) ** (exponent / 2)
    return np.fft.irfft(spectrum * gain, n)


def _hum(n: int, rng: np.random.Generator) -> np.ndarray:
    """Mains hum (50 or 60 Hz and harmonics with random amplitudes and phases) over a little white noise."""
    t = np.arange(n) / SAMPLE_RATE
    base = rng.choice([50.0, 60.0])
    x = sum(rng.uniform(0.1, 1.0) / k * np.sin(2 * np.pi * base * k * t + rng.uniform(0, 2 * np.pi))
            for k in range(1, 8))
    return x + 0.05 * rng.standard_normal(n)


def make_noise(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` samples of ``kind`` noise (one of NOISE_KINDS), float64 with unit RMS."""
    if kind == "hum":
        x = _hum(n, rng)
    elif kind in NOISE_KINDS:
        x = _shaped(n, float(NOISE_KINDS.index(kind)), rng)
    else:
        raise ValueError(f"unknown noise kind {kind!r}; one of {', '.join(NOISE_KINDS)}")
    return x / max(float(np.sqrt(np.mean(x ** 2))), 1e-12)
