"""Build generated C into a host shared library, cached by content hash and safe across processes."""
from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from .codegen import KERNEL_DIR, generate
from .layers import LoweredModel
from .schedule import Schedule

HOST_CFLAGS = ["-std=c99", "-O2", "-fPIC", "-shared"]

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


def compile_c(src_dir: Path, out: Path, extra_flags=()) -> None:
    sources = sorted(str(p) for p in Path(src_dir).glob("*.c"))
    cmd = [compiler(), *HOST_CFLAGS, *extra_flags, "-o", str(out), *sources]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError(f"C compilation failed ({' '.join(cmd[:6])} ...):\n{r.stderr[-4000:]}")


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
