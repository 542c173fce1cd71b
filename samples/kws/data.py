"""Keyword spotting data: the Google Speech Commands v0.02 layout and an offline espeak-ng default.

The task is the usual 12-class one; labels are int32 indices into ``LABELS``: the ten keywords
yes, no, up, down, left, right, on, off, stop, go, then "silence" (10) and "unknown" (11).
Waveforms are int16 arrays of shape (N, 16000): 1 s at 16 kHz (shorter clips are zero-padded at the end,
longer ones cut). ``samples.kws.frontend`` turns them into 49x10 MFCC feature maps.

- ``load_speech_commands(path, ...)``: the real data set (speech_commands.py).
- ``synthesize_default_kws(...)`` / ``load_default_kws(...)``: the offline default, keyword clips spoken by
  espeak-ng over many voices with synthetic noise (espeak_synth.py).
- ``read_wav(path)``: one 16 kHz 16-bit mono wav file as int16 (wav_io.py).
"""
from .espeak_synth import load_default_kws, synthesize_default_kws
from .labels import KEYWORDS, LABELS, SILENCE_LABEL, UNKNOWN_LABEL
from .speech_commands import load_speech_commands
from .wav_io import CLIP_SAMPLES, SAMPLE_RATE, fit_clip, read_wav, write_wav

__all__ = ["KEYWORDS", "LABELS", "SILENCE_LABEL", "UNKNOWN_LABEL", "CLIP_SAMPLES", "SAMPLE_RATE", "read_wav",
           "write_wav", "fit_clip", "load_speech_commands", "synthesize_default_kws", "load_default_kws"]
