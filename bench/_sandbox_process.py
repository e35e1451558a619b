"""A `precog sandbox` process for a benchmark, as it would run beside `precog dev`."""

from __future__ import annotations

import os
import subprocess
import sys
import time

STARTUP_TIMEOUT_SECONDS = 120


def start_sandbox(options: list[str], home: str) -> tuple[subprocess.Popen, str]:
    """Start a frozen-clock sandbox with ``options`` (e.g. ``["--extra-markets", "50000"]``) on a
    free port; return the process and its Kalshi base URL."""
    command = [sys.executable, "-m", "precog_pipelines.cli", "sandbox", "--port", "0", "--speed", "0",
               "--start", "2025-11-09T17:00Z", *options]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=os.environ | {"PRECOG_HOME": home})
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    for line in process.stdout:
        if line.strip().startswith("Kalshi:"):
            return process, line.split()[-1]
        if time.monotonic() > deadline:
            break
    process.kill()
    raise SystemExit(f"the sandbox did not start: {process.stderr.read()}")
