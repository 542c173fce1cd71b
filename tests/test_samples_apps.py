"""The sample applications end to end: deploy folders (TinyEngine C + app C + Makefile), the deployed programs
on the real inputs of shared/data against the Python path, the Cortex-M firmware, the pipeline and the main job.

Small models (keras_mcunet.build_model, one epoch on a few default samples) keep the default suite fast; the
full pipeline with the TinyNAS search runs under -m slow."""
import configparser
import json
import re
import shutil
import struct
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest

import keras_mcunet as km
import tf_keras as keras      # Keras 2: tests/conftest.py selects it, as keras_mcunet does
import tinyengine_tflite
from samples.budget import PipelineBudget, parse_bytes
from samples.deploy import parse_host_output, write_deploy_folder
from samples.kws.app import KWS_APP, KWSTask
from samples.kws.frontend import compute_mfcc
from samples.kws.wav_io import fit_clip, read_wav
from samples.pipeline import STAGES, run_pipeline
from samples.results import render_table
from samples.vww.app import VWW_APP, VWWTask, write_sample_bmp
from samples.vww.data import load_default_vww

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
CLIPS = ("yes", "no", "silence", "noise")
HAVE_ARM = shutil.which("arm-none-eabi-gcc") is not None
cortexm = pytest.mark.cortexm
needs_arm = pytest.mark.skipif(not HAVE_ARM, reason="arm-none-eabi-gcc is not installed (apt-get install "
                                                    "gcc-arm-none-eabi libnewlib-arm-none-eabi)")


def _train_and_export(arch, x, y, path) -> bytes:
    model = km.build_model(arch)
    model.compile(optimizer=keras.optimizers.Adam(3e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    return km.export_tflite(model, str(path), representative_data=x, num_samples=32)


VWW_ARCH = km.ArchConfig(width_mult=0.25, resolution=48, ks=((3,), (5,)), expand=((3,), (4,)), in_channels=3,
                         num_classes=2, stage_channels=(24, 40), stage_strides=(2, 2))
KWS_ARCH = km.ArchConfig(width_mult=0.5, resolution=(49, 10), ks=((3,), (3,)), expand=((3,), (3,)), in_channels=1,
                         num_classes=12, stage_channels=(24, 40), stage_strides=(1, 2))


@pytest.fixture(scope="module")
def vww(tmp_path_factory):
    """A tiny VWW model trained one epoch on the offline proxy, and its deploy folder (host program built)."""
    work = tmp_path_factory.mktemp("vww_app")
    (x, y), (xv, yv) = load_default_vww(48, 3, samples_per_class=48, val_samples_per_class=4)
    model = _train_and_export(VWW_ARCH, x, y, work / "vww.tflite")
    sample = write_sample_bmp(xv[0], work / "sample.bmp")
    folder = write_deploy_folder(model, work / "deploy", VWW_APP, sample)
    folder.build_host()
    return folder, model


@pytest.fixture(scope="module")
def kws(tmp_path_factory):
    """A tiny KWS model trained one epoch on a few espeak-ng clips, and its deploy folder (host program built)."""
    from samples.kws import load_default_kws
    work = tmp_path_factory.mktemp("kws_app")
    (xw, y), _, _ = load_default_kws(samples_per_class=5, out_dir=work / "espeak", progress=False)
    model = _train_and_export(KWS_ARCH, compute_mfcc(xw, channel_axis=True), y, work / "kws.tflite")
    folder = write_deploy_folder(model, work / "deploy", KWS_APP, DATA / "yes_1000ms.wav")
    folder.build_host()
    return folder, model


def _python_logits(model: bytes, q: np.ndarray) -> np.ndarray:
    it = tinyengine_tflite.Interpreter(model_content=model)
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], q[None])
    it.invoke()
    return it.get_tensor(it.get_output_details()[0]["index"]).reshape(-1)


