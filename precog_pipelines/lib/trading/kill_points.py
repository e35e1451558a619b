"""Crash points for the order crash tests (issue 13, item 0): inert unless a test names one.

The crash tests must kill a run at an exact point of an order's life: after the order is
recorded and before it is sent, after it is sent and before its outcome is stored, and after
storing. :func:`kill_point` is called at those points; when the environment variable
``PRECOG_TEST_KILL_AT`` names the point (and only then), the process SIGKILLs itself, exactly as
the kernel's OOM killer or a lost machine would end it: no ``finally``, no rollback, no exit
handler runs. Unset (always, in production) it does nothing but one dictionary lookup.

This is a test hook, not a setting: it is not in lib/settings.py on purpose (nobody configures
it), and a value that names no point does nothing.

Points: ``entry_before_send``, ``entry_after_send``, ``entry_after_store``, ``exit_before_send``,
``exit_after_send``, ``exit_after_store``; and for the portfolio assets (lib/portfolio/store.py),
``portfolio_<table>_staged`` (the batch COPYed, nothing written) and ``portfolio_<table>_written``
(written, not committed) for ``exchange_fills`` and ``exchange_settlements``, and
``portfolio_<table>_written`` for ``exchange_orders`` and ``exchange_positions``.
"""

from __future__ import annotations

import os
import signal

ENVIRONMENT_VARIABLE = "PRECOG_TEST_KILL_AT"
POINTS = ("entry_before_send", "entry_after_send", "entry_after_store",
          "exit_before_send", "exit_after_send", "exit_after_store")


def kill_point(name: str) -> None:
    """SIGKILL this process if ``PRECOG_TEST_KILL_AT`` names ``name``; otherwise nothing."""
    if os.environ.get(ENVIRONMENT_VARIABLE) == name:
        os.kill(os.getpid(), signal.SIGKILL)
