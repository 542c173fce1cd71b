"""The keyword spotting application: task definition for samples.pipeline and the C of its deploy folder.

The model classifies 1 s of 16 kHz audio into the 12 LABELS from its 49x10 MFCC map (samples.kws.frontend). On the
device ``kws_wav.c`` reads the clip, ``kws_frontend.c`` computes the same MFCCs as TensorFlow does in training and
quantizes them with the model's input scale and zero point.
"""
from __future__ import annotations

import io
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..deploy import DEPLOY_C_DIR, AppC
from .labels import LABELS
from .speech_commands import load_speech_commands
from .wav_io import CLIP_SAMPLES, SAMPLE_RATE, fit_clip, read_wav, write_wav

TITLE = "Keyword spotting (12 Speech Commands classes)"
FEATURE_SHAPE = (49, 10, 1)   # samples.kws.frontend.MODEL_INPUT_SHAPE, without importing TensorFlow here


def _wav_samples(data: bytes) -> np.ndarray:
    """int16 samples of a 16-bit mono 16 kHz wav file's bytes (ValueError otherwise), fitted to 1 s."""
    try:
        with wave.open(io.BytesIO(data), "rb") as w:
            if (w.getnchannels(), w.getsampwidth(), w.getframerate()) != (1, 2, SAMPLE_RATE):
                raise ValueError(f"the KWS sample input must be 16-bit mono {SAMPLE_RATE} Hz PCM")
            frames = w.readframes(w.getnframes())
    except (wave.Error, EOFError) as e:
        raise ValueError(f"the KWS sample input is not a PCM wav file: {e}") from e
    return fit_clip(np.frombuffer(frames, dtype="<i2").astype(np.int16))


