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
    for opt in ("--output", "--prefix", "--no-inplace", "--plan"):
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
