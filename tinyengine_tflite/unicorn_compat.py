"""The one place that touches unicorn's internals: its C handle, to register a block hook written in C.

unicorn's Python binding only takes Python callbacks; a native callback (no Python call per executed block) goes
through the library's own `uc_hook_add` with the engine's handle, which the binding keeps in a private attribute.
That attribute and the binding's module layout are checked against the versions this was written for."""
from __future__ import annotations

import ctypes

SUPPORTED = ((2, 1),)           # unicorn major.minor versions whose binding layout this module knows


class UnicornVersionError(RuntimeError):
    """The installed unicorn is not one whose internals this module knows."""


def _binding():
    import unicorn
    version = tuple(int(x) for x in unicorn.__version__.split(".")[:2])
    if version not in SUPPORTED:
        raise UnicornVersionError(f"unicorn {unicorn.__version__} is installed; the Cortex-M emulator's native "
                                  f"block hook needs unicorn {' or '.join('.'.join(map(str, v)) for v in SUPPORTED)}"
                                  ".x (pip install 'unicorn>=2.1,<2.2')")
    from unicorn.unicorn_py3 import unicorn as binding
    return binding


def add_native_block_hook(uc, function: ctypes.c_void_p, user_data: ctypes.c_void_p) -> None:
    """Register the C function `void f(uc_engine *, uint64_t address, uint32_t size, void *user_data)` as a
    UC_HOOK_BLOCK over the whole address space."""
    from unicorn import UC_HOOK_BLOCK
    binding = _binding()
    handle = getattr(uc, "_uch", None)
    if handle is None:
        raise UnicornVersionError("this unicorn binding keeps no engine handle in Uc._uch")
    hook = binding.uc_hook_h()
    status = binding.uclib.uc_hook_add(handle, ctypes.byref(hook), UC_HOOK_BLOCK, function, user_data,
                                       ctypes.c_uint64(1), ctypes.c_uint64(0))
    if status != 0:
        raise UnicornVersionError(f"unicorn refused the native block hook (error {status})")