def _c_int16(values, per_line: int = 16) -> str:
    items = [str(int(v)) for v in values]
    return ",\n".join("    " + ", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line))


def _sample_c(data: bytes) -> tuple[str, str]:
    samples = _wav_samples(data)
    header = f"""#ifndef SAMPLE_INPUT_H
#define SAMPLE_INPUT_H

#include <stdint.h>

/* The sample clip: {CLIP_SAMPLES} samples of 16 kHz audio (sample.wav, zero-padded or cut to 1 s), in flash. */
extern const int16_t app_sample_audio[{CLIP_SAMPLES}];

#endif /* SAMPLE_INPUT_H */
"""
    source = f"""#include "sample_input.h"

const int16_t app_sample_audio[{CLIP_SAMPLES}] = {{
{_c_int16(samples)}
}};
"""
    return header, source


def _write_sources(out_dir) -> list:
    from .frontend import write_frontend_c   # imports TensorFlow (its tables come from TF's own ops)
    return write_frontend_c(out_dir)


def _check_input_shape(shape) -> None:
    if tuple(shape) != FEATURE_SHAPE:
        raise ValueError(f"the KWS app needs the 49x10x1 MFCC input of samples.kws.frontend, the model takes "
                         f"{'x'.join(map(str, shape))}")


KWS_APP = AppC(task="kws", title=TITLE, labels=LABELS, template_dir=DEPLOY_C_DIR / "kws",
               write_sources=_write_sources, sample_c=_sample_c, sample_suffix=".wav",
               check_input_shape=_check_input_shape)


@dataclass
class KWSData:
    """MFCC maps (N, 49, 10, 1) float32 and labels: train, search_val (validation: the search's fitness and the
    fine-tuning's validation set) and val (here the test split: the reported accuracy), plus the test clips."""
    train: tuple
    search_val: tuple
    val: tuple
    test_waveforms: np.ndarray
    description: str


class KWSTask:
    """samples.pipeline task: keyword spotting from a Speech Commands v0.02 folder (``path``) or the espeak-ng
    default."""
    name = "kws"
    title = TITLE
    labels = LABELS
    app_c = KWS_APP
    eval_split = "test"

    def __init__(self, path=None, samples_per_class: int = 200, max_per_word: int | None = None, seed: int = 0,
                 progress: bool = True):
        if path is not None and not Path(path).exists():
            raise FileNotFoundError(f"Speech Commands folder {path} does not exist (it must hold the word folders, "
                                    "validation_list.txt, testing_list.txt and _background_noise_/)")
        self.path = None if path is None else Path(path)
        self.samples_per_class, self.max_per_word = samples_per_class, max_per_word
        self.seed, self.progress = seed, progress
        self._data: KWSData | None = None

    def describe(self) -> str:
        if self.path is None:
            return (f"offline espeak-ng keywords (synthetic speech, not recordings), {self.samples_per_class} "
                    "clips per class split 80/10/10 by speaker")
        limit = f", at most {self.max_per_word} clips per word and split" if self.max_per_word else ""
        return f"Speech Commands folder {self.path}{limit}"

    def search_space(self, budget):
        """(SearchSpace, stage-1 grid) of the search: MBConv stages over the 49x10x1 MFCC map (stem stride 2, then
        strides 1, 2, 1, 2: 25x5 -> 13x3 -> 7x2); only the width multiplier is searched at stage 1, the
        resolution is the front end's. The compact variant (quick preset) allows 1 or 2 blocks per stage."""
        from keras_mcunet import SearchSpace

        depths = ((1, 2),) * 4 if budget.compact_space else ((1, 2, 3),) * 4
        space = SearchSpace(resolutions=(FEATURE_SHAPE[:2],), in_channels=1, num_classes=len(LABELS),
                            stage_channels=(24, 40, 80, 96), stage_strides=(1, 2, 1, 2), stage_depths=depths)
        widths = (0.25, 0.5, 0.75, 1.0, 1.25) if budget.compact_space else (0.25, 0.5, 0.75, 1.0, 1.25, 1.5)
        return space, {"width_mults": widths, "resolutions": (FEATURE_SHAPE[:2],)}

    def search_resolution(self, resolutions) -> tuple[int, int]:
        if tuple(tuple(r) if isinstance(r, (tuple, list)) else r for r in resolutions) != (FEATURE_SHAPE[:2],):
            raise ValueError(f"the KWS input is the front end's {FEATURE_SHAPE[0]}x{FEATURE_SHAPE[1]} MFCC map; "
                             f"other resolutions ({resolutions}) cannot be searched")
        return FEATURE_SHAPE[:2]

    def data(self, resolution=None) -> KWSData:
        """The splits as MFCC maps (the resolution is always 49x10: the front end fixes it)."""
        if self._data is not None:
            return self._data
        from .espeak_synth import load_default_kws
        from .frontend import compute_mfcc

        if self.path is None:
            train, val, test = load_default_kws(self.samples_per_class, self.seed, progress=self.progress)
        else:
            train, val, test = load_speech_commands(self.path, max_per_word=self.max_per_word, seed=self.seed,
                                                    progress=self.progress)

        def features(split):
            return compute_mfcc(split[0], channel_axis=True), split[1]
        self._data = KWSData(features(train), features(val), features(test), test[0], self.describe())
        return self._data

    def model_input(self, data: KWSData, shape):
        _check_input_shape(shape)
        return data.train, data.val

    def write_sample(self, data: KWSData, path_dir, prefer_class: int = 0) -> Path:
        """A test clip of ``prefer_class`` ("yes") as sample.wav in ``path_dir``."""
        y = data.val[1]
        idx = np.flatnonzero(y == prefer_class)
        path = Path(path_dir) / "sample.wav"
        write_wav(path, data.test_waveforms[idx[0] if len(idx) else 0])
        return path

    def reference_input(self, file, shape, scale: float, zero_point: int) -> np.ndarray:
        """What the C computes from a wav file, in Python: read_wav, fit_clip, TF MFCCs, quantize_features."""
        from .frontend import compute_mfcc, quantize_features
        _check_input_shape(shape)
        features = compute_mfcc(fit_clip(read_wav(file)), channel_axis=True)
        return quantize_features(features, scale, zero_point)
