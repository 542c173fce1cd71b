"""The deployable folder of a sample application: generated model C, the app's C, a Makefile and a sample input.

``write_deploy_folder(model, out_dir, app, sample_file)`` converts an int8 .tflite with
``tinyengine_tflite.convert`` and writes next to it:

- the app's input C (the BMP reader of samples.vww, or the wav reader and MFCC front end of samples.kws),
- ``classify.c/.h`` (softmax and argmax over the model's int8 logits), ``app_config.c/.h`` (labels, input shape),
- ``main.c`` and ``app_host.c/.h``: a host program that classifies an input file (``./main person.bmp`` /
  ``./main yes.wav``),
- ``firmware.c``, ``app_firmware.c/.h``, ``startup_cortexm.c``, ``cortexm.ld`` and ``sample_input.c/.h``: a bare-metal Cortex-M
  firmware that classifies the sample input compiled into flash, for the part's real memory map,
- ``Makefile``: ``make host`` (gcc), ``make run``, ``make arm`` (arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -Os,
  an .elf and its size), ``make clean``,
- the sample input file itself, ``model.tflite``, ``memory_report.txt`` and a README.md.

``DeployFolder.build_host`` / ``run_host`` / ``build_arm`` drive the Makefile from Python; ``samples.firmware``
runs the .elf on an emulated Cortex-M4.
"""
from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from tinyengine_tflite.firmware_build import STARTUP_PATH  # one startup file for all firmware

DEPLOY_C_DIR = Path(__file__).resolve().parent / "deploy_c"
COMMON_C = ("classify.c", "classify.h", "app_host.c", "app_host.h", "app_firmware.c", "app_firmware.h")
DEFAULT_PART = "stm32f412"        # the apps' Cortex-M4 (256 KB SRAM, 1 MB flash); the benchmark defaults to another
DEFAULT_STACK_BYTES = 4096
SAMPLE_INPUT_SYMBOL = "app_sample_input"


@dataclass(frozen=True)
class AppC:
    """What a sample application adds to the generated model code.

    task: short name ("vww", "kws"); title: one line for the README and Makefile; labels: class names in the
    model's output order; template_dir: holds main.c, firmware.c and any further app C copied as they are;
    write_sources(out_dir) writes the app's input C (reader, front end) and returns the paths; sample_c(data)
    returns (sample_input.h, sample_input.c) texts for the sample file's bytes; arm_defines(data): extra -D flags
    of the Cortex-M build (a leading space each); check_input_shape(shape): raises ValueError when the model's
    input (H, W, C) does not suit the app."""
    task: str
    title: str
    labels: tuple[str, ...]
    template_dir: Path
    write_sources: Callable[[Path], list]
    sample_c: Callable[[bytes], tuple[str, str]]
    sample_suffix: str
    arm_defines: Callable[[bytes], str] = lambda data: ""
    check_input_shape: Callable[[tuple], None] = lambda shape: None


@dataclass
class HostRun:
    """What ./main printed for one input file."""
    logits: np.ndarray            # int8 output of the model
    scores: dict[str, float]      # softmax per label
    label: str
    score: float
    stdout: str
    input_tensor: np.ndarray | None = None   # the int8 input the C computed, when dumped

    @property
    def class_index(self) -> int:
        return list(self.scores).index(self.label)


@dataclass
class ArmBuild:
    """The Cortex-M firmware and its size (berkeley size of the .elf)."""
    elf: Path
    text_bytes: int
    data_bytes: int
    bss_bytes: int                # includes the stack reserved by cortexm.ld
    stack_bytes: int
    size_output: str

    @property
    def flash_bytes(self) -> int:
        return self.text_bytes + self.data_bytes

    @property
    def sram_bytes(self) -> int:
        return self.data_bytes + self.bss_bytes


