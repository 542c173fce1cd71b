"""Trained supernets shared between searches (SupernetConfig.shared_dir).

MCUNet trains one supernet per search space. Searches of the same data at several memory budgets often get the
same (W, R) from stage 1; with a shared folder they train its supernet once. A supernet lives in
shared_dir/<key>, where the key hashes everything its weights depend on: the space, the supernet settings, the
batch size, the seed and the bytes of the training data. While a process trains one it holds <key>.lock (its pid);
another process that needs the same supernet waits for it instead of training it twice, and a lock whose process
is gone is taken over (the checkpoints let the new owner continue where it stopped).
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time

import numpy as np


def data_fingerprint(data) -> str | None:
    """sha256 of (x, y) numpy arrays (shapes, dtypes and bytes); None for data it cannot read twice (a
    tf.data.Dataset), which then never shares a supernet."""
    if not (isinstance(data, tuple) and len(data) == 2 and all(isinstance(a, np.ndarray) for a in data)):
        return None
    digest = hashlib.sha256()
    for array in data:
        array = np.ascontiguousarray(array)
        digest.update(f"{array.shape}{array.dtype}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def supernet_key(space, settings, batch_size: int, seed: int, train_data) -> str | None:
    """The name of the supernet trained on train_data in `space` (one width and resolution) with `settings`
    (a SupernetConfig without its shared_dir); None when the data cannot be fingerprinted."""
    fingerprint = data_fingerprint(train_data)
    if fingerprint is None:
        return None
    recipe = {"space": repr(space), "epochs": settings.epochs, "steps_per_epoch": settings.steps_per_epoch,
              "learning_rate": settings.learning_rate, "num_random": settings.num_random,
              "distill": settings.distill, "batch_size": batch_size, "seed": seed, "data": fingerprint}
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:20]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:      # someone else's process: alive
        return True
    return True


def _owner(lock: str) -> int | None:
    try:
        with open(lock) as f:
            return int(f.read().strip() or 0)
    except (FileNotFoundError, ValueError):
        return None


def _age_seconds(path: str) -> float:
    try:
        return time.time() - os.path.getmtime(path)
    except FileNotFoundError:
        return 0.0


@contextlib.contextmanager
def training_lock(directory: str, say=print, poll_seconds: float = 5.0):
    """Holds `directory`.lock while the body trains (or restores) the supernet in `directory`; waits while a
    live process holds it and takes over one whose process has ended."""
    lock = directory.rstrip(os.sep) + ".lock"
    os.makedirs(os.path.dirname(lock) or ".", exist_ok=True)
    waiting = False
    while True:
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            pid = _owner(lock)
            if pid is None and _age_seconds(lock) < 10:    # just created, its pid not written yet
                time.sleep(0.1)
            elif pid is not None and pid != os.getpid() and _alive(pid):
                if not waiting:
                    say(f"waiting for process {pid}, which trains the same supernet in {directory}", flush=True)
                    waiting = True
                time.sleep(poll_seconds)
            else:   # its process has ended: take the lock over
                with contextlib.suppress(FileNotFoundError):
                    os.remove(lock)
            continue
        with os.fdopen(fd, "w") as f:
            f.write(str(os.getpid()))
        break
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(lock)
