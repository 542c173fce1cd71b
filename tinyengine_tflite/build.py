"""Build generated C into a host shared library, cached by content hash and safe across processes; the kernel
library's objects are cached too (kernel_objects), for host and Cortex-M builds alike."""
from __future__ import annotations

import fcntl
import functools
import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import NamedTuple

from .codegen import KERNEL_DIR, generate
from .layers import LoweredModel
from .schedule import Schedule

HOST_CFLAGS = ["-std=c99", "-O2", "-fPIC", "-shared"]
OBJECTS_DIR = "objects"   # under cache_dir(): compiled kernel sources, by content

# Host-only glue, built into the Interpreter's library and never into a deployed folder: the staged inputs are
# copied into the arena and the model invoked in one foreign call (a call costs as much as a tiny model).
HOST_GLUE = """/* tinyengine_tflite.Interpreter host glue. */
#include <stdint.h>
#include <string.h>

#include "model.h"

int te_host_invoke(int32_t n, void *const *dst, const void *const *src, const int32_t *bytes) {
    for (int32_t i = 0; i < n; ++i) {
        memcpy(dst[i], src[i], (size_t)bytes[i]);
    }
    return model_invoke();
}
"""


def cache_dir() -> Path:
    root = os.environ.get("TINYENGINE_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "tinyengine_tflite")
    return Path(root)


def compiler() -> str:
    return os.environ.get("CC", "cc")


def _key(model_bytes: bytes, prefix: str, reference: str = "litert", patches: str = "") -> str:
    h = hashlib.sha256()
    h.update(model_bytes)
    h.update(prefix.encode())
    h.update(f"reference={reference}".encode())
    if patches:
        h.update(f"patches={patches}".encode())
    h.update(" ".join([compiler()] + HOST_CFLAGS).encode())
    for p in sorted(Path(__file__).parent.glob("*.py")) + sorted(KERNEL_DIR.glob("te_*.[ch]")) + \
            sorted(Path(__file__).parent.glob("ops/*.py")):
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:32]


@functools.lru_cache(maxsize=None)
def _compiler_identity(program: str) -> bytes:
    """What names a compiler in a cache key: its --version and, for a wrapper script, the script itself."""
    r = subprocess.run([program, "--version"], capture_output=True)
    path = shutil.which(program)
    script = Path(path).read_bytes() if path and os.path.getsize(path) < 4096 else b""
    return r.stdout + script


class KernelBuildError(RuntimeError):
    def __init__(self, command: list[str], stderr: str):
        super().__init__(f"C compilation failed ({' '.join(command[:6])} ...):\n{stderr[-4000:]}")
        self.command, self.stderr = command, stderr


class KernelObjects(NamedTuple):
    objects: dict[str, Path]   # kernel source name (te_conv.c) -> its cached object
    messages: str              # what the compiler printed (warnings), cache hits included


def kernel_objects(src_dir: Path, command: list[str], names=None) -> KernelObjects:
    """Objects of the kernel library's sources in src_dir (the te_*.c that codegen copies from KERNEL_DIR), each
    compiled with `command` (compiler and flags, without -c / -o) and kept in the cache by the command, the
    source and every te_*.h beside it: a kernel compiles once per toolchain and flags, not once per model (the
    DSP-emulating host build of te_depthwise.c alone takes ~10 s). `names`: only these sources (default: all).
    Raises KernelBuildError."""
    src_dir = Path(src_dir)
    headers = hashlib.sha256()
    for h in sorted(src_dir.glob("te_*.h")):
        headers.update(h.name.encode() + b"\0" + h.read_bytes())
    root = cache_dir() / OBJECTS_DIR
    root.mkdir(parents=True, exist_ok=True)
    objects, messages = {}, []
    kernels = {p.name for p in KERNEL_DIR.glob("te_*.c")} if names is None else set(names)
    for source in sorted(p for p in src_dir.glob("te_*.c") if p.name in kernels):
        key = hashlib.sha256()
        key.update(_compiler_identity(command[0]))   # not its path: equal wrappers in temp folders share
        key.update("\0".join(command[1:]).encode())
        key.update(headers.digest() + source.name.encode() + b"\0" + source.read_bytes())
        stem = f"{source.stem}-{key.hexdigest()[:24]}"
        obj, log = root / f"{stem}.o", root / f"{stem}.log"
        if not (obj.exists() and log.exists()):
            tmp = root / f"{stem}.tmp{os.getpid()}.o"
            cmd = [*command, "-c", str(source), "-o", str(tmp)]
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode:
                tmp.unlink(missing_ok=True)
                raise KernelBuildError(cmd, r.stderr)
            tmp_log = root / f"{stem}.tmp{os.getpid()}.log"
            tmp_log.write_text(r.stderr)
            os.replace(tmp, obj)          # the object first: a log names a finished object
            os.replace(tmp_log, log)
        objects[source.name] = obj
        messages.append(log.read_text())
    return KernelObjects(objects, "".join(messages))


def compile_c(src_dir: Path, out: Path) -> None:
    """The shared library `out` from src_dir: the kernels from the object cache, the rest compiled here."""
    objects = kernel_objects(src_dir, [compiler(), *(f for f in HOST_CFLAGS if f != "-shared")]).objects
    sources = sorted(str(p) for p in Path(src_dir).glob("*.c") if p.name not in objects)
    cmd = [compiler(), *HOST_CFLAGS, "-o", str(out), *sources, *map(str, objects.values())]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        raise KernelBuildError(cmd, r.stderr)


def build_shared_library(model_bytes: bytes, lowered: LoweredModel, sched: Schedule, prefix: str = "model",
                         reference: str = "litert") -> Path:
    """Path of the compiled library for this model; built once per content hash and reference (the one
    `lowered` was compiled for). Concurrent builders of the same model wait on a lock and the first one's
    result is reused; a finished library appears atomically."""
    root = cache_dir()
    key = _key(model_bytes, prefix, reference, str(sched.patches.plan) if sched.patches is not None else "")
    final = root / key / f"lib{prefix}.so"
    if final.exists():
        return final
    (root / key).mkdir(parents=True, exist_ok=True)
    with open(root / key / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if final.exists():
            return final
        tmp = Path(tempfile.mkdtemp(prefix="build-", dir=root / key))
        try:
            generate(lowered, sched, tmp / "src", prefix)
            (tmp / "src" / "te_host.c").write_text(HOST_GLUE.replace("model", prefix))
            compile_c(tmp / "src", tmp / final.name)
            os.replace(tmp / "src", root / key / "src") if not (root / key / "src").exists() else None
            os.replace(tmp / final.name, final)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return final
