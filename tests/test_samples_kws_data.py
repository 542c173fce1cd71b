"""KWS sample data: wav reading, the Speech Commands layout, the espeak-ng default and the MFCC front ends."""
import ctypes
import json
import wave
from pathlib import Path

import numpy as np
import pytest
from portable_c import cortex_m4_undefined

from samples.c_sources import compile_c
from samples.kws.data import (KEYWORDS, LABELS, fit_clip, load_default_kws, load_speech_commands, read_wav,
                              synthesize_default_kws, write_wav)
from samples.quantize import quantize_int8

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
REAL_CLIPS = ("yes", "no", "silence", "noise")


# ---------------------------------------------------------------- wav files

def _write_raw_wav(path, channels=1, width=2, rate=16000, frames=100):
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(b"\0" * channels * width * frames)


def test_read_wav_real_clips():
    for name in REAL_CLIPS:
        x = read_wav(DATA / f"{name}_1000ms.wav")
        assert x.dtype == np.int16 and x.shape == (16000,)
    yes, silence = read_wav(DATA / "yes_1000ms.wav"), read_wav(DATA / "silence_1000ms.wav")
    assert np.abs(yes.astype(np.int64)).max() > 10 * max(1, np.abs(silence.astype(np.int64)).max())


def test_read_wav_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="absent.wav"):
        read_wav(tmp_path / "absent.wav")
    for name, kwargs, message in (("stereo.wav", {"channels": 2}, "2 channels"),
                                  ("8bit.wav", {"width": 1}, "8-bit"),
                                  ("cd.wav", {"rate": 44100}, "44100 Hz")):
        _write_raw_wav(tmp_path / name, **kwargs)
        with pytest.raises(ValueError, match=rf"{name}.*{message}"):
            read_wav(tmp_path / name)
    (tmp_path / "text.wav").write_text("hello")
    with pytest.raises(ValueError, match="text.wav is not a PCM wav"):
        read_wav(tmp_path / "text.wav")
    x = np.arange(-5, 5, dtype=np.int16)
    write_wav(tmp_path / "roundtrip.wav", x)
    assert np.array_equal(read_wav(tmp_path / "roundtrip.wav"), x)
    assert np.array_equal(fit_clip(x, 12), np.concatenate([x, [0, 0]])) and np.array_equal(fit_clip(x, 4), x[:4])


# ---------------------------------------------------------------- Speech Commands layout

def _clip(clip_id: int, length=16000) -> np.ndarray:
    """A clip whose first sample is its id (so it can be found after loading) over a tone."""
    x = (1000 * np.sin(np.arange(length) * 0.05 * (1 + clip_id % 7))).astype(np.int16)
    x[0] = clip_id
    return x


@pytest.fixture
def speech_commands(tmp_path):
    """A tiny Speech Commands v0.02 folder: 10 keywords + 2 other words with 10 clips each, one 8000-sample clip,
    a README, the two list files and one 3 s background noise file."""
    root = tmp_path / "speech_commands_v0.02"
    words = list(KEYWORDS) + ["bed", "cat"]
    ids, val, test = {}, [], []
    for w_i, word in enumerate(words):
        (root / word).mkdir(parents=True)
        for k in range(10):
            clip_id = 100 * (w_i + 1) + k
            rel = f"{word}/spk{k}_nohash_0.wav"
            write_wav(root / rel, _clip(clip_id, 8000 if (word, k) == ("yes", 0) else 16000))
            ids[clip_id] = rel
            (val if k == 8 else test if k == 9 else []).append(rel)
    (root / "README.md").write_text("readme")
    (root / "validation_list.txt").write_text("\n".join(val) + "\n")
    (root / "testing_list.txt").write_text("\n".join(test) + "\n")
    (root / "_background_noise_").mkdir()
    write_wav(root / "_background_noise_" / "white_noise.wav",
              np.random.default_rng(0).integers(-3000, 3000, 48000).astype(np.int16))
    return root, ids


