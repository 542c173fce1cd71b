"""Copy a sample's C sources into a deployment folder (next to the generated model code)."""
from __future__ import annotations

import shutil
from pathlib import Path


def copy_c_sources(sources, out_dir) -> list[Path]:
    """Copy each file of ``sources`` into ``out_dir`` (created if missing); returns the written paths."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"C output folder {out} exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for src in sources:
        src = Path(src)
        if not src.is_file():
            raise FileNotFoundError(f"C source {src} is missing from the samples package")
        dst = out / src.name
        shutil.copyfile(src, dst)
        written.append(dst)
    return written


HOST_FLAGS = ("-std=c99", "-Wall", "-Wextra", "-Werror", "-O2")
CORTEX_M4_FLAGS = ("-mcpu=cortex-m4", "-mthumb", "-Os", "-std=c99", "-Wall", "-Wextra", "-Werror")


def compile_c(sources, output, compiler: str = "gcc", flags=HOST_FLAGS, shared: bool = False,
              object_only: bool = False, libraries=()) -> Path:
    """Compile C files with ``compiler`` into ``output`` (an executable, a shared library with ``shared`` or an
    object with ``object_only``); raises RuntimeError with the compiler's messages when it fails. Used to check
    and host-test the samples' C code."""
    import subprocess

    if shutil.which(compiler) is None:
        raise RuntimeError(f"C compiler {compiler} is not on PATH")
    cmd = [compiler, *flags]
    if shared:
        cmd += ["-shared", "-fPIC"]
    if object_only:
        cmd += ["-c"]
    cmd += [str(s) for s in sources] + ["-o", str(output)] + [f"-l{lib}" for lib in libraries]
    run = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if run.returncode != 0 or run.stderr.strip():
        raise RuntimeError(f"{' '.join(cmd)} failed (exit {run.returncode}):\n{run.stderr}")
    return Path(output)
