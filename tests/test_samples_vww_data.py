"""VWW sample data: folder loader, offline proxy default, image files and the C BMP reader."""
import ctypes
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from portable_c import cortex_m4_undefined

from samples.c_sources import compile_c
from samples.quantize import quantize_int8
from samples.vww import CLASS_NAMES, load_default_vww, load_image, load_vww, write_image_reader_c

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
PERSON_BMP = DATA / "person.bmp"


# ---------------------------------------------------------------- VWW folder layout

def _gray_image(path: Path, level: int, size=(40, 30)):
    """A constant image whose gray level identifies it after loading (lossless formats only)."""
    Image.new("RGB", size, (level, level, level)).save(path)


@pytest.fixture
def vww_folder(tmp_path):
    root = tmp_path / "vw_coco2014_96"
    (root / "person").mkdir(parents=True)
    (root / "non_person").mkdir()
    levels = {"person": [200, 210, 220, 230, 240], "non_person": [10, 20, 30, 40]}
    for i, level in enumerate(levels["person"]):
        _gray_image(root / "person" / f"p{i}.{'png' if i % 2 else 'bmp'}", level)
    for i, level in enumerate(levels["non_person"]):
        _gray_image(root / "non_person" / f"n{i}.PNG", level)
    (root / "non_person" / "README.txt").write_text("not an image")
    return root, levels


def test_load_vww_reads_layout_with_deterministic_stratified_split(vww_folder):
    root, levels = vww_folder
    (x_tr, y_tr), (x_va, y_va) = load_vww(root, resolution=(24, 32), channels=3, validation_split=0.25, seed=3)
    assert x_tr.shape == (7, 24, 32, 3) and x_va.shape == (2, 24, 32, 3)
    assert x_tr.dtype == np.float32 and y_tr.dtype == np.int32
    assert CLASS_NAMES == ("non_person", "person")
    assert sorted(y_va.tolist()) == [0, 1]  # one of each class held out
    seen = {}
    for x, y in ((x_tr, y_tr), (x_va, y_va)):
        for img, label in zip(x, y):
            level = int(round(float(img.mean()) * 255))
            assert np.all(img == img[0, 0, 0])
            seen[level] = int(label)
    assert seen == {**{lv: 1 for lv in levels["person"]}, **{lv: 0 for lv in levels["non_person"]}}
    (x_tr2, y_tr2), (x_va2, y_va2) = load_vww(root, resolution=(24, 32), validation_split=0.25, seed=3)
    assert np.array_equal(x_tr, x_tr2) and np.array_equal(y_tr, y_tr2) and np.array_equal(x_va, x_va2)
    (x8, _), _ = load_vww(root, resolution=(24, 32), channels=1, validation_split=0.25, seed=3, dtype="uint8")
    assert x8.dtype == np.uint8 and x8.shape == (7, 24, 32, 1)
    assert np.array_equal(x8[..., 0], np.round(x_tr[..., 0] * 255).astype(np.uint8))


def test_load_vww_max_images_per_class(vww_folder):
    root, _ = vww_folder
    (x_tr, y_tr), (x_va, y_va) = load_vww(root, resolution=16, validation_split=0.5, max_images_per_class=2)
    assert np.bincount(np.concatenate([y_tr, y_va])).tolist() == [2, 2]


def test_load_vww_layout_errors(tmp_path, vww_folder):
    root, _ = vww_folder
    with pytest.raises(FileNotFoundError, match="does_not_exist"):
        load_vww(tmp_path / "does_not_exist")
    with pytest.raises(ValueError, match=r"missing: non_person.*did you mean .*vw_coco2014_96"):
        (tmp_path / "person").mkdir()
        load_vww(tmp_path)
    empty = tmp_path / "empty"
    (empty / "person").mkdir(parents=True)
    (empty / "non_person").mkdir()
    (empty / "person" / "notes.txt").write_text("x")
    _gray_image(empty / "non_person" / "a.png", 3)
    with pytest.raises(ValueError, match=r"empty/person holds no images"):
        load_vww(empty)
    (root / "person" / "broken.jpg").write_bytes(b"this is not a jpeg")
    with pytest.raises(ValueError, match=r"cannot read image file .*broken\.jpg"):
        load_vww(root, resolution=16)
    with pytest.raises(ValueError, match="channels"):
        load_vww(root, channels=2)


# ---------------------------------------------------------------- single images