def test_load_speech_commands_splits_and_classes(speech_commands):
    root, ids = speech_commands
    splits = load_speech_commands(root, silence_percentage=10, unknown_percentage=20, seed=1)
    expected_keywords = {0: 8, 1: 1, 2: 1}  # per keyword and split
    silence, unknown = LABELS.index("silence"), LABELS.index("unknown")
    for s, (x, y) in enumerate(splits):
        n_kw = 10 * expected_keywords[s]
        assert x.shape == (len(y), 16000) and x.dtype == np.int16 and y.dtype == np.int32
        counts = np.bincount(y, minlength=12)
        assert counts[:10].tolist() == [expected_keywords[s]] * 10
        assert counts[silence] == int(np.ceil(n_kw * 0.1)) and counts[unknown] == int(np.ceil(n_kw * 0.2))
        for clip, label in zip(x, y):
            if label == silence:
                assert np.abs(clip.astype(np.int64)).max() <= 3000
                continue
            rel = ids[int(clip[0])]
            word, k = rel.split("/")[0], int(rel.split("/")[1][3])
            assert {8: 1, 9: 2}.get(k, 0) == s  # validation_list / testing_list decide the split
            assert label == (KEYWORDS.index(word) if word in KEYWORDS else unknown)
            if rel == "yes/spk0_nohash_0.wav":
                assert not clip[8000:].any()  # short clip zero-padded to 1 s
            else:
                assert np.array_equal(clip, _clip(int(clip[0])))
    again = load_speech_commands(root, silence_percentage=10, unknown_percentage=20, seed=1)
    assert all(np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]) for a, b in zip(splits, again))
    (x, y), _, _ = load_speech_commands(root, silence_percentage=0, unknown_percentage=0, max_per_word=3)
    assert np.bincount(y, minlength=12).tolist() == [3] * 10 + [0, 0]


def test_load_speech_commands_layout_errors(speech_commands, tmp_path):
    root, _ = speech_commands
    with pytest.raises(FileNotFoundError, match="nowhere"):
        load_speech_commands(tmp_path / "nowhere")
    (root / "testing_list.txt").write_text("yes/spk9_nohash_0.wav\nyes/ghost.wav\n")
    with pytest.raises(ValueError, match=r"testing_list.txt lists 1 clip.*yes/ghost.wav"):
        load_speech_commands(root)
    (root / "testing_list.txt").unlink()
    with pytest.raises(ValueError, match=r"has no testing_list.txt"):
        load_speech_commands(root)
    (root / "testing_list.txt").write_text("")
    for f in (root / "_background_noise_").iterdir():
        f.unlink()
    with pytest.raises(ValueError, match="_background_noise_"):
        load_speech_commands(root)
    for f in (root / "stop").iterdir():
        f.unlink()
    with pytest.raises(ValueError, match=r"lacks the keyword folder\(s\) stop"):
        load_speech_commands(root, silence_percentage=0)
    (root / "yes" / "bad.wav").write_text("not audio")
    with pytest.raises(ValueError):
        load_speech_commands(root, silence_percentage=0)


# ---------------------------------------------------------------- espeak-ng default

