"""Offline default keyword spotting data: the 12 Speech Commands classes spoken by espeak-ng.

What it is (plainly): synthetic speech, not recordings. Every keyword clip and every "unknown" clip (25 other
Speech Commands words: bed, bird, cat, ...) is one word spoken by the espeak-ng formant synthesizer with a
random speaker (one of 8 English accents x 40 voice variants: male, female, klatt and named variants), a random
speed (120-210 words per minute) and pitch (20-80); the 22.05 kHz output is resampled to 16 kHz, trimmed,
placed at a random offset in a 1 s clip at a random level and mixed with synthetic noise (white, pink, brown or
mains hum) at 5-30 dB SNR (10% of clips stay clean), after a random microphone tilt and, for half of them, room
reverberation. "silence" clips come from ``_background_noise_/``, 10 s files of the same four noises (each
fading in from -50 dB, so silence ranges from near-digital to loud), as in Speech Commands. Splits are
speaker-disjoint: the 320 speakers are split 80/10/10 into train, validation and test pools.

How far it carries: a small CNN on 200 clips per class reaches ~88-92% on the held-out synthetic speakers and
recognizes the real silence and noise clips of shared/data, but not the real "yes" / "no" recordings: formant
synthesis is far from human voices. Use ``load_speech_commands`` on the real data set for a usable model.

The clips are written in the Speech Commands v0.02 layout (word folders, validation_list.txt, testing_list.txt,
_background_noise_/) and read back with ``load_speech_commands``, so the default and the real data set take the
same path. A finished folder carries ``synthesis.json``; a second call with the same parameters reuses it.
"""
from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import wave
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .labels import KEYWORDS
from .speech_commands import BACKGROUND_NOISE_DIR, TESTING_LIST, VALIDATION_LIST, load_speech_commands
from .synthetic_noise import NOISE_KINDS, make_noise
from .wav_io import CLIP_SAMPLES, SAMPLE_RATE, write_wav

FORMAT_VERSION = 2
MANIFEST = "synthesis.json"
UNKNOWN_WORDS = ("bed", "bird", "cat", "dog", "eight", "five", "four", "happy", "house", "marvin", "nine", "one",
                 "seven", "sheila", "six", "three", "tree", "two", "wow", "zero", "backward", "forward", "follow",
                 "learn", "visual")