def _softmax_of(model: bytes, logits: np.ndarray) -> np.ndarray:
    it = tinyengine_tflite.Interpreter(model_content=model)
    scale, zero_point = it.get_output_details()[0]["quantization"]
    z = np.float32(scale) * (logits.astype(np.float32) - np.float32(zero_point))
    e = np.exp(z - z.max())
    return e / e.sum()


# ---------------------------------------------------------------- the deployed programs vs Python

@pytest.mark.parametrize("image", ["person.bmp", "no_person.bmp"])
def test_vww_deployed_c_equals_python_interpreter(vww, image):
    folder, model = vww
    run = folder.run_host(DATA / image, dump_input=True)
    q = VWWTask().reference_input(DATA / image, folder.input_shape, folder.input_scale, folder.input_zero_point)
    assert q.shape == (48, 48, 3) and run.input_tensor.shape == q.shape
    assert np.array_equal(run.input_tensor, q)                       # C BMP reader == load_image + quantize_int8
    logits = _python_logits(model, q)
    assert np.array_equal(run.logits, logits)                        # deployed C == Python Interpreter
    assert run.label == VWW_APP.labels[int(np.argmax(logits))]
    probs = _softmax_of(model, logits)
    np.testing.assert_allclose([run.scores[name] for name in VWW_APP.labels], probs, atol=2e-6)
    assert run.score == pytest.approx(probs.max(), abs=2e-6)
    assert f"{image} -> 48x48x3 int8" in run.stdout and run.stdout.startswith("input: ")


@pytest.mark.parametrize("clip", CLIPS)
def test_kws_deployed_c_front_end_and_model_equal_python(kws, clip):
    """wav -> C reader -> C MFCC -> quantize -> model, against TF MFCC -> quantize_features -> Interpreter. The
    int8 features agree exactly on these clips (the float MFCCs agree to ~2.5e-5, far from a rounding edge)."""
    folder, model = kws
    path = DATA / f"{clip}_1000ms.wav"
    run = folder.run_host(path, dump_input=True)
    q = KWSTask().reference_input(path, folder.input_shape, folder.input_scale, folder.input_zero_point)
    assert q.shape == (49, 10, 1)
    assert np.array_equal(run.input_tensor, q)
    logits = _python_logits(model, q)
    assert np.array_equal(run.logits, logits)
    assert run.label == KWS_APP.labels[int(np.argmax(logits))]
    np.testing.assert_allclose([run.scores[name] for name in KWS_APP.labels], _softmax_of(model, logits),
                               atol=2e-6)
    assert "16000 samples, 49x10 MFCC int8" in run.stdout


def _wav_bytes(samples: np.ndarray, fmt_tag: int = 1, extra_chunks: bytes = b"", odd_chunk: bool = False) -> bytes:
    data = samples.astype("<i2").tobytes()
    if fmt_tag == 0xFFFE:
        guid = struct.pack("<H", 1) + b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
        fmt = struct.pack("<HHIIHHHHI", 0xFFFE, 1, 16000, 32000, 2, 16, 22, 16, 4) + guid
    else:
        fmt = struct.pack("<HHIIHH", fmt_tag, 1, 16000, 32000, 2, 16)
    chunks = b"fmt " + struct.pack("<I", len(fmt)) + fmt
    if odd_chunk:
        chunks += b"junk" + struct.pack("<I", 3) + b"abc\x00"          # odd size, padded to even
    chunks += extra_chunks + b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks


