"""Crash tests: run something in a forked process that SIGKILLs itself at a named kill point."""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Callable

from precog_pipelines.lib.trading.kill_points import ENVIRONMENT_VARIABLE


def killed_at(point: str, run: Callable[[], object]) -> None:
    """Run ``run()`` in a forked process told to SIGKILL itself at ``point``; it must die there."""

    def child() -> None:
        os.environ[ENVIRONMENT_VARIABLE] = point
        run()
        os._exit(0)  # reached only if the point was never passed

    process = multiprocessing.get_context("fork").Process(target=child)
    process.start()
    process.join(180)
    assert process.exitcode == -signal.SIGKILL, f"the run was not killed at {point} (exit code {process.exitcode})"