VOICES = ("en", "en-us", "en-us-nyc", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-029")
VARIANTS = ("", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "f1", "f2", "f3", "f4", "f5", "klatt", "klatt2",
            "klatt3", "Andy", "Annie", "Alicia", "Denis", "Gene", "Jacky", "Lee", "Mike", "aunty", "belinda",
            "david", "edward", "john", "linda", "max", "michel", "paul", "rob", "robert", "steph", "zac",
            "grandma", "grandpa")
SPEED_WPM = (120, 210)
PITCH = (20, 80)
SNR_DB = (5.0, 30.0)
CLEAN_FRACTION = 0.1
TILT = (-0.9, 0.95)
REVERB_FRACTION = 0.5
RT60_S = (0.1, 0.5)
BACKGROUND_SECONDS = 10
BACKGROUND_RMS = 3000.0
BACKGROUND_RANGE_DB = -50.0  # each noise file fades in from 50 dB below BACKGROUND_RMS
SPLIT_FRACTIONS = {"validation": 0.1, "testing": 0.1}


def default_cache_dir() -> Path:
    """$KERAS_MCUNET_CACHE, else ~/.cache/keras_mcunet."""
    return Path(os.environ.get("KERAS_MCUNET_CACHE", Path.home() / ".cache" / "keras_mcunet"))


def espeak_executable() -> str:
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise RuntimeError("espeak-ng is not on PATH; the default keyword spotting data need it "
                           "(Debian package espeak-ng, listed in .ci/apt-packages.txt: apt-get install espeak-ng)")
    return exe


def _speaker_pools(rng: np.random.Generator) -> dict[str, list[tuple[str, str]]]:
    speakers = [(v, var) for v in VOICES for var in VARIANTS]
    speakers = [speakers[i] for i in rng.permutation(len(speakers))]
    n_val = int(round(len(speakers) * SPLIT_FRACTIONS["validation"]))
    n_test = int(round(len(speakers) * SPLIT_FRACTIONS["testing"]))
    return {"validation": speakers[:n_val], "testing": speakers[n_val:n_val + n_test],
            "train": speakers[n_val + n_test:]}


def _split_counts(n: int) -> dict[str, int]:
    held = {s: max(1, int(round(n * f))) for s, f in SPLIT_FRACTIONS.items()}
    return {"train": n - sum(held.values()), **held}


def _plan(samples_per_class: int, rng: np.random.Generator) -> list[dict]:
    """One dict per clip: word, split, voice, variant, speed, pitch, file name."""
    pools = _speaker_pools(rng)
    counts = _split_counts(samples_per_class)
    plan = []
    for cls in KEYWORDS + ("unknown",):
        k = 0
        for split, n in counts.items():
            for _ in range(n):
                word = cls if cls != "unknown" else UNKNOWN_WORDS[len(plan) % len(UNKNOWN_WORDS)]
                voice, variant = pools[split][rng.integers(len(pools[split]))]
                speaker = f"{zlib.crc32(f'{voice}+{variant}'.encode()):08x}"
                plan.append({"word": word, "split": split, "voice": voice, "variant": variant,
                             "speed": int(rng.integers(SPEED_WPM[0], SPEED_WPM[1] + 1)),
                             "pitch": int(rng.integers(PITCH[0], PITCH[1] + 1)),
                             "file": f"{word}/{speaker}_nohash_{cls}{k}.wav"})
                k += 1
    return plan


def _speak(exe: str, clip: dict) -> np.ndarray:
    """espeak-ng's float64 waveform of one word at its own rate, resampled to 16 kHz."""
    from scipy.signal import resample_poly

    voice = clip["voice"] + (f"+{clip['variant']}" if clip["variant"] else "")
    cmd = [exe, "-v", voice, "-s", str(clip["speed"]), "-p", str(clip["pitch"]), "--stdout", clip["word"]]
    run = subprocess.run(cmd, capture_output=True, check=False)
    if run.returncode != 0 or len(run.stdout) < 46:
        raise RuntimeError(f"espeak-ng failed on {' '.join(cmd)}: {run.stderr.decode(errors='replace').strip()}")
    with wave.open(io.BytesIO(run.stdout), "rb") as w:
        rate = w.getframerate()
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64)
    g = np.gcd(SAMPLE_RATE, rate)
    return resample_poly(data, SAMPLE_RATE // g, rate // g)


def _trim(x: np.ndarray) -> np.ndarray:
    """The span of x between the first and last sample above 2% of its peak."""
    loud = np.flatnonzero(np.abs(x) > 0.02 * max(float(np.abs(x).max()), 1e-9))
    return x[loud[0]:loud[-1] + 1] if len(loud) else x


def _room(speech: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random microphone and room: first-order spectral tilt, then (half the time) reverberation from an
    exponentially decaying noise impulse response (RT60 0.1-0.5 s)."""
    from scipy.signal import fftconvolve, lfilter

    tilt = rng.uniform(*TILT)
    speech = lfilter([1.0, -tilt], [1.0], speech)
    if rng.random() < REVERB_FRACTION:
        rt60 = rng.uniform(*RT60_S)
        t = np.arange(int(rt60 * SAMPLE_RATE)) / SAMPLE_RATE
        ir = rng.standard_normal(len(t)) * np.exp(-6.9 * t / rt60)
        ir[0] = 1.0 / rng.uniform(0.1, 0.5)  # direct path over the reverberant tail
        speech = fftconvolve(speech, ir)
    return speech


def _render(speech: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """1 s int16 clip: trimmed speech through a random room at a random offset and level plus noise at a random
    SNR."""
    speech = _trim(_room(_trim(speech), rng))[:CLIP_SAMPLES]
    speech = speech / max(float(np.abs(speech).max()), 1e-9) * rng.uniform(0.25, 0.9) * 32767
    clip = np.zeros(CLIP_SAMPLES)
    start = int(rng.integers(0, CLIP_SAMPLES - len(speech) + 1))
    clip[start:start + len(speech)] = speech
    if rng.random() >= CLEAN_FRACTION:
        speech_rms = float(np.sqrt(np.mean(speech ** 2)))
        snr = rng.uniform(*SNR_DB)
        clip += make_noise(str(rng.choice(NOISE_KINDS)), CLIP_SAMPLES, rng) * speech_rms / 10 ** (snr / 20)
    return np.clip(np.round(clip), -32768, 32767).astype(np.int16)


def _manifest(samples_per_class: int, seed: int) -> dict:
    return {"format": FORMAT_VERSION, "samples_per_class": samples_per_class, "seed": seed,
            "keywords": list(KEYWORDS), "unknown_words": list(UNKNOWN_WORDS)}


def _is_current(folder: Path, manifest: dict) -> bool:
    path = folder / MANIFEST
    if not path.is_file():
        return False
    try:
        found = json.loads(path.read_text())
    except json.JSONDecodeError:
        return False
    return {k: found.get(k) for k in manifest} == manifest


def synthesize_default_kws(out_dir=None, samples_per_class: int = 200, seed: int = 0, progress: bool = True,
                           workers: int | None = None) -> Path:
    """Write the espeak-ng keyword data set (module docstring) in the Speech Commands layout; returns its folder.

    ``out_dir`` defaults to ``default_cache_dir()/kws_espeak_v{FORMAT_VERSION}_n{samples_per_class}_seed{seed}``.
    ``samples_per_class`` clips are made for each keyword and for "unknown" (split 80/10/10); an existing folder
    made with the same parameters is reused as it is. Takes about 10 ms of espeak-ng per clip, on ``workers``
    threads (default: up to 2)."""
    if samples_per_class < 3:
        raise ValueError(f"samples_per_class must be at least 3 (one clip each for train, validation and test), "
                         f"got {samples_per_class!r}")
    if out_dir is None:
        out_dir = default_cache_dir() / f"kws_espeak_v{FORMAT_VERSION}_n{samples_per_class}_seed{seed}"
    out = Path(out_dir)
    manifest = _manifest(samples_per_class, seed)
    if _is_current(out, manifest):
        return out
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise FileExistsError(f"{out} exists and is not an espeak keyword data folder made with samples_per_class="
                              f"{samples_per_class}, seed={seed}; remove it or pick another out_dir")
    exe = espeak_executable()
    rng = np.random.default_rng(seed)
    plan = _plan(samples_per_class, rng)
    tmp = out.with_name(f"{out.name}.partial-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        (tmp / BACKGROUND_NOISE_DIR).mkdir(parents=True)
        n_noise = BACKGROUND_SECONDS * SAMPLE_RATE
        level = 10 ** (np.linspace(BACKGROUND_RANGE_DB, 0.0, n_noise) / 20) * BACKGROUND_RMS  # quiet to loud
        for kind in NOISE_KINDS:
            noise = make_noise(kind, n_noise, rng) * level
            write_wav(tmp / BACKGROUND_NOISE_DIR / f"{kind}_noise.wav",
                      np.clip(np.round(noise), -32768, 32767).astype(np.int16))
        n_workers = workers or min(2, os.cpu_count() or 1)
        with ThreadPoolExecutor(max_workers=n_workers) as pool:
            spoken = pool.map(lambda clip: _speak(exe, clip), plan)
            for clip, speech in tqdm(zip(plan, spoken), total=len(plan), desc="espeak-ng keywords", unit="clip",
                                     disable=not progress):
                (tmp / clip["word"]).mkdir(exist_ok=True)
                write_wav(tmp / clip["file"], _render(speech, rng))
        for split, name in (("validation", VALIDATION_LIST), ("testing", TESTING_LIST)):
            (tmp / name).write_text("".join(c["file"] + "\n" for c in plan if c["split"] == split))
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
        if out.exists():
            out.rmdir()  # empty, checked above
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp.rename(out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def load_default_kws(samples_per_class: int = 200, seed: int = 0, out_dir=None, progress: bool = True):
    """The espeak-ng default data set as ``load_speech_commands`` returns it:
    ``(x_train, y_train), (x_val, y_val), (x_test, y_test)``, int16 (N, 16000) and int32 labels into LABELS,
    with 10% unknown and 10% silence per split, i.e. the 12 classes balanced (samples_per_class each, split
    80/10/10)."""
    folder = synthesize_default_kws(out_dir, samples_per_class, seed, progress)
    return load_speech_commands(folder, silence_percentage=10.0, unknown_percentage=10.0, seed=seed,
                                progress=progress)