def test_kws_c_wav_reader_layouts_and_lengths(kws, tmp_path):
    folder, _ = kws
    rng = np.random.default_rng(0)
    clip = read_wav(DATA / "yes_1000ms.wav")
    short = (rng.normal(0, 3000, 9000)).astype(np.int16)
    long = np.concatenate([clip, rng.integers(-3000, 3000, 4000).astype(np.int16)])
    cases = {"short.wav": (_wav_bytes(short), short), "long.wav": (_wav_bytes(long), long),
             "list_chunk.wav": (_wav_bytes(clip, extra_chunks=b"LIST" + struct.pack("<I", 4) + b"INFO"), clip),
             "odd_chunk.wav": (_wav_bytes(clip, odd_chunk=True), clip),
             "extensible.wav": (_wav_bytes(clip, fmt_tag=0xFFFE), clip)}
    for name, (data, samples) in cases.items():
        (tmp_path / name).write_bytes(data)
        run = folder.run_host(tmp_path / name, dump_input=True)
        features = compute_mfcc(fit_clip(samples), channel_axis=True)
        from samples.kws.frontend import quantize_features
        expected = quantize_features(features, folder.input_scale, folder.input_zero_point)
        assert np.array_equal(run.input_tensor, expected), name
        assert f"-> {min(len(samples), 16000)} samples" in run.stdout, name
    for name in ("short.wav", "long.wav", "list_chunk.wav", "odd_chunk.wav"):
        assert np.array_equal(read_wav(tmp_path / name), cases[name][1])     # Python reads them the same way


def _run_main(folder, *args):
    return subprocess.run([str(folder.path / "main"), *map(str, args)], capture_output=True, text=True, timeout=60)


