"""The code passes the project's linter (configuration in pyproject.toml)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from precog_pipelines.lib.settings import repository_root


def test_ruff_finds_nothing():
    ruff = Path(sys.executable).parent / "ruff"
    result = subprocess.run([str(ruff), "check", "precog_pipelines", "precog_pipelines_tests", "bench"],
                            cwd=repository_root(), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
