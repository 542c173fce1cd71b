"""The benchmark harness (tinyengine_tflite.bench / measure / bench_targets / bench_markdown / tflm_baseline /
firmware_build / cortexm / memplot) on two small models: TFLM's hello_world (suite) and a small generated
MobileNet-style conv model."""
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from modelgen import int8_tflite, op_names
from reference import SUITE_DIR, run_litert

from keras_mcunet._tf import keras

L = keras.layers
HELLO = SUITE_DIR / "tflm_hello_world_int8.tflite"
AD01 = SUITE_DIR / "mlperf_ad01_int8.tflite"

cortexm = pytest.mark.cortexm
needs_arm = pytest.mark.skipif(
    shutil.which("arm-none-eabi-gcc") is None,
    reason="arm-none-eabi-gcc is not installed: the Cortex-M build and emulation tests need the GNU Arm "
           "toolchain (apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi)")


def _mobilenet_block(x):
    x = L.Conv2D(8, 3, strides=2, padding="same", activation="relu6")(x)
    x = L.DepthwiseConv2D(3, padding="same", activation="relu6")(x)
    x = L.Conv2D(12, 1, activation="relu6")(x)
    x = L.DepthwiseConv2D(3, strides=2, padding="same", activation="relu6")(x)
    return L.Conv2D(6, 1)(x)


@pytest.fixture(scope="module")
def conv_model(tmp_path_factory):
    buf = int8_tflite(_mobilenet_block, [(20, 18, 3)], "bench_mobilenet_block")
    path = tmp_path_factory.mktemp("models") / "bench_mobilenet_block.tflite"
    path.write_bytes(buf)
    return path


@pytest.fixture(scope="module")
def float_io_model():
    buf = int8_tflite(_mobilenet_block, [(12, 10, 3)], "bench_float_io_block", float_io=True)
    names = op_names(buf)
    assert names[0] == "QUANTIZE" and names[-1] == "DEQUANTIZE"
    return buf


# --- TFLM baseline -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("which", ["hello", "conv"])
def test_arena_bisection_finds_smallest(which, conv_model):
    from tinyengine_tflite.tflm_baseline import arena_works, smallest_arena
    buf = (HELLO if which == "hello" else conv_model).read_bytes()
    n = smallest_arena(buf, name=which).arena_bytes
    assert arena_works(buf, n)
    assert not arena_works(buf, n - 1)
    assert not arena_works(buf, n - 16)
    # Coarser bisection lands within one step above the exact answer.
    coarse = smallest_arena(buf, granularity=16).arena_bytes
    assert n <= coarse < n + 16 and arena_works(buf, coarse)


def test_tflm_allocations_and_live_bytes(conv_model):
    from tinyengine_tflite.tflm_baseline import smallest_arena, tflm_allocations, tflm_live_bytes, tflm_plan
    buf = conv_model.read_bytes()
    n = smallest_arena(buf).arena_bytes
    a = tflm_allocations(buf, n)
    assert a is not None and a.head + a.tail == a.total <= n and a.lines
    ops, live = tflm_live_bytes(buf)
    assert ops == op_names(buf)
    # TFLM's planned (head) part holds at least the activations live at any one operator.
    assert a.head >= max(live) > 0
    # The planner's greedy-by-size placement with TFLM's 16-byte alignment reproduces TFLM's head here.
    p = tflm_plan(buf)
    assert p.plan.arena_bytes == a.head and all(off % 16 == 0 for off in p.plan.offsets)


@pytest.mark.parametrize("name, peak, total", [("mcunet_vww_tinyengine", 161472, 1337264),
                                               ("mlperf_kws_ref_int8", 16000, 144800),
                                               ("tinymaix_mnist_resnet_q", 3552, 15552)])
