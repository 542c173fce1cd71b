"""MFCC front end of the keyword spotting sample (the DS-CNN / MLPerf Tiny KWS setup).

1 s of 16 kHz audio -> a 49x10 feature map: waveform in [-1, 1) (int16 / 32768), 640-sample (40 ms) periodic
Hann windows every 320 samples (20 ms), 1024-point FFT (frames zero-padded at the end, tf.signal.stft's
default fft_length for 640), magnitude, 40 mel bins over 20-4000 Hz, log(mel + 1e-6) and the first 10 MFCCs
(tf.signal.mfccs_from_log_mel_spectrograms). Training uses ``mfcc_tf`` / ``compute_mfcc`` (TensorFlow signal
ops); deployment uses the C99 twin in ``frontend_c/``, written next to the model code by ``write_frontend_c``
together with ``kws_frontend_tables.h``, whose window, mel and DCT tables are taken from these same TF ops.
``quantize_features`` maps features to the model's int8 input exactly as TFLite (and the C side) does.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from keras_mcunet._tf import tf

from ..c_sources import copy_c_sources
from ..quantize import QUANTIZE_C_HEADER, quantize_int8

SAMPLE_RATE = 16000
CLIP_SAMPLES = 16000
WINDOW_SAMPLES = 640
HOP_SAMPLES = 320
FFT_LENGTH = 1024
NUM_FRAMES = 1 + (CLIP_SAMPLES - WINDOW_SAMPLES) // HOP_SAMPLES  # 49
NUM_MEL_BINS = 40
LOWER_EDGE_HZ = 20.0
UPPER_EDGE_HZ = 4000.0
NUM_MFCC = 10
LOG_OFFSET = 1e-6
FEATURE_SHAPE = (NUM_FRAMES, NUM_MFCC)
MODEL_INPUT_SHAPE = FEATURE_SHAPE + (1,)  # (H, W, C) of a 2-D conv model such as DS-CNN

FRONTEND_C_DIR = Path(__file__).resolve().parent / "frontend_c"
FRONTEND_C_SOURCES = (FRONTEND_C_DIR / "kws_frontend.c", FRONTEND_C_DIR / "kws_frontend.h", QUANTIZE_C_HEADER)
TABLES_HEADER = "kws_frontend_tables.h"


def to_float_waveform(waveforms) -> np.ndarray:
    """int16 samples -> float32 in [-1, 1) (divided by 32768); float input is taken as already scaled."""
    x = np.asarray(waveforms)
    if x.dtype == np.int16:
        return x.astype(np.float32) / np.float32(32768)
    if np.issubdtype(x.dtype, np.floating):
        return x.astype(np.float32)
    raise ValueError(f"waveforms must be int16 or float, got {x.dtype}")


def _mel_matrix():
    return tf.signal.linear_to_mel_weight_matrix(NUM_MEL_BINS, FFT_LENGTH // 2 + 1, SAMPLE_RATE, LOWER_EDGE_HZ,
                                                 UPPER_EDGE_HZ)


def mfcc_tf(waveforms: tf.Tensor) -> tf.Tensor:
    """TensorFlow MFCCs (usable in tf.data maps and graphs): float32 (..., 16000) in [-1, 1) -> (..., 49, 10)."""
    stft = tf.signal.stft(waveforms, frame_length=WINDOW_SAMPLES, frame_step=HOP_SAMPLES, fft_length=FFT_LENGTH,
                          window_fn=tf.signal.hann_window, pad_end=False)
    mel = tf.tensordot(tf.abs(stft), _mel_matrix(), 1)
    return tf.signal.mfccs_from_log_mel_spectrograms(tf.math.log(mel + LOG_OFFSET))[..., :NUM_MFCC]


def compute_mfcc(waveforms, batch_size: int = 1024, channel_axis: bool = False) -> np.ndarray:
    """NumPy in and out: (16000,) or (N, 16000) int16 / float waveforms -> float32 (49, 10) or (N, 49, 10);
    with ``channel_axis`` a trailing axis of 1 is added (``MODEL_INPUT_SHAPE``, what a 2-D conv model takes)."""
    feats = _compute_mfcc(waveforms, batch_size)
    return feats[..., None] if channel_axis else feats


def _compute_mfcc(waveforms, batch_size: int) -> np.ndarray:
    x = to_float_waveform(waveforms)
    if x.shape[-1] != CLIP_SAMPLES or x.ndim not in (1, 2):
        raise ValueError(f"waveforms must have shape ({CLIP_SAMPLES},) or (N, {CLIP_SAMPLES}), got {x.shape}")
    if x.ndim == 1:
        return mfcc_tf(tf.constant(x)).numpy()
    out = np.empty((len(x),) + FEATURE_SHAPE, dtype=np.float32)
    for i in range(0, len(x), batch_size):
        out[i:i + batch_size] = mfcc_tf(tf.constant(x[i:i + batch_size])).numpy()
    return out


def quantize_features(features, scale: float, zero_point: int) -> np.ndarray:
    """Features -> the model's int8 input, as TFLite quantizes (same as kws_quantize_features in C)."""
    return quantize_int8(features, scale, zero_point)