@dataclass
class DeployFolder:
    path: Path
    app: AppC
    report: object                # tinyengine_tflite.ConversionReport
    part: object                  # tinyengine_tflite.parts.Part
    sample_file: str
    input_shape: tuple[int, int, int]
    input_scale: float
    input_zero_point: int
    stack_bytes: int
    files: list[str] = field(default_factory=list)

    def make(self, target: str, timeout: float = 600.0) -> str:
        """Run ``make target`` in the folder; returns its output, raises RuntimeError with it on failure."""
        if shutil.which("make") is None:
            raise RuntimeError("make is not on PATH: it builds the deploy folder (apt-get install make)")
        run = subprocess.run(["make", "-C", str(self.path), "--no-print-directory", target], capture_output=True,
                             text=True, timeout=timeout, check=False)
        if run.returncode != 0:
            raise RuntimeError(f"make {target} in {self.path} failed (exit {run.returncode}):\n"
                               f"{run.stdout[-3000:]}\n{run.stderr[-3000:]}")
        return run.stdout + run.stderr

    def build_host(self) -> Path:
        """``make host``: the host program ./main (gcc, -Wall -Wextra -Werror)."""
        self.make("host")
        return self.path / "main"

    def run_host(self, input_file, dump_input: bool = False) -> HostRun:
        """Classify ``input_file`` with ./main (built first when missing) and parse what it printed."""
        exe = self.path / "main"
        if not exe.exists():
            self.build_host()
        input_file = Path(input_file).resolve()
        cmd = [str(exe), str(input_file)]
        dump = self.path / "build" / "dumped_input.bin"
        if dump_input:
            dump.parent.mkdir(exist_ok=True)
            cmd += ["--dump-input" if self.app.task == "vww" else "--dump-features", str(dump)]
        run = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
        if run.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed (exit {run.returncode}): {run.stderr.strip()}")
        result = parse_host_output(run.stdout, self.app.labels)
        if dump_input:
            result.input_tensor = np.fromfile(dump, dtype=np.int8).reshape(self.input_shape)
        return result

    def build_arm(self) -> ArmBuild:
        """``make arm``: the Cortex-M4 firmware .elf; raises RuntimeError when the toolchain is missing or the
        build (or the fit on the part) fails."""
        if shutil.which("arm-none-eabi-gcc") is None:
            raise RuntimeError("arm-none-eabi-gcc is not on PATH (apt-get install gcc-arm-none-eabi "
                               "libnewlib-arm-none-eabi)")
        out = self.make("arm")
        m = re.search(r"^\s*(\d+)\s+(\d+)\s+(\d+)\s+\d+\s+[0-9a-f]+\s+\S*firmware\.elf\s*$", out, re.M)
        if m is None:
            raise RuntimeError(f"make arm in {self.path} printed no size line:\n{out[-2000:]}")
        text, data, bss = (int(v) for v in m.groups())
        return ArmBuild(self.path / "build" / "arm" / "firmware.elf", text, data, bss, self.stack_bytes, out)


def parse_host_output(stdout: str, labels) -> HostRun:
    """Parse ./main's output: "output int8: ...", "score LABEL P" lines and "class: LABEL (score P)"."""
    m = re.search(r"^output int8:((?: -?\d+)+)\s*$", stdout, re.M)
    c = re.search(r"^class: (\S+) \(score ([0-9.eE+-]+)\)\s*$", stdout, re.M)
    scores = {name: float(p) for name, p in re.findall(r"^score (\S+) ([0-9.eE+-]+)\s*$", stdout, re.M)}
    if m is None or c is None or list(scores) != list(labels):
        raise RuntimeError(f"unexpected output of the deployed program:\n{stdout}")
    logits = np.array([int(v) for v in m.group(1).split()], dtype=np.int8)
    return HostRun(logits, scores, c.group(1), float(c.group(2)), stdout)


def c_string(text: str) -> str:
    """A C string literal of ``text`` (printable ASCII; anything else escaped)."""
    out = []
    for ch in text:
        if ch in "\\\"":
            out.append("\\" + ch)
        elif 32 <= ord(ch) < 127:
            out.append(ch)
        else:
            out.extend(f"\\{b:03o}" for b in ch.encode())
    return '"' + "".join(out) + '"'