def test_tflm_live_bytes_on_suite_models(name, peak, total):
    """The TFLM baseline's figures (computed with the planner's lifetime code under TFLM's rules) are the ones
    the benchmark has always reported."""
    from tinyengine_tflite.tflm_baseline import strip_float_io, tflm_live_bytes
    path = SUITE_DIR / f"{name}.tflite"
    if not path.exists():
        pytest.skip(f"{path} is missing (the suite models live in ../shared/models)")
    _, live = tflm_live_bytes(strip_float_io(path.read_bytes()))
    assert (max(live), sum(live)) == (peak, total)


def test_strip_float_io_equals_int8_internals(float_io_model):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    import tinyengine_tflite
    from tinyengine_tflite.tflm_baseline import io_details, run_tflm, strip_float_io
    orig = float_io_model
    new = strip_float_io(orig, "float_io")
    assert strip_float_io(new) == new                       # already int8 I/O: unchanged
    names = op_names(new)
    assert "QUANTIZE" not in names and "DEQUANTIZE" not in names and len(names) == len(op_names(orig)) - 2
    ins, outs = io_details(new)
    assert all(d["dtype"] == np.int8 for d in ins + outs)

    # LiteRT's reference kernels keep every intermediate tensor of the original (float-I/O) graph.
    it = Interpreter(model_content=orig, experimental_preserve_all_tensors=True,
                     experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    it.allocate_tensors()
    by_name = {d["name"]: d["index"] for d in it.get_tensor_details()}
    from tinyengine_tflite.schema import fb
    sg = fb.ModelT.InitFromPackedBuf(new, 0).subgraphs[0]
    q_in = by_name[sg.tensors[sg.inputs[0]].name.decode()]
    q_out = by_name[sg.tensors[sg.outputs[0]].name.decode()]
    for seed in range(3):
        x = np.random.default_rng(seed).uniform(-1, 1, it.get_input_details()[0]["shape"]).astype(np.float32)
        it.set_tensor(it.get_input_details()[0]["index"], x)
        it.invoke()
        xq, yq = it.get_tensor(q_in), it.get_tensor(q_out)
        assert xq.dtype == np.int8 and yq.dtype == np.int8
        assert np.any(yq != 0)
        np.testing.assert_array_equal(run_tflm(new, [xq])[0], yq)
        np.testing.assert_array_equal(run_litert(new, [xq])[0], yq)
    # tinyengine keeps float I/O outside its arena: both graphs need the same SRAM.
    a = tinyengine_tflite.compile_model(orig)[1].arena_bytes
    assert a == tinyengine_tflite.compile_model(new)[1].arena_bytes


def test_strip_float_io_names_the_model():
    from tinyengine_tflite.tflm_baseline import strip_float_io
    with pytest.raises(ValueError, match="not a TFLite|'bad'|subgraph"):
        strip_float_io(b"\x00" * 64, "bad")


# --- the whole command -------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def bench_run(conv_model, tmp_path_factory):
    from tinyengine_tflite.cli import main
    out = tmp_path_factory.mktemp("bench")
    rc = main(["bench", str(HELLO), str(conv_model), "--no-cortexm", "--repeats", "3", "--no-progress",
               "--targets", str(Path(__file__).resolve().parents[1] / "benchmarks" / "targets.json"),
               "--json", str(out / "r.json"), "--markdown", str(out / "B.md"), "--plot", str(out / "plots")])
    return rc, out


def test_bench_cli_writes_json_markdown_plots(bench_run):
    rc, out = bench_run
    assert rc == 0
    data = json.loads((out / "r.json").read_text())
    assert [m["model"] for m in data["models"]] == ["tflm_hello_world_int8", "bench_mobilenet_block"]
    assert data["environment"]["versions"]["tflite-micro"] and data["environment"]["cpu"]
    for m in data["models"]:
        assert m["status"] == "ok", m["errors"]
        s = m["sram"]
        assert s["tflm_arena_bytes"] > 0 and s["tinyengine_peak_bytes"] > 0
        assert s["ratio"] == pytest.approx(s["tflm_arena_bytes"] / s["tinyengine_peak_bytes"])
        assert m["tinyengine"]["lower_bound_bytes"] <= m["tinyengine"]["peak_sram_bytes"]
        lat = m["latency"]
        for engine in ("tinyengine", "tflm", "litert"):
            assert lat[engine]["median_ms"] > 0 and lat[engine]["runs"] == 3
    conv = data["models"][1]
    assert conv["tinyengine"]["inplace_layers"] >= 1
    assert conv["tinyengine"]["peak_sram_bytes"] <= conv["tinyengine"]["no_inplace_arena_bytes"]
    assert "patch_peak_sram_bytes" in conv["tinyengine"] and "tinyengine_patches" in conv["layers"]
    md = (out / "B.md").read_text()
    for text in ("## Targets", "## Peak SRAM", "patch-based peak (plan, MACs)", "## Flash", "## Host latency", "tflm_hello_world_int8",
                 "bench_mobilenet_block", "plots/bench_mobilenet_block.png", "AMD" if "AMD" in
                 data["environment"]["cpu"] else data["environment"]["cpu"][:8]):
        assert text in md
    import matplotlib.pyplot as plt
    for m in data["models"]:
        png = out / "plots" / f"{m['model']}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        img = plt.imread(png)
        assert img.shape[0] > 300 and img.shape[1] > 600


def test_regenerating_the_report_keeps_the_nas_evidence_section(bench_run, tmp_path):
    from tinyengine_tflite.bench import load_suite
    from tinyengine_tflite.bench_markdown import write_markdown
    from tinyengine_tflite.markdown_sections import put_section
    _, out = bench_run
    suite = load_suite(out / "r.json")
    assert suite.models[1].sram.tflm_arena_bytes > 0 and suite.options.repeats == 3
    report = tmp_path / "BENCHMARKS.md"
    write_markdown(suite, report)
    put_section(report, "tinynas-evidence", "## TinyNAS evidence\n\n| method | acc |",
                "python -m benchmarks.tinynas_evidence")
    write_markdown(suite, report)                    # the benchmark rewrites its body, not the section
    text = report.read_text()
    assert text.count("## TinyNAS evidence") == 1 and "## Peak SRAM" in text
    assert text.index("## Peak SRAM") < text.index("## TinyNAS evidence")


def test_report_renders_from_the_saved_json_without_measuring(bench_run, tmp_path):
    from tinyengine_tflite.cli import main
    _, out = bench_run
    assert main(["bench", "--from-json", str(out / "r.json"), "--markdown", str(tmp_path / "B.md")]) == 0

    def numbers(path):          # the tables (the plot links are relative to each report's folder)
        return path.read_text().split("## Peak SRAM")[1].split("## Memory per layer")[0]
    assert numbers(tmp_path / "B.md") == numbers(out / "B.md") and "| tflm_hello_world_int8 |" in numbers(out / "B.md")


def test_bench_reports_a_failing_model(tmp_path):
    """A model tinyengine refuses is listed as failed with the error naming it; TFLM's side is still measured."""
    from tinyengine_tflite.measure import benchmark_model
    import tensorflow as tf
    # CUMSUM: LiteRT has no int8 kernel, so the converter leaves it float32 between DEQUANTIZE and QUANTIZE
    buf = int8_tflite(lambda x: L.Lambda(lambda t: tf.math.cumsum(t, axis=1))(x), [(6, 3)],
                      "bench_unsupported_cumsum")
    bad = tmp_path / "cumsum_model.tflite"
    bad.write_bytes(buf)
    r = benchmark_model(bad, cortexm=False, repeats=1)
    assert r.status == "failed" and "convert" in r.errors
    assert "cumsum_model" in r.errors["convert"] and "CUMSUM" in r.errors["convert"]
    assert r.sram.tflm_arena_bytes > 0


def test_targets_evaluation():
    from tinyengine_tflite.bench_targets import evaluate_targets, load_targets
    from tinyengine_tflite.measure import Conversion, Flash, HostLatency, EngineTiming, ModelBenchmark, SramComparison
    targets = load_targets(Path(__file__).resolve().parents[1] / "benchmarks" / "targets.json")
    targets = [t for t in targets if t["kind"] not in ("cortexm_instructions", "macs_per_cycle")]

    def model(name, tflm, te, fb, weights, flash, speed):
        t = EngineTiming(1.0, 1.0, 3)
        return ModelBenchmark(
            name, None, fb, tinyengine=Conversion(te, te, te, te, "x", 0, 0, 0, 0, 0, None),
            sram=SramComparison(tflm, 1, 1, False, tflm, ratio=tflm / te, ratio_original_io=tflm / te),
            flash=Flash("m7", "-Os", "p", {}, 0, 0, 0, 0, flash, flash - weights, weights, te, fb, "", True, True),
            latency=HostLatency(3, 1, t, t, t, speed, 1.0))
    good = [model("mcunet_vww_tinyengine", 224976, 90000, 600000, 500000, 520000, 9.0),
            model("small", 2000, 1000, 20000, 15000, 25000, 1.0)]
    assert [x.met for x in evaluate_targets(good, targets)] == [True, True, True, True, True]
    bad = [model("mcunet_vww_tinyengine", 224976, 150000, 600000, 610000, 700000, 3.0)]
    assert [x.met for x in evaluate_targets(bad, targets)] == [False, False, False, False, False]
    missing = good + [ModelBenchmark("x", None, 90000, errors={"convert": "no"})]
    res = evaluate_targets(missing, targets)
    assert res[0].met is None and "not measured: x" in res[0].measured
    assert len(evaluate_targets([good[1]], targets)) == 3         # the VWW and mcunet* targets need those models


def test_targets_file_is_checked(tmp_path):
    from tinyengine_tflite.bench_targets import load_targets
    (tmp_path / "t.json").write_text('[{"kind": "fastest"}]')
    with pytest.raises(ValueError, match="t.json.*kind"):
        load_targets(tmp_path / "t.json")


# --- Cortex-M ----------------------------------------------------------------------------------------------------

@cortexm
@needs_arm
@pytest.mark.parametrize("which", ["hello", "conv"])
def test_cortexm_output_equals_host(which, conv_model):
    from tinyengine_tflite.cortexm import run_on_cortexm
    path = HELLO if which == "hello" else conv_model
    for seed in (0, 1):
        r = run_on_cortexm(path, part="stm32f746", seed=seed)
        assert r.status == "ok", r
        assert r.output_matches_host is True
        assert r.cycles > r.instructions > r.macs > 0
        assert 0 < r.stack_bytes <= r.stack_reserve_bytes
        assert r.firmware.arena_bytes <= r.firmware.bss_bytes and r.firmware.opt == "-O2"
        # the per-layer profile (TE_LAYER_BEGIN/END markers) covers every layer and adds up to the whole
        assert [lp.index for lp in r.layers] == list(range(len(r.layers))) and r.layers
        assert sum(lp.instructions for lp in r.layers) + r.outside_layers == r.instructions
        assert 0 < r.outside_layers < 40 * len(r.layers)
        assert sum(lp.macs for lp in r.layers) == r.macs and all(lp.cycles >= lp.instructions for lp in r.layers)


@cortexm
@needs_arm
def test_cortexm_block_count_equals_instruction_hook(tmp_path, conv_model):
    """The C block counter equals the same decoding done by a Python block hook; a per-instruction Python hook
    sees the same instructions except conditional ones that an IT block skips (unicorn does not call code hooks
    for those; the core still issues them), and each instruction it misses follows an IT instruction."""
    import collections
    import struct

    from unicorn import UC_HOOK_BLOCK, UC_HOOK_CODE

    from tinyengine_tflite.cortexm import emulate
    from tinyengine_tflite.elf import Elf32
    from tinyengine_tflite.firmware_build import build_firmware
    fw = build_firmware(conv_model, tmp_path, cpu="cortex-m4")
    x = [np.random.default_rng(0).integers(-128, 128, n).astype(np.int8) for n in fw.input_sizes]
    blocks, code = [], collections.Counter()

    def hooks(uc):
        uc.hook_add(UC_HOOK_BLOCK, lambda u, a, size, d: blocks.append((a, size)))
        uc.hook_add(UC_HOOK_CODE, lambda u, a, size, d: code.update([a]))
    r = emulate(fw, x, add_hooks=hooks)
    image = dict(Elf32(fw.elf).load_image())

    def halfword(a):
        for base, blob in image.items():
            if base <= a < base + len(blob):
                return struct.unpack_from("<H", blob, a - base)[0]
        raise AssertionError(f"{a:#x} not in the image")
    decoded = collections.Counter()
    for a, size in blocks:
        k = 0
        while k < size:
            decoded[a + k] += 1
            k += 4 if halfword(a + k) >> 11 >= 0x1D else 2
    assert r.instructions == sum(decoded.values()) > 0
    missed = {a: decoded[a] - code[a] for a in decoded if decoded[a] != code[a]}
    assert all(v > 0 for v in missed.values()) and not set(code) - set(decoded)
    for a in missed:   # an IT instruction (0xBFxy, mask y != 0) at most 4 instructions (<= 16 bytes) before
        assert any((halfword(a - k) & 0xFF00) == 0xBF00 and halfword(a - k) & 0xF for k in range(2, 18, 2)), hex(a)


@cortexm
@needs_arm
def test_emulator_timeout_names_where_it_stopped(conv_model, tmp_path):
    from tinyengine_tflite.emulator import CortexM4, EmulationTimeout
    from tinyengine_tflite.firmware_build import build_firmware
    fw = build_firmware(conv_model, tmp_path, cpu="cortex-m4")
    cpu = CortexM4(fw.elf, fw.part, name="conv firmware")
    cpu.run(None, "te_bench_ready", timeout_s=60)
    # a stop the firmware never reaches again (main loops after the inference), so the limit is what ends the
    # run however fast the machine emulates (te_bench_done within 1 ms was not: the faster kernels made it)
    with pytest.raises(EmulationTimeout, match=r"conv firmware: did not reach Reset_Handler within 0.05 s .*pc=0x"):
        cpu.run("te_bench_ready", "Reset_Handler", timeout_s=0.05)


@cortexm
@needs_arm
def test_cortexm_does_not_fit_small_parts():
    from tinyengine_tflite.cortexm import emulate, run_on_cortexm
    from tinyengine_tflite.firmware_build import build_firmware
    from tinyengine_tflite.parts import CortexMError, Part
    tiny_sram = Part("fake-1k-sram", sram_bytes=1024, flash_bytes=1 << 20)
    r = run_on_cortexm(AD01, part=tiny_sram)
    assert r.status == "does not fit" and "SRAM" in r.reason and r.instructions is None
    assert r.sram_needed_bytes > 1024
    tiny_flash = Part("fake-64k-flash", sram_bytes=320 * 1024, flash_bytes=64 * 1024)
    r = run_on_cortexm(AD01, part=tiny_flash)
    assert r.status == "does not fit" and "flash" in r.reason and "SRAM" not in r.reason
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        fw = build_firmware(HELLO, d, cpu="cortex-m4", part=tiny_sram)
        with pytest.raises(CortexMError, match="does not fit fake-1k-sram"):
            emulate(fw, [np.zeros(n, np.int8) for n in fw.input_sizes])


@cortexm
@needs_arm
def test_flash_split_and_dead_kernels_dropped(tmp_path):
    import tinyengine_tflite
    from tinyengine_tflite.elf import Elf32
    from tinyengine_tflite.firmware_build import build_firmware
    fw = build_firmware(HELLO, tmp_path, cpu="cortex-m7")
    lowered, sched = tinyengine_tflite.compile_model(HELLO)
    const = lowered.const_bytes
    assert const <= fw.weights_bytes <= fw.rodata_bytes
    assert fw.code_bytes > 0 and fw.flash_bytes == fw.text_bytes + fw.rodata_bytes + fw.data_bytes
    assert fw.flash_bytes == fw.code_bytes + fw.weights_bytes
    names = {s.name for s in Elf32(fw.elf).symbols}
    assert "te_fully_connected_s8" in names
    assert "te_conv2d_s8" not in names            # --gc-sections dropped the unused convolution kernel
    assert "model_invoke" in names
    assert fw.input_sizes == [lowered.buffers[s.buffer].nbytes for s in lowered.inputs] == [1]


@cortexm
@needs_arm
def test_harness_sources_are_warning_free_c99(tmp_path):
    import subprocess

    from tinyengine_tflite.firmware_build import BENCH_MAIN_PATH, FIRMWARE_DIR, MARKERS_PATH, STARTUP_PATH
    (tmp_path / "model.h").write_text("#include <stdint.h>\n"
                                      "int8_t *model_input(int i);\nint8_t *model_output(int i);\n"
                                      "int model_invoke(void);\n")
    for f in (STARTUP_PATH, BENCH_MAIN_PATH, MARKERS_PATH):
        r = subprocess.run(["arm-none-eabi-gcc", "-std=c99", "-mcpu=cortex-m4", "-mthumb", "-Os", "-Wall", "-Wextra",
                            "-Werror", "-pedantic", f"-I{tmp_path}", f"-I{FIRMWARE_DIR}", '-DTE_MODEL_HEADER="model.h"',
                            "-DTE_MODEL_PREFIX=model", "-DTE_NUM_INPUTS=1", "-DTE_NUM_OUTPUTS=2", "-c", str(f), "-o",
                            str(tmp_path / (f.name + ".o"))], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr


def test_arena_bisection_does_not_leak():
    """Hundreds of failed and successful TFLM constructions (what the bisection does) keep the RSS flat."""
    from tinyengine_tflite.tflm_baseline import arena_works
    buf = (SUITE_DIR / "mcunet_vww_tinyengine.tflite").read_bytes()

    def rss_kb():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * 4

    for _ in range(5):
        arena_works(buf, 230_000)
    before = rss_kb()
    for k in range(60):
        assert arena_works(buf, 100_000) is False and arena_works(buf, 230_000) is True
    # 60 leaked arenas would be >= 60 * 100 KB + 60 * 225 KB = 19 MB.
    assert rss_kb() - before < 6_000


@cortexm
@needs_arm
def test_benchmark_model_with_cortexm(tmp_path):
    from tinyengine_tflite.bench_markdown import render_markdown
    from tinyengine_tflite.measure import benchmark
    suite = benchmark([HELLO], repeats=2, progress=False, part="stm32f412")
    r = suite.models[0]
    assert r.status == "ok", r.errors
    f, c = r.flash, r.cortexm
    assert f.cpu == "cortex-m7" and f.opt == "-Os" and 0 < f.weights_bytes <= min(f.flash_bytes, r.flatbuffer_bytes)
    assert c.cpu == "cortex-m4" and c.firmware.opt == "-O2" and c.part.name == "stm32f412" and c.output_matches_host
    md = render_markdown(suite, tmp_path / "B.md", profiled_models=["tflm_hello_world_int8"])
    row = next(ln for ln in md.splitlines() if ln.startswith("| tflm_hello_world_int8 | ok |"))
    assert f"{c.instructions:,}" in row and f"{c.cycles:,}" in row and "| yes |" in row
    assert "stm32f412" in md and "Estimated cycles" in md
    assert len(c.layers) == 3
    assert "Per-layer Cortex-M4 profile: tflm_hello_world_int8" in md and "`te_fully_connected_s8`" in md
