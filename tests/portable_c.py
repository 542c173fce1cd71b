"""A sample's C source built as it ships: warning-free for the host and a Cortex-M4."""
import subprocess
from pathlib import Path

from samples.c_sources import CORTEX_M4_FLAGS, HOST_FLAGS, compile_c


def cortex_m4_undefined(src: Path, tmp_path: Path) -> set[str]:
    """Compile src to objects for the host (-pedantic) and a Cortex-M4 (warnings are errors); the symbols the
    Cortex-M4 object leaves undefined (its external calls)."""
    compile_c([src], tmp_path / "host.o", flags=HOST_FLAGS + ("-pedantic",), object_only=True)
    obj = compile_c([src], tmp_path / "m4.o", compiler="arm-none-eabi-gcc", flags=CORTEX_M4_FLAGS,
                    object_only=True)
    return set(subprocess.run(["arm-none-eabi-nm", "-u", str(obj)], capture_output=True, text=True,
                              check=True).stdout.split())
