"""The tinyengine-tflite command line."""
import subprocess
import sys

from reference import REPO, SUITE_DIR


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "tinyengine_tflite.cli", *args], capture_output=True, text=True,
                          cwd=REPO)


def test_help_documents_every_option():
    r = _cli("convert", "--help")
    assert r.returncode == 0
    for opt in ("--output", "--prefix", "--no-inplace", "--plan", "--reference"):
        assert opt in r.stdout
    assert "bench" in _cli("--help").stdout


def test_convert_writes_folder_and_prints_report(tmp_path):
    r = _cli("convert", str(SUITE_DIR / "mlperf_ad01_int8.tflite"), "-o", str(tmp_path / "c"), "--plan")
    assert r.returncode == 0, r.stderr
    assert "peak SRAM" in r.stdout and "FULLY_CONNECTED" in r.stdout and "offset" in r.stdout
    assert (tmp_path / "c" / "model.c").exists() and (tmp_path / "c" / "te_conv.c").exists()


def test_bad_model_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"nonsense")
    r = _cli("convert", str(bad), "-o", str(tmp_path / "c"))
    assert r.returncode == 2
    assert "bad.tflite" in r.stderr and "Traceback" not in r.stderr


def test_reference_option(tmp_path):
    """--reference picks the reference the generated code reproduces: mlperf_ad01's FULLY_CONNECTED layers
    requantize with single rounding for litert (the default) and double rounding for tflm."""
    assert "{litert,tflm}" in _cli("convert", "--help").stdout
    model = str(SUITE_DIR / "mlperf_ad01_int8.tflite")
    for args, rounding in (((), 0), (("--reference", "litert"), 0), (("--reference", "tflm"), 1)):
        out = tmp_path / f"c{len(args)}{rounding}"
        r = _cli("convert", model, "-o", str(out), *args)
        assert r.returncode == 0, r.stderr
        src = (out / "model.c").read_text()
        assert src.count(f".double_rounding = {rounding}") == 10 and f".double_rounding = {1 - rounding}" not in src
    r = _cli("convert", model, "-o", str(tmp_path / "bad"), "--reference", "tflite")
    assert r.returncode == 2 and "invalid choice" in r.stderr and not (tmp_path / "bad").exists()
