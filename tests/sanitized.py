"""Build and run a generated C folder as a program: raw input bytes in, raw output bytes out, with or without the
sanitizer-visible arena (-DMODEL_SANITIZE_ARENA) under -fsanitize=address,undefined."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

STRICT = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-g", "-O1"]
SANITIZE = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-DMODEL_SANITIZE_ARENA"]

# Raw bytes in (each input's arena bytes, from argv[1]), raw bytes out (each output's, to argv[2]).
MAIN_C = r"""
#include <stdio.h>
#include "model.h"

int main(int argc, char **argv) {
    FILE *in, *out;
    int i;
    if (argc != 3 || (in = fopen(argv[1], "rb")) == NULL || (out = fopen(argv[2], "wb")) == NULL) return 2;
    for (i = 0; i < MODEL_NUM_INPUTS; i++) {
        if (fread(model_input(i), 1, (size_t)model_input_bytes[i], in) != (size_t)model_input_bytes[i]) return 3;
    }
    if (model_invoke() != MODEL_OK) return 4;
    for (i = 0; i < MODEL_NUM_OUTPUTS; i++) {
        fwrite(model_output(i), 1, (size_t)model_output_bytes[i], out);
    }
    fclose(in);
    fclose(out);
    return 0;
}
"""


def build(src: Path, work: Path, name: str, flags) -> Path:
    """The program of the C folder `src` (built in `work`); an AssertionError with the compiler's output if not."""
    (work / "main.c").write_text(MAIN_C)
    exe = work / name
    r = subprocess.run(["gcc", *STRICT, *flags, f"-I{src}", str(work / "main.c"),
                        *[str(p) for p in sorted(src.glob("*.c"))], "-o", str(exe)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    return exe


def run(exe: Path, work: Path, data: bytes, timeout: float = 600) -> tuple[subprocess.CompletedProcess, bytes]:
    """(the process, its output bytes) on input bytes `data`."""
    (work / "in.bin").write_bytes(data)
    r = subprocess.run([str(exe), str(work / "in.bin"), str(work / "out.bin")], capture_output=True, text=True,
                       timeout=timeout)
    return r, (work / "out.bin").read_bytes() if r.returncode == 0 else b""


def sanitizer_clean(r: subprocess.CompletedProcess) -> bool:
    return r.returncode == 0 and "runtime error" not in r.stderr and "ERROR" not in r.stderr


def input_bytes(src: Path) -> int:
    """All the model's input bytes together (model.h's MODEL_INPUTk_SIZE)."""
    header = (src / "model.h").read_text()
    return sum(int(n) for n in re.findall(r"#define MODEL_INPUT\d+_SIZE (\d+)", header))