def c_bytes(data: bytes, per_line: int = 20) -> str:
    """Body of a C uint8_t array initializer."""
    items = [str(b) for b in data]
    return ",\n".join("    " + ", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line))


def _app_config(app: AppC, shape, part, prefix_comment: str) -> tuple[str, str]:
    h, w, c = shape
    header = f"""/* {prefix_comment} Do not edit.
 * The {app.task} sample's classes and the model's input shape. */
#ifndef APP_CONFIG_H
#define APP_CONFIG_H

#define APP_TASK {c_string(app.task)}
#define APP_PART {c_string(part.name)}
#define APP_NUM_CLASSES {len(app.labels)}
#define APP_INPUT_HEIGHT {h}
#define APP_INPUT_WIDTH {w}
#define APP_INPUT_CHANNELS {c}

/* Class names in the model's output order. */
extern const char *const app_labels[APP_NUM_CLASSES];

#endif /* APP_CONFIG_H */
"""
    labels = ",\n".join(f"    {c_string(name)}" for name in app.labels)
    source = f"""/* {prefix_comment} Do not edit. */
#include "app_config.h"

const char *const app_labels[APP_NUM_CLASSES] = {{
{labels}
}};
"""
    return header, source


def _fill(template: str, values: dict) -> str:
    for key, value in values.items():
        template = template.replace(f"@{key}@", str(value))
    left = re.findall(r"@[A-Z_]+@", template)
    if left:
        raise RuntimeError(f"template placeholders left unfilled: {sorted(set(left))}")
    return template


def _readme(folder: DeployFolder, report) -> str:
    app, part = folder.app, folder.part
    h, w, c = folder.input_shape
    return f"""# {app.title}: deployable C

Generated by `samples.deploy` from `model.tflite` (int8) with `tinyengine_tflite.convert`.

- Model input {h}x{w}x{c} int8 (scale {folder.input_scale:.9g}, zero point {folder.input_zero_point}),
  output {len(app.labels)} int8 logits: {", ".join(app.labels)}.
- Peak SRAM of the model {report.peak_sram_bytes:,} B (one statically planned arena), model constants in flash
  {report.flash_bytes:,} B, {report.macs:,} MACs per inference (`memory_report.txt` has the per-layer table).

## Build and run

```
make host          # ./main (gcc, C99, -Wall -Wextra -Werror)
./main {folder.sample_file}     # classify the sample input; any other {app.sample_suffix} file works too
make arm           # build/arm/firmware.elf for a Cortex-M4 ({part.name}: {part.sram_bytes:,} B SRAM, {part.flash_bytes:,} B flash) and its size
```

`./main` prints the model's int8 logits, the softmax score of each class and the predicted class;
`firmware.c` does the same on the sample compiled into flash (`sample_input.c`) and leaves the result in
`app_result_class` / `app_result_score` (stop at `app_done()` with a debugger to read them). The firmware's
linker script (`cortexm.ld`) has the part's real memory sizes and reserves {folder.stack_bytes:,} B of stack, so
`make arm` fails when the application does not fit.

All C is C99 without dynamic allocation.
"""


def write_deploy_folder(model, out_dir, app: AppC, sample_file, part=DEFAULT_PART,
                        stack_bytes: int = DEFAULT_STACK_BYTES, patches: str | None = None) -> DeployFolder:
    """Write the deployable folder of ``app`` for ``model`` (an int8 .tflite path or bytes) into ``out_dir``
    (created; generated files are overwritten). ``sample_file``: an input file for the app (a BMP for VWW, a
    16 kHz wav for KWS), copied in and compiled into the firmware. ``part``: a tinyengine_tflite.parts part
    name or Part, whose memory map the firmware's linker script gets. ``patches``: as tinyengine_tflite.convert
    ("auto": patch-based inference where it lowers the peak)."""
    import tinyengine_tflite
    from tinyengine_tflite.compiler import compile_model
    from tinyengine_tflite.parts import get_part
    from tinyengine_tflite.reader import load_model_bytes

    part = get_part(part)
    sample_file = Path(sample_file)
    if not sample_file.is_file():
        raise FileNotFoundError(f"sample input file {sample_file} does not exist")
    if sample_file.suffix.lower() != app.sample_suffix:
        raise ValueError(f"the {app.task} sample input must be a {app.sample_suffix} file, got {sample_file}")
    if not (isinstance(stack_bytes, int) and stack_bytes >= 1024 and stack_bytes % 8 == 0):
        raise ValueError(f"stack_bytes must be a multiple of 8 of at least 1024, got {stack_bytes!r}")
    buf, _ = load_model_bytes(model)
    lowered, _ = compile_model(buf)
    if len(lowered.inputs) != 1 or len(lowered.outputs) != 1:
        raise ValueError(f"the {app.task} app needs a model with one input and one output, this one has "
                         f"{len(lowered.inputs)} and {len(lowered.outputs)}")
    spec_in, spec_out = lowered.inputs[0], lowered.outputs[0]
    if spec_in.dtype != "int8" or spec_out.dtype != "int8":
        raise ValueError(f"the {app.task} app needs int8 input and output (keras_mcunet.export_tflite), got "
                         f"{spec_in.dtype} and {spec_out.dtype}")
    if len(spec_in.shape) != 4 or spec_in.shape[0] != 1:
        raise ValueError(f"the model input must be 1xHxWxC, got {'x'.join(map(str, spec_in.shape))}")
    shape = tuple(int(d) for d in spec_in.shape[1:])
    app.check_input_shape(shape)
    n_out = int(np.prod(spec_out.shape))
    if n_out != len(app.labels):
        raise ValueError(f"the model has {n_out} outputs but the {app.task} app has {len(app.labels)} classes "
                         f"({', '.join(app.labels)})")

    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"deploy folder {out} exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(out / "build", ignore_errors=True)
    (out / "main").unlink(missing_ok=True)
    report = tinyengine_tflite.convert(buf, out, prefix="model", patches=patches)
    (out / "model.tflite").write_bytes(buf)
    (out / "memory_report.txt").write_text(str(report) + "\n")
    written = [Path(p).name for p in app.write_sources(out)]
    for name in COMMON_C:
        shutil.copyfile(DEPLOY_C_DIR / "common" / name, out / name)
    shutil.copyfile(STARTUP_PATH, out / "startup_cortexm.c")
    for src in sorted(app.template_dir.glob("*.[ch]")):
        shutil.copyfile(src, out / src.name)
        written.append(src.name)
    comment = f"Generated by samples.deploy for the {app.task} sample."
    config_h, config_c = _app_config(app, shape, part, comment)
    (out / "app_config.h").write_text(config_h)
    (out / "app_config.c").write_text(config_c)
    data = sample_file.read_bytes()
    sample_name = "sample" + app.sample_suffix
    if sample_file.resolve() != (out / sample_name).resolve():
        shutil.copyfile(sample_file, out / sample_name)
    sample_h, sample_c = app.sample_c(data)
    (out / "sample_input.h").write_text(f"/* {comment} Do not edit. */\n{sample_h}")
    (out / "sample_input.c").write_text(f"/* {comment} Do not edit: the sample input {sample_name}. */\n{sample_c}")

    model_srcs = [f for f in report.files if f.endswith(".c")]   # model.c, model_weights.c, the kernels
    app_srcs = sorted({f for f in written if f.endswith(".c")} - {"main.c", "firmware.c"}) + \
        ["classify.c", "app_config.c"]
    values = {"TITLE": app.title, "TASK": app.task, "PART": part.name, "SRAM_BYTES": part.sram_bytes,
              "FLASH_BYTES": part.flash_bytes, "SRAM_ORIGIN": f"{part.sram_origin:#010x}",
              "FLASH_ORIGIN": f"{part.flash_origin:#010x}", "STACK_BYTES": stack_bytes,
              "SAMPLE_FILE": sample_name, "MODEL_SRCS": " ".join(model_srcs), "APP_SRCS": " ".join(app_srcs),
              "ARM_DEFINES": app.arm_defines(data)}
    (out / "Makefile").write_text(_fill((DEPLOY_C_DIR / "common" / "Makefile.in").read_text(), values))
    (out / "cortexm.ld").write_text(_fill((DEPLOY_C_DIR / "common" / "cortexm.ld.in").read_text(), values))
    folder = DeployFolder(out, app, report, part, sample_name, shape, float(np.float32(spec_in.scale)),
                          int(spec_in.zero_point), stack_bytes)
    (out / "README.md").write_text(_readme(folder, report))
    folder.files = sorted(p.name for p in out.iterdir() if p.is_file())
    return folder
