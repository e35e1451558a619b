"""Which code produced a result: the package version and, in a git checkout, the commit."""

from __future__ import annotations

import subprocess
from functools import cache
from importlib import metadata

from precog_pipelines.lib.settings import repository_root


def _git(*args: str) -> str | None:
    try:
        result = subprocess.run(["git", *args], cwd=repository_root(), capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() if result.returncode == 0 else None


@cache
def code_version() -> str:
    """``0.1.0+g1a2b3c4d`` (``.dirty`` when tracked files differ from the commit), or the
    package version alone outside a checkout."""
    try:
        version = metadata.version("precog-pipelines")
    except metadata.PackageNotFoundError:
        version = "unknown"
    commit = _git("rev-parse", "--short=12", "HEAD")
    if not commit:
        return version
    dirty = _git("status", "--porcelain", "--untracked-files=no")
    return f"{version}+g{commit}{'.dirty' if dirty else ''}"