def test_deployed_programs_reject_bad_input(vww, kws, tmp_path):
    vfolder, _ = vww
    kfolder, _ = kws
    for folder in (vfolder, kfolder):
        r = _run_main(folder)
        assert r.returncode == 2 and "usage:" in r.stderr
        r = _run_main(folder, tmp_path / "absent.file")
        assert r.returncode == 1 and "absent.file: cannot open or read the file" in r.stderr
    (tmp_path / "text.bmp").write_text("not a bitmap")
    r = _run_main(vfolder, tmp_path / "text.bmp")
    assert r.returncode == 1 and "not a BMP file" in r.stderr
    with wave.open(str(tmp_path / "stereo.wav"), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(b"\0" * 400)
    r = _run_main(kfolder, tmp_path / "stereo.wav")
    assert r.returncode == 1 and "need 16-bit mono 16000 Hz PCM" in r.stderr
    good = _wav_bytes(read_wav(DATA / "yes_1000ms.wav"))
    (tmp_path / "truncated.wav").write_bytes(good[:20000])
    r = _run_main(kfolder, tmp_path / "truncated.wav")
    assert r.returncode == 1 and "truncated wav file" in r.stderr
    with pytest.raises(ValueError, match="truncated"):
        read_wav(tmp_path / "truncated.wav")                                 # Python refuses it too


def test_deploy_folder_contents_makefile_and_c_hygiene(vww, kws):
    for folder, app_files in ((vww[0], ("vww_image_reader.c", "sample.bmp")),
                              (kws[0], ("kws_frontend.c", "kws_frontend_tables.h", "kws_wav.c", "sample.wav"))):
        names = set(folder.files)
        for f in ("Makefile", "main.c", "firmware.c", "startup_cortexm.c", "cortexm.ld", "model.c", "model.h",
                  "classify.c", "app_host.c", "app_host.h", "app_firmware.c", "app_firmware.h", "app_config.h",
                  "app_config.c", "sample_input.c", "model.tflite", "README.md",
                  "memory_report.txt") + app_files:
            assert f in names, f
        makefile = (folder.path / "Makefile").read_text()
        for target in ("host:", "arm:", "run:", "clean:"):
            assert re.search(rf"^{target}", makefile, re.M), target
        assert "-mcpu=cortex-m4 -mthumb" in makefile and "-Os" in makefile and "-Werror" in makefile
        ld = (folder.path / "cortexm.ld").read_text()
        assert f"LENGTH = {folder.part.sram_bytes}" in ld and f"LENGTH = {folder.part.flash_bytes}" in ld
        for c in folder.path.glob("*.[ch]"):
            text = c.read_text()
            assert not re.search(r"\b(malloc|calloc|realloc|free)\s*\(", text), c.name
        labels = (folder.path / "app_config.c").read_text()
        assert all(f'"{name}"' in labels for name in folder.app.labels)
        # make run: the sample input the folder ships, through ./main
        out = folder.make("run")
        run = parse_host_output(out, folder.app.labels)
        assert run.label in folder.app.labels


def test_make_host_fails_loudly_on_a_warning(vww, tmp_path):
    """-Werror is real: a copy of the folder with an unused variable in main.c does not build."""
    folder, _ = vww
    copy = tmp_path / "deploy"
    shutil.copytree(folder.path, copy, ignore=shutil.ignore_patterns("main", "build"))
    main_c = copy / "main.c"
    main_c.write_text(main_c.read_text().replace("int main(int argc, char **argv) {",
                                                 "int main(int argc, char **argv) {\n    int unused_variable;"))
    r = subprocess.run(["make", "-C", str(copy), "host"], capture_output=True, text=True)
    assert r.returncode != 0 and "unused_variable" in r.stderr


def test_deploy_folder_argument_errors(vww, kws, tmp_path):
    _, model = vww
    with pytest.raises(FileNotFoundError, match="nope.bmp"):
        write_deploy_folder(model, tmp_path / "a", VWW_APP, tmp_path / "nope.bmp")
    with pytest.raises(ValueError, match=r"must be a \.bmp file"):
        write_deploy_folder(model, tmp_path / "b", VWW_APP, DATA / "yes_1000ms.wav")
    with pytest.raises(ValueError, match="needs the 49x10x1 MFCC input.*takes 48x48x3"):
        write_deploy_folder(model, tmp_path / "c", KWS_APP, DATA / "yes_1000ms.wav")
    with pytest.raises(ValueError, match="12 outputs but the vww app has 2 classes"):
        write_deploy_folder(kws[1], tmp_path / "d", VWW_APP, DATA / "person.bmp")
    with pytest.raises(ValueError, match="stack_bytes"):
        write_deploy_folder(model, tmp_path / "e", VWW_APP, DATA / "person.bmp", stack_bytes=100)


# ---------------------------------------------------------------- Cortex-M firmware

@cortexm
@needs_arm
@pytest.mark.parametrize("which", ["vww", "kws"])
def test_arm_target_builds_and_firmware_matches_host(which, vww, kws, tmp_path):
    from samples.firmware import emulate_firmware
    folder, _ = vww if which == "vww" else kws
    arm = folder.build_arm()
    assert arm.elf.is_file() and arm.elf.read_bytes()[:4] == b"\x7fELF"
    assert "firmware.elf" in arm.size_output and "flash" in arm.size_output
    assert arm.text_bytes > folder.report.weight_bytes                     # the weights are in flash
    assert arm.bss_bytes >= folder.report.arena_bytes + folder.stack_bytes  # the arena and the stack in SRAM
    assert arm.flash_bytes <= folder.part.flash_bytes and arm.sram_bytes <= folder.part.sram_bytes
    run = emulate_firmware(arm.elf, folder.part, len(folder.app.labels))
    host = folder.run_host(folder.path / folder.sample_file)
    assert run.status == 0
    assert np.array_equal(run.logits, host.logits)
    assert folder.app.labels[run.class_index] == host.label
    assert run.score == pytest.approx(host.score, abs=1e-5)
    if which == "vww":
        # Counting instructions (--count-app-instructions) changes nothing but the time; the whole app (BMP decode,
        # model, softmax) executes more than the model alone does in the benchmark's firmware.
        from tinyengine_tflite.cortexm import run_on_cortexm
        counted = emulate_firmware(arm.elf, folder.part, len(folder.app.labels), count_instructions=True)
        assert np.array_equal(counted.logits, run.logits)
        model_only = run_on_cortexm(str(folder.path / "model.tflite"), part=folder.part)
        assert model_only.status == "ok"
        assert counted.instructions > model_only.instructions + 48 * 48 * 3
    else:
        # The hard-float variant the Makefile documents (the M4F's FPU for the MFCC front end) builds and gives
        # the same result.
        copy = tmp_path / "hard_float"
        shutil.copytree(folder.path, copy, ignore=shutil.ignore_patterns("main", "build"))
        r = subprocess.run(["make", "-C", str(copy), "arm",
                            "ARM_CPU_FLAGS=-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16"],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        hard = emulate_firmware(copy / "build" / "arm" / "firmware.elf", folder.part, len(folder.app.labels))
        assert hard.status == 0 and np.array_equal(hard.logits, host.logits)


@cortexm
@needs_arm
def test_arm_target_fails_when_the_firmware_does_not_fit(vww, tmp_path):
    from tinyengine_tflite.parts import Part
    folder, model = vww
    tiny = Part("tiny_m4", sram_bytes=8 * 1024, flash_bytes=256 * 1024, core="cortex-m4")
    small = write_deploy_folder(model, tmp_path / "deploy", VWW_APP, folder.path / "sample.bmp", part=tiny)
    with pytest.raises(RuntimeError, match="overflow"):
        small.build_arm()


# ---------------------------------------------------------------- the pipeline and the command lines

def _vww_folder(root: Path, per_class: int) -> Path:
    """A Visual Wake Words folder (person/, non_person/) of 64x64 PNG files made from the proxy data."""
    from PIL import Image
    (x, y), _ = load_default_vww(64, 3, seed=5, samples_per_class=per_class, val_samples_per_class=1, dtype="uint8")
    for label, name in enumerate(("non_person", "person")):
        (root / name).mkdir(parents=True)
        for i, image in enumerate(x[y == label]):
            Image.fromarray(image).save(root / name / f"{name}_{i}.png")
    return root


def test_pipeline_with_a_given_arch_end_to_end(tmp_path):
    """Every stage after the search, with a fixed arch, on a VWW folder: accuracies, deploy check, firmware,
    benchmark, table."""
    arch_file = tmp_path / "arch.json"
    arch_file.write_text(json.dumps({"arch": VWW_ARCH.to_dict()}))             # best_arch.json's layout
    folder = _vww_folder(tmp_path / "vw_coco2014_96", per_class=50)
    task = VWWTask(folder, progress=False)
    budget = PipelineBudget(finetune_epochs=1, qat_epochs=1, batch_size=16)
    res = run_pipeline(task, budget, tmp_path / "out", arch_file=arch_file, verbose=0)
    out = tmp_path / "out"
    assert res.arch == VWW_ARCH.to_dict() and res.eval_samples == 10          # load_vww's 10% validation split
    assert res.data == f"Visual Wake Words folder {folder}"
    for acc in (res.float_accuracy, res.int8_accuracy_tinyengine, res.int8_accuracy_tflm):
        assert 0.0 <= acc <= 1.0
    assert res.int8_same_logits_reference == 10                 # tinyengine == TFLite reference kernels everywhere
    assert res.deploy.sample.input_matches and res.deploy.sample.logits_match
    assert res.model.input_shape == [48, 48, 3] and res.model.peak_sram_bytes > 0
    assert res.bench.te_peak_sram_bytes == res.model.peak_sram_bytes
    assert res.bench.tflm_arena_bytes > 0 and res.bench.te_host_ms > 0 and res.bench.tflm_host_ms > 0
    if HAVE_ARM:
        assert res.firmware.matches_host and res.bench.cortexm_instructions > 0
    assert (out / "plots" / "memory_per_layer.png").read_bytes()[:4] == b"\x89PNG"
    saved = json.loads((out / "results.json").read_text())
    assert saved["int8_accuracy_tinyengine"] == res.int8_accuracy_tinyengine
    assert saved["deploy"]["sample"]["logits_match"] and saved["model"]["input_shape"] == [48, 48, 3]
    assert list(saved["timings_s"]) == [stage.name for stage in STAGES] + ["total"]
    table = (out / "results.md").read_text()
    for row in ("float accuracy", "int8 accuracy", "peak SRAM", "flash", "host latency", "Cortex-M4 latency"):
        assert row in table
    assert f"{100 * res.int8_accuracy_tinyengine:.1f}%" in table
    assert table.strip() == render_table(res).strip()
    assert (out / "deploy" / "main").exists() and (out / "model.tflite").exists()


def test_command_lines_name_a_bad_data_path(tmp_path, capsys):
    from samples.kws.__main__ import main as kws_main
    from samples.main import main as demo_main
    from samples.vww.__main__ import main as vww_main
    missing = tmp_path / "no_such_folder"
    for main, args in ((vww_main, []), (kws_main, []), (demo_main, []), (demo_main, ["--task", "kws"])):
        assert main(args + ["--data", str(missing), "--out", str(tmp_path / "out")]) == 2
        assert str(missing) in capsys.readouterr().err
    (tmp_path / "flat").mkdir()
    assert vww_main(["--data", str(tmp_path / "flat"), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    assert "must hold the subfolders non_person/ and person/" in capsys.readouterr().err


def test_budget_options():
    assert parse_bytes("256KB") == 256 * 1024 and parse_bytes("1MB") == 1024 * 1024
    assert parse_bytes("262144") == 262144 and parse_bytes("0.5M") == 512 * 1024
    import argparse
    for bad in ("-1", "lots", "1.5"):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_bytes(bad)
    from samples.budget import budget_from_args
    from samples.vww.__main__ import build_parser
    args = build_parser().parse_args(["--preset", "quick", "--sram-limit", "128KB", "--generations", "0",
                                      "--width-mults", "0.3,0.4"])
    b = budget_from_args(args)
    assert b.sram_limit == 128 * 1024 and b.generations == 0 and b.width_mults == (0.3, 0.4)
    assert b.compact_space and b.supernet_epochs == 6


def test_setup_cfg_entry_point_and_package_data():
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    assert "keras-mcunet-demo = samples.main:main" in cfg["options.entry_points"]["console_scripts"]
    value = cfg["options.package_data"]["samples"]
    # setuptools splits a value with newlines on the newlines only, else on the commas
    globs = [g.strip() for g in (value.splitlines() if "\n" in value else value.split(",")) if g.strip()]
    assert all("," not in g for g in globs)
    for f in (ROOT / "samples" / "deploy_c").rglob("*"):
        if f.is_file():
            rel = f.relative_to(ROOT / "samples")
            assert any(rel.match(g) for g in globs), rel


# ---------------------------------------------------------------- the main job, with the search

@pytest.mark.slow
@pytest.mark.parametrize("task", ["vww", "kws"])
def test_main_job_with_search_smallest_budgets(task, tmp_path, capsys):
    from samples.main import main
    out = tmp_path / "demo"
    args = ["--task", task, "--out", str(out), "--space-samples", "20", "--supernet-epochs", "1",
            "--supernet-steps", "4", "--population", "2", "--generations", "1", "--finetune-epochs", "1",
            "--qat-epochs", "1", "--quiet"]
    if task == "vww":
        args += ["--samples-per-class", "60", "--val-samples-per-class", "10", "--width-mults", "0.3",
                 "--resolutions", "48,64"]
    else:
        args += ["--width-mults", "0.25,0.5"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "MCUNet pipeline results" in printed and "| int8 accuracy" in printed
    res = json.loads((out / "results.json").read_text())
    arch = km.ArchConfig.from_dict(res["arch"])
    from keras_mcunet.profiler import profile
    prof = profile(arch)
    assert prof.peak_sram_bytes <= 64 * 1024 and prof.flash_bytes <= 256 * 1024       # the main job's limits
    assert res["model"]["peak_sram_bytes"] == prof.peak_sram_bytes                    # profiler == compiler
    assert res["deploy"]["sample"]["input_matches"] and res["deploy"]["sample"]["logits_match"]
    for plot in ("space_macs_cdf", "memory_per_layer"):
        assert Path(res["plots"][plot]).read_bytes()[:4] == b"\x89PNG"
    assert (out / "deploy" / "Makefile").exists() and (out / "search" / task / "best_arch.json").exists()
