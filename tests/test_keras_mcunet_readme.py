"""The usage example of keras_mcunet/README_API.md runs as written."""
import os
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "keras_mcunet" / "README_API.md"


def test_readme_api_example_runs(tmp_path):
    code = re.search(r"```python\n(.*?)```", README.read_text(), re.S).group(1)
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                            timeout=600, env={**os.environ, "PYTHONPATH": os.pathsep.join(
                                [str(README.parents[1]), os.environ.get("PYTHONPATH", "")])})
    assert result.returncode == 0, result.stderr[-3000:]
    accuracy = float(re.search(r"int8 accuracy: ([0-9.]+)", result.stdout).group(1))
    assert accuracy > 0.5
    assert "stem_conv conv (16, 16, 1) -> (8, 8, 16)" in result.stdout