def test_load_image_real_bmp():
    img = load_image(PERSON_BMP, resolution=(96, 96), channels=3)
    assert img.shape == (96, 96, 3) and img.dtype == np.float32
    assert 0.0 <= img.min() and img.max() <= 1.0 and img.std() > 0.05  # a real photo, not a blank
    assert np.array_equal(img[..., 0], img[..., 2])  # grayscale photo repeated over RGB
    raw = np.asarray(Image.open(PERSON_BMP).convert("L"))
    assert np.array_equal(load_image(PERSON_BMP, 96, 1, dtype="uint8")[..., 0], raw)
    small = load_image(PERSON_BMP, (48, 32), 1, dtype="uint8")[..., 0]
    rows, cols = (2 * np.arange(48) + 1) * 96 // 96, (2 * np.arange(32) + 1) * 96 // 64
    assert np.array_equal(small, raw[rows][:, cols])  # nearest rule floor((i + 0.5) * in / out)


def test_load_image_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.bmp"):
        load_image(tmp_path / "nope.bmp")
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG garbage")
    with pytest.raises(ValueError, match="bad.png"):
        load_image(bad)
    with pytest.raises(ValueError, match="resolution"):
        load_image(PERSON_BMP, resolution=(0, 5))


# ---------------------------------------------------------------- offline default

def test_default_vww_shapes_balance_and_determinism():
    (x, y), (xv, yv) = load_default_vww((64, 48), channels=3, seed=1, samples_per_class=40,
                                        val_samples_per_class=10)
    assert x.shape == (80, 64, 48, 3) and xv.shape == (20, 64, 48, 3) and x.dtype == np.float32
    assert np.bincount(y).tolist() == [40, 40] and np.bincount(yv).tolist() == [10, 10]
    assert 0.0 <= x.min() and x.max() <= 1.0
    assert x.reshape(len(x), -1).std(axis=1).min() > 0.01  # no blank images
    assert len({x[i].tobytes() for i in range(len(x))}) == len(x)  # augmentation makes every image distinct
    (x2, y2), _ = load_default_vww((64, 48), channels=3, seed=1, samples_per_class=40, val_samples_per_class=10)
    assert np.array_equal(x, x2) and np.array_equal(y, y2)
    (x3, _), _ = load_default_vww((64, 48), channels=3, seed=2, samples_per_class=40, val_samples_per_class=10)
    assert not np.array_equal(x, x3)
    (g, gy), _ = load_default_vww(32, channels=1, seed=0, samples_per_class=5, val_samples_per_class=2,
                                  dtype="uint8")
    assert g.shape == (10, 32, 32, 1) and g.dtype == np.uint8
    with pytest.raises(ValueError, match="samples_per_class"):
        load_default_vww(32, samples_per_class=0)


# ---------------------------------------------------------------- C BMP reader

BMP_STATUS = {"ok": 0, "argument": 1, "io": 2, "not_bmp": 3, "unsupported": 4, "truncated": 5, "corrupt": 7}


@pytest.fixture(scope="module")
def bmp_lib(tmp_path_factory):
    out = tmp_path_factory.mktemp("image_c")
    written = write_image_reader_c(out)
    assert sorted(p.name for p in written) == ["sample_quantize.h", "vww_image_reader.c", "vww_image_reader.h"]
    lib = ctypes.CDLL(str(compile_c([out / "vww_image_reader.c"], out / "libvww_image.so", shared=True)))
    shape = [ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_float, ctypes.c_int32, ctypes.c_void_p]
    lib.vww_bmp_read_file.argtypes = [ctypes.c_char_p] + shape
    lib.vww_bmp_decode_memory.argtypes = [ctypes.c_char_p, ctypes.c_size_t] + shape
    lib.vww_bmp_status_string.restype = ctypes.c_char_p
    return lib


def _c_read(lib, path, resolution, channels, scale, zero_point):
    out = np.zeros(tuple(resolution) + (channels,), np.int8)
    status = lib.vww_bmp_read_file(str(path).encode(), resolution[0], resolution[1], channels, scale, zero_point,
                                   out.ctypes.data_as(ctypes.c_void_p))
    return status, out


@pytest.mark.parametrize("resolution,channels,scale,zero_point", [
    ((96, 96), 1, 1 / 255, -128), ((96, 96), 3, 1 / 255, -128), ((80, 64), 3, 0.0123, 5), ((128, 150), 1, 0.004, -3)])
def test_c_bmp_reader_matches_python_on_person_bmp(bmp_lib, resolution, channels, scale, zero_point):
    py_out = quantize_int8(load_image(PERSON_BMP, resolution, channels), scale, zero_point)
    status, c_out = _c_read(bmp_lib, PERSON_BMP, resolution, channels, scale, zero_point)
    assert status == BMP_STATUS["ok"]
    assert np.array_equal(c_out, py_out)
    assert len(np.unique(c_out)) > 20  # a real photo made it through
    data = PERSON_BMP.read_bytes()
    mem = np.zeros_like(c_out)
    assert bmp_lib.vww_bmp_decode_memory(data, len(data), resolution[0], resolution[1], channels, scale,
                                         zero_point, mem.ctypes.data_as(ctypes.c_void_p)) == 0
    assert np.array_equal(mem, c_out)


