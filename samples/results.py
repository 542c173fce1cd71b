"""What a sample pipeline measured (typed results, saved as results.json) and its table (results.md)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tinyengine_tflite.json_files import write_json

KB = 1024
DEFAULT_CORTEXM_MHZ = 100.0       # the STM32F412's clock, for the latency estimate from instruction counts


@dataclass
class Int8Accuracy:
    """The int8 model on the evaluation data with tinyengine_tflite.Interpreter and with TFLite Micro, and on how
    many inputs tinyengine's int8 logits equal TFLM's and TFLite's reference kernels'."""
    tinyengine: float
    tflm: float
    same_logits_tflm: int
    same_logits_reference: int
    samples: int


@dataclass
class DeployedCheck:
    """The deploy folder's ./main against the Python path (task.reference_input, then the Interpreter) on one
    input file."""
    file: str
    c_label: str
    c_score: float
    c_logits: list[int]
    python_logits: list[int]
    python_label: str
    input_matches: bool
    input_max_abs_diff: int
    logits_match: bool


@dataclass
class ModelSummary:
    """The deployed model as tinyengine_tflite converted it."""
    peak_sram_bytes: int
    flash_bytes: int
    macs: int
    layers: int
    tflite_bytes: int
    input_shape: list[int]
    patch_plan: str | None = None                 # patch-based inference: the stage run patch by patch
    layerwise_peak_sram_bytes: int | None = None  # the peak of layer-by-layer execution, for comparison


@dataclass
class DeploySummary:
    folder: str
    files: list[str]
    sample: DeployedCheck


@dataclass
class FirmwareSummary:
    """The whole application's Cortex-M firmware (make arm) and its run on the emulator."""
    elf: str
    flash_bytes: int
    sram_bytes: int
    stack_bytes: int
    text_bytes: int
    data_bytes: int
    bss_bytes: int
    emulated_label: str | None
    emulated_logits: list[int]
    matches_host: bool
    instructions: int | None


@dataclass
class BenchSummary:
    """The numbers of a tinyengine_tflite benchmark (tinyengine against TFLite Micro) that the table shows."""
    status: str | None = None
    te_peak_sram_bytes: int | None = None
    te_patch_peak_sram_bytes: int | None = None   # patch-based (auto), when it is smaller
    tflm_arena_bytes: int | None = None
    sram_ratio: float | None = None
    te_flash_bytes: int | None = None
    te_code_bytes: int | None = None
    te_weights_bytes: int | None = None
    flash_cpu: str | None = None
    tflm_flatbuffer_bytes: int | None = None
    te_host_ms: float | None = None
    tflm_host_ms: float | None = None
    host_speedup: float | None = None
    cortexm_status: str | None = None
    cortexm_instructions: int | None = None
    cortexm_ms: float | None = None
    cortexm_matches_host: bool | None = None

    @classmethod
    def of(cls, b, mhz: float) -> BenchSummary:
        """From a tinyengine_tflite.measure.ModelBenchmark; Cortex-M milliseconds at `mhz`, one instruction a
        cycle."""
        sram, flash, lat, cm = b.sram, b.flash, b.latency, b.cortexm
        instructions = cm.instructions if cm else None
        return cls(status=b.status,
                   te_peak_sram_bytes=b.tinyengine.peak_sram_bytes if b.tinyengine else None,
                   te_patch_peak_sram_bytes=b.tinyengine.patch_peak_sram_bytes if b.tinyengine else None,
                   tflm_arena_bytes=sram.tflm_like_for_like_bytes if sram else None,
                   sram_ratio=sram.ratio if sram else None,
                   te_flash_bytes=flash.flash_bytes if flash else None,
                   te_code_bytes=flash.code_bytes if flash else None,
                   te_weights_bytes=flash.weights_bytes if flash else None,
                   flash_cpu=flash.cpu if flash else None,
                   tflm_flatbuffer_bytes=b.flatbuffer_bytes,
                   te_host_ms=lat.tinyengine.median_ms if lat and lat.tinyengine else None,
                   tflm_host_ms=lat.tflm.median_ms if lat and lat.tflm else None,
                   host_speedup=lat.speedup_vs_tflm if lat else None,
                   cortexm_status=cm.status if cm else None,
                   cortexm_instructions=instructions,
                   cortexm_ms=instructions / (mhz * 1e3) if instructions else None,
                   cortexm_matches_host=cm.output_matches_host if cm else None)


@dataclass
class Results:
    task: str
    title: str
    data: str
    eval_split: str
    eval_samples: int
    budget: dict
    part: str
    arch: dict | None = None
    search_space: str | None = None
    float_accuracy: float | None = None
    int8_accuracy_tinyengine: float | None = None
    int8_accuracy_tflm: float | None = None
    int8_same_logits: int | None = None           # inputs where tinyengine's int8 logits equal TFLM's
    int8_same_logits_reference: int | None = None # ... equal TFLite's reference kernels'
    model: ModelSummary | None = None
    deploy: DeploySummary | None = None
    firmware: FirmwareSummary | None = None       # None: arm-none-eabi-gcc missing or the build failed
    bench: BenchSummary | None = None             # None: --no-bench
    plots: dict[str, str] = field(default_factory=dict)
    timings_s: dict[str, float] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def write(self, out: Path, mhz: float) -> None:
        """results.md (the table) and results.json in `out`."""
        (out / "results.md").write_text(render_table(self, mhz) + "\n")
        write_json(out / "results.json", self)