def frontend_tables() -> dict[str, np.ndarray]:
    """The constant tables of the C front end, float32, from TensorFlow's own ops: ``window`` (640,),
    ``mel`` (513, 40), ``dct`` (40, 10) with mfcc = log_mel @ dct, ``twiddle_cos``/``twiddle_sin`` (513,) of
    2 pi k / 1024."""
    k = np.arange(FFT_LENGTH // 2 + 1, dtype=np.float64)
    return {
        "window": tf.signal.hann_window(WINDOW_SAMPLES, periodic=True).numpy(),
        "mel": _mel_matrix().numpy(),
        "dct": tf.signal.mfccs_from_log_mel_spectrograms(tf.eye(NUM_MEL_BINS))[:, :NUM_MFCC].numpy(),
        "twiddle_cos": np.cos(2 * np.pi * k / FFT_LENGTH).astype(np.float32),
        "twiddle_sin": np.sin(2 * np.pi * k / FFT_LENGTH).astype(np.float32),
    }


def _c_floats(values, per_line: int = 6) -> str:
    items = [f"{float(v):.9g}f" for v in np.asarray(values, dtype=np.float32).ravel()]
    items = [s if any(c in s for c in ".en") else s[:-1] + ".0f" for s in items]  # "1f" is not a C literal
    return ",\n".join("    " + ", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line))


def _c_ints(values, per_line: int = 12) -> str:
    items = [str(int(v)) for v in np.asarray(values).ravel()]
    return ",\n".join("    " + ", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line))


def tables_header_text() -> str:
    """Text of kws_frontend_tables.h: the mel matrix stored sparsely (per mel bin: first FFT bin, count and
    offset into one weight array), since each FFT bin feeds at most two triangular filters."""
    t = frontend_tables()
    mel = t["mel"]
    first, count, offset, weights = [], [], [], []
    for j in range(NUM_MEL_BINS):
        nz = np.flatnonzero(mel[:, j])
        if len(nz) == 0:
            raise RuntimeError(f"mel bin {j} of {NUM_MEL_BINS} over {LOWER_EDGE_HZ}-{UPPER_EDGE_HZ} Hz is empty")
        first.append(nz[0])
        count.append(nz[-1] - nz[0] + 1)
        offset.append(len(weights))
        weights.extend(mel[nz[0]:nz[-1] + 1, j])
    bins_used = int(max(f + c for f, c in zip(first, count)))
    dct_rows = ",\n".join("    {" + _c_floats(row, NUM_MFCC).strip() + "}" for row in t["dct"])
    return f"""/* Generated by samples.kws.frontend.write_frontend_c from TensorFlow {tf.__version__}'s signal ops.
 * Do not edit. Hann window (periodic, {WINDOW_SAMPLES}), mel matrix ({NUM_MEL_BINS} bins,
 * {LOWER_EDGE_HZ:g}-{UPPER_EDGE_HZ:g} Hz, sparse), DCT ({NUM_MEL_BINS}x{NUM_MFCC}),
 * twiddles of a {FFT_LENGTH}-point FFT. Included by kws_frontend.c only. */
#ifndef KWS_FRONTEND_TABLES_H
#define KWS_FRONTEND_TABLES_H

#include <stdint.h>

#define KWS_TABLES_WINDOW_SAMPLES {WINDOW_SAMPLES}
#define KWS_TABLES_FFT_LENGTH {FFT_LENGTH}
#define KWS_TABLES_NUM_MEL_BINS {NUM_MEL_BINS}
#define KWS_TABLES_NUM_MFCC {NUM_MFCC}
#define KWS_SPECTRUM_BINS_USED {bins_used}
#define KWS_LOG_OFFSET {LOG_OFFSET:.9g}f

static const float kws_window[{WINDOW_SAMPLES}] = {{
{_c_floats(t["window"])}
}};

static const float kws_twiddle_cos[{FFT_LENGTH // 2 + 1}] = {{
{_c_floats(t["twiddle_cos"])}
}};

static const float kws_twiddle_sin[{FFT_LENGTH // 2 + 1}] = {{
{_c_floats(t["twiddle_sin"])}
}};

static const int16_t kws_mel_first_bin[{NUM_MEL_BINS}] = {{
{_c_ints(first)}
}};

static const int16_t kws_mel_num_bins[{NUM_MEL_BINS}] = {{
{_c_ints(count)}
}};

static const int16_t kws_mel_weight_offset[{NUM_MEL_BINS}] = {{
{_c_ints(offset)}
}};

static const float kws_mel_weights[{len(weights)}] = {{
{_c_floats(weights)}
}};

static const float kws_dct[{NUM_MEL_BINS}][{NUM_MFCC}] = {{
{dct_rows}
}};

#endif /* KWS_FRONTEND_TABLES_H */
"""


def write_frontend_c(out_dir) -> list[Path]:
    """Write kws_frontend.c/.h, sample_quantize.h and the generated kws_frontend_tables.h into ``out_dir``
    (created if missing); returns the written paths. Compile kws_frontend.c with the model code and -lm."""
    written = copy_c_sources(FRONTEND_C_SOURCES, out_dir)
    tables = Path(out_dir) / TABLES_HEADER
    tables.write_text(tables_header_text())
    return written + [tables]