def _bmp_bytes(pixels: np.ndarray, top_down: bool, palette=None) -> bytes:
    """A BMP with BITMAPINFOHEADER: 24-bit from (H, W, 3) RGB, or 8-bit from (H, W) indices and a palette."""
    h, w = pixels.shape[:2]
    bpp = 8 if palette is not None else 24
    stride = ((bpp * w + 31) // 32) * 4
    rows = pixels if top_down else pixels[::-1]
    body = b""
    for row in rows:
        raw = row.astype(np.uint8).tobytes() if bpp == 8 else row[:, ::-1].astype(np.uint8).tobytes()
        body += raw + b"\0" * (stride - len(raw))
    pal = b"".join(bytes([b, g, r, 0]) for r, g, b in palette) if palette is not None else b""
    offset = 14 + 40 + len(pal)
    header = struct.pack("<2sIHHI", b"BM", offset + len(body), 0, 0, offset)
    info = struct.pack("<IiiHHIIiiII", 40, w, -h if top_down else h, 1, bpp, 0, len(body), 2835, 2835,
                       len(palette) if palette is not None else 0, 0)
    return header + info + pal + body


@pytest.mark.parametrize("top_down", [False, True])
def test_c_bmp_reader_24bit_and_color_palette(bmp_lib, tmp_path, top_down):
    rng = np.random.default_rng(7)
    rgb = rng.integers(0, 256, size=(37, 53, 3))  # odd width: rows carry padding
    f24 = tmp_path / "rgb24.bmp"
    f24.write_bytes(_bmp_bytes(rgb, top_down))
    palette = rng.integers(0, 256, size=(200, 3))
    f8 = tmp_path / "pal8.bmp"
    f8.write_bytes(_bmp_bytes(rng.integers(0, 200, size=(41, 29)), top_down, palette))
    for path in (f24, f8):
        for resolution, channels in (((30, 70), 3), ((41, 29), 1), ((96, 96), 1)):
            status, c_out = _c_read(bmp_lib, path, resolution, channels, 1 / 255, -128)
            assert status == 0
            assert np.array_equal(c_out, quantize_int8(load_image(path, resolution, channels), 1 / 255, -128))
    _, full = _c_read(bmp_lib, f24, (37, 53), 3, 1 / 255, -128)
    assert np.array_equal(full.astype(np.int64) + 128, rgb)  # identity size: the pixels themselves


def test_c_bmp_reader_errors(bmp_lib, tmp_path):
    def status_of(path, channels=1):
        return _c_read(bmp_lib, path, (8, 8), channels, 1 / 255, -128)[0]

    assert status_of(tmp_path / "missing.bmp") == BMP_STATUS["io"]
    png = tmp_path / "x.png"
    Image.new("L", (8, 8)).save(png)
    assert status_of(png) == BMP_STATUS["not_bmp"]
    truncated = tmp_path / "truncated.bmp"
    truncated.write_bytes(PERSON_BMP.read_bytes()[:3000])
    assert status_of(truncated) == BMP_STATUS["truncated"]
    rle = bytearray(PERSON_BMP.read_bytes())
    rle[30:34] = struct.pack("<I", 1)  # BI_RLE8
    (tmp_path / "rle.bmp").write_bytes(bytes(rle))
    assert status_of(tmp_path / "rle.bmp") == BMP_STATUS["unsupported"]
    assert status_of(PERSON_BMP, channels=2) == BMP_STATUS["argument"]
    bad_index = tmp_path / "bad_index.bmp"
    bad_index.write_bytes(_bmp_bytes(np.full((8, 8), 250), False, palette=[(1, 2, 3)] * 200))
    assert status_of(bad_index) == BMP_STATUS["corrupt"]
    assert bmp_lib.vww_bmp_status_string(BMP_STATUS["truncated"]) == b"truncated BMP"
    with pytest.raises(ValueError, match="truncated.bmp"):
        load_image(truncated)


def test_image_reader_c_compiles_for_host_and_cortex_m4_without_malloc(tmp_path):
    write_image_reader_c(tmp_path)
    undefined = cortex_m4_undefined(tmp_path / "vww_image_reader.c", tmp_path)
    assert "fread" in undefined  # nm really lists the object's external calls
    assert not {"malloc", "calloc", "realloc", "free"} & undefined