def _kb(n) -> str:
    return "n/a" if n is None else f"{n / KB:,.1f} KB"


def _pct(v) -> str:
    return "n/a" if v is None else f"{100 * v:.1f}%"


def render_table(res: Results, mhz: float = DEFAULT_CORTEXM_MHZ) -> str:
    """The final table (Markdown): accuracy, peak SRAM, flash, host and Cortex-M latency, tinyengine vs TFLM."""
    m, b, n = res.model, res.bench, res.eval_samples
    rows = [("float accuracy (Keras)", _pct(res.float_accuracy), "", ""),
            ("int8 accuracy", _pct(res.int8_accuracy_tinyengine), _pct(res.int8_accuracy_tflm),
             f"same int8 logits on {res.int8_same_logits}/{n} (TFLite reference: {res.int8_same_logits_reference}/{n})"
             if res.int8_same_logits is not None else "")]
    if b:
        rows.append(("peak SRAM (activations + scratch)", _kb(b.te_peak_sram_bytes), _kb(b.tflm_arena_bytes),
                     f"{b.sram_ratio:.2f}x less" if b.sram_ratio else ""))
        fl = b.te_flash_bytes
        rows.append((f"flash (model: code + weights, {b.flash_cpu or 'Cortex-M'} build)",
                     _kb(fl) if fl else "n/a", f"{_kb(b.tflm_flatbuffer_bytes)} flatbuffer + runtime",
                     f"code {_kb(b.te_code_bytes)}, weights {_kb(b.te_weights_bytes)}" if fl else ""))
        rows.append(("host latency (median, x86)", f"{b.te_host_ms:.3f} ms" if b.te_host_ms else "n/a",
                     f"{b.tflm_host_ms:.3f} ms" if b.tflm_host_ms else "n/a",
                     f"{b.host_speedup:.2f}x faster" if b.host_speedup else ""))
        rows.append((f"Cortex-M4 latency (emulated, {mhz:g} MHz, 1 instr/cycle)",
                     f"{b.cortexm_ms:.2f} ms ({b.cortexm_instructions / 1e6:.2f} M instr)" if b.cortexm_ms
                     else (b.cortexm_status or "n/a"),
                     "not measured", "output == host" if b.cortexm_matches_host else ""))
    else:
        rows.append(("peak SRAM (tinyengine plan)", _kb(m.peak_sram_bytes if m else None), "not run (--no-bench)",
                     ""))
        rows.append(("flash (model constants)", _kb(m.flash_bytes if m else None), "not run (--no-bench)", ""))
    if m and m.patch_plan:
        vs_tflm = f"{b.tflm_arena_bytes / m.peak_sram_bytes:.2f}x less; " if b and b.tflm_arena_bytes else ""
        rows.append(("patch-based inference (MCUNetV2)", f"peak {_kb(m.peak_sram_bytes)} ({m.patch_plan})", "",
                     f"{vs_tflm}layer by layer: {_kb(m.layerwise_peak_sram_bytes)}"))
    fw = res.firmware
    if fw:
        app_ms = f", {fw.instructions / (mhz * 1e3):.2f} ms" if fw.instructions else ""
        rows.append(("whole app firmware (make arm)", f"flash {_kb(fw.flash_bytes)}, SRAM {_kb(fw.sram_bytes)}"
                     f"{app_ms}", "", "emulated output == host" if fw.matches_host else "MISMATCH"))
    chk = res.deploy.sample if res.deploy else None
    if chk:
        rows.append(("deployed C (./main sample) vs Python", chk.c_label, "",
                     "same input and logits" if chk.input_matches and chk.logits_match else "MISMATCH"))
    widths = [max(len(r[i]) for r in rows + [("metric", "tinyengine", "TFLM", "tinyengine vs TFLM")])
              for i in range(4)]

    def line(cells):
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"
    arch = res.arch or {}
    head = [f"## {res.title}: MCUNet pipeline results",
            "",
            f"- data: {res.data}; accuracy on the {res.eval_split} split ({n} samples)",
            f"- budget: SRAM <= {_kb(res.budget['sram_limit'])}, flash <= {_kb(res.budget['flash_limit'])}; "
            f"part {res.part}" + (f"; searched space {res.search_space}" if res.search_space else "; given arch"),
            f"- model: W {arch.get('width_mult')}, R {arch.get('resolution')}, depths "
            f"{[len(k) for k in arch.get('ks', [])]}, {(m.macs if m else 0) / 1e6:.2f} M MACs, "
            f"{m.layers if m else None} layers, int8 .tflite {m.tflite_bytes if m else 0:,} B",
            "",
            line(("metric", "tinyengine", "TFLM", "tinyengine vs TFLM")),
            "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    body = [line(r) for r in rows]
    tail = ["", "plots: " + ", ".join(f"{k} ({v})" for k, v in res.plots.items()) if res.plots else "plots: none",
            "time: " + ", ".join(f"{k} {v:.0f} s" for k, v in res.timings_s.items())]
    if res.errors:
        tail.append("problems: " + "; ".join(f"{k}: {v.splitlines()[0] if v else v}" for k, v in res.errors.items()))
    return "\n".join(head + body + tail)