def test_espeak_default_has_12_balanced_classes_and_is_cached(tmp_path, monkeypatch):
    folder = tmp_path / "kws_default"
    splits = load_default_kws(samples_per_class=10, seed=4, out_dir=folder, progress=False)
    manifest = json.loads((folder / "synthesis.json").read_text())
    assert manifest["samples_per_class"] == 10 and manifest["seed"] == 4
    for (x, y), n in zip(splits, (8, 1, 1)):
        assert x.shape == (12 * n, 16000) and x.dtype == np.int16
        assert np.bincount(y, minlength=12).tolist() == [n] * 12
    x, y = splits[0]
    peak = np.abs(x.astype(np.int64)).max(axis=1)
    words = y < 10
    assert peak[words].min() > 0.2 * 32767  # every spoken clip holds loud speech
    frame_rms = np.sqrt((x[words].astype(np.float64).reshape(words.sum(), 50, 320) ** 2).mean(axis=2))
    assert np.median(frame_rms.max(axis=1) / np.maximum(frame_rms.min(axis=1), 1)) > 3  # a word, not just noise
    speakers = {s: {line.split("/")[1].split("_")[0] for line in (folder / f).read_text().split()}
                for s, f in (("val", "validation_list.txt"), ("test", "testing_list.txt"))}
    train_speakers = {p.name.split("_")[0] for p in folder.glob("*/*.wav") if not p.parent.name.startswith("_")}
    train_speakers -= speakers["val"] | speakers["test"]
    assert not speakers["val"] & speakers["test"] and train_speakers  # speaker-disjoint splits
    import samples.kws.espeak_synth as synth

    def no_synthesis():
        raise AssertionError("the second load synthesized again instead of reusing the cached folder")
    monkeypatch.setattr(synth, "espeak_executable", no_synthesis)
    again = load_default_kws(samples_per_class=10, seed=4, out_dir=folder, progress=False)
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(splits, again))
    monkeypatch.undo()
    other = tmp_path / "occupied"
    other.mkdir()
    (other / "mine.txt").write_text("keep")
    with pytest.raises(FileExistsError, match="occupied"):
        synthesize_default_kws(other, samples_per_class=10)
    with pytest.raises(ValueError, match="samples_per_class"):
        synthesize_default_kws(tmp_path / "x", samples_per_class=2)


@pytest.mark.slow
def test_espeak_default_full_size_splits(tmp_path):
    (x, y), (xv, yv), (xt, yt) = load_default_kws(samples_per_class=200, seed=0, out_dir=tmp_path / "kws",
                                                  progress=False)
    assert np.bincount(y).tolist() == [160] * 12 and np.bincount(yv).tolist() == [20] * 12
    assert len(xt) == 240


# ---------------------------------------------------------------- MFCC front end

@pytest.fixture(scope="module")
def frontend():
    from samples.kws import frontend
    return frontend


@pytest.fixture(scope="module")
def frontend_lib(frontend, tmp_path_factory):
    out = tmp_path_factory.mktemp("frontend_c")
    written = frontend.write_frontend_c(out)
    assert sorted(p.name for p in written) == ["kws_frontend.c", "kws_frontend.h", "kws_frontend_tables.h",
                                               "sample_quantize.h"]
    lib = ctypes.CDLL(str(compile_c([out / "kws_frontend.c"], out / "libkws_frontend.so", shared=True,
                                    libraries=["m"])))
    lib.kws_frontend_compute.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    lib.kws_frontend_compute_int8.argtypes = [ctypes.c_void_p, ctypes.c_float, ctypes.c_int32, ctypes.c_void_p]
    lib.kws_quantize_features.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_float, ctypes.c_int32,
                                          ctypes.c_void_p]
    return lib


def _c_features(lib, audio):
    out = np.zeros((49, 10), np.float32)
    lib.kws_frontend_compute(np.ascontiguousarray(audio, np.int16).ctypes.data, out.ctypes.data)
    return out


def test_tf_frontend_shapes(frontend):
    clips = np.stack([read_wav(DATA / f"{n}_1000ms.wav") for n in REAL_CLIPS])
    feats = frontend.compute_mfcc(clips, batch_size=3)
    assert feats.shape == (4, 49, 10) and feats.dtype == np.float32 and frontend.FEATURE_SHAPE == (49, 10)
    assert np.allclose(feats[1], frontend.compute_mfcc(clips[1]), atol=1e-5)
    with_channel = frontend.compute_mfcc(clips[:2], channel_axis=True)
    assert with_channel.shape == (2,) + frontend.MODEL_INPUT_SHAPE == (2, 49, 10, 1)
    assert np.allclose(feats[0], frontend.compute_mfcc(clips[0].astype(np.float32) / 32768), atol=1e-5)
    assert feats[0, :, 0].max() > feats[2, :, 0].max() + 10  # energy coefficient: speech vs silence
    with pytest.raises(ValueError, match="16000"):
        frontend.compute_mfcc(np.zeros(8000, np.int16))
    tf = frontend.tf
    ds = tf.data.Dataset.from_tensor_slices(frontend.to_float_waveform(clips)).batch(2).map(frontend.mfcc_tf)
    assert np.allclose(np.concatenate([b.numpy() for b in ds]), feats, atol=1e-5)


def test_c_frontend_matches_tf_on_real_clips(frontend, frontend_lib):
    worst = 0.0
    for name in REAL_CLIPS:
        audio = read_wav(DATA / f"{name}_1000ms.wav")
        ref = frontend.compute_mfcc(audio)
        diff = float(np.abs(_c_features(frontend_lib, audio) - ref).max())
        worst = max(worst, diff)
        assert diff < 1e-3, f"{name}: C and TF MFCCs differ by {diff}"
    print(f"max |C - TF| MFCC difference over {REAL_CLIPS}: {worst:.3g}")
    # a frame-local check: a click in one frame changes only the frames that contain it
    click = np.zeros(16000, np.int16)
    click[5000] = 20000
    feats = _c_features(frontend_lib, click)
    touched = [f for f in range(49) if f * 320 <= 5000 < f * 320 + 640]
    assert touched == [14, 15]
    assert np.allclose(np.delete(feats, touched, axis=0), _c_features(frontend_lib, np.zeros(16000, np.int16))[2:],
                       atol=1e-6)
    assert np.abs(feats[touched] - feats[0]).max() > 1


def test_quantization_c_and_python_agree_exactly(frontend, frontend_lib):
    audio = read_wav(DATA / "yes_1000ms.wav")
    c_float = _c_features(frontend_lib, audio)
    for scale, zero_point in ((0.25, 0), (0.4137, -17), (1.0 / 3, 101)):
        c_q = np.zeros((49, 10), np.int8)
        frontend_lib.kws_frontend_compute_int8(audio.ctypes.data, scale, zero_point, c_q.ctypes.data)
        assert np.array_equal(c_q, frontend.quantize_features(c_float, scale, zero_point))
        tf_q = frontend.quantize_features(frontend.compute_mfcc(audio), scale, zero_point)
        assert np.abs(c_q.astype(int) - tf_q).max() <= 1
    edge = np.array([0.25, -0.25, 1.25, -1.25, 0.7499999, 1e9, -1e9, np.nan, 63.5, -64.5, 0.0], np.float32)
    rng = np.random.default_rng(0)
    values = np.concatenate([edge, rng.normal(0, 40, 500).astype(np.float32)])
    out = np.zeros(len(values), np.int8)
    frontend_lib.kws_quantize_features(values.ctypes.data, len(values), 0.5, 3, out.ctypes.data)
    py = quantize_int8(values, 0.5, 3)
    assert np.array_equal(out, py)
    # halves go away from zero (not to even), then the zero point, then the clamp; NaN -> zero point
    assert py[:11].tolist() == [4, 2, 6, 0, 4, 127, -128, 3, 127, -126, 3]
    with pytest.raises(ValueError, match="scale"):
        quantize_int8(values, 0.0, 0)
    with pytest.raises(ValueError, match="zero point"):
        quantize_int8(values, 1.0, 200)


def test_frontend_c_compiles_for_host_and_cortex_m4_without_malloc(frontend, tmp_path):
    frontend.write_frontend_c(tmp_path)
    undefined = cortex_m4_undefined(tmp_path / "kws_frontend.c", tmp_path)
    assert "logf" in undefined and "sqrtf" in undefined
    assert not {"malloc", "calloc", "realloc", "free"} & undefined
    with pytest.raises(NotADirectoryError, match="a_file"):
        (tmp_path / "a_file").write_text("")
        frontend.write_frontend_c(tmp_path / "a_file")
