"""Pieces of the local stack: ending what a stopped `dg dev` left in its process group."""

from __future__ import annotations

import os
import subprocess
import time

import psutil

from precog_pipelines.cli.dev_stack import end_process_group


def test_end_process_group_kills_what_ignores_sigterm_after_the_grace_period(tmp_path):
    # A leader that exits at once and two members left behind, one of which ignores SIGTERM. That
    # one says when its trap is set: on a loaded machine, a SIGTERM sent before would end it at
    # once (seen in CI: everything gone in 5 ms, no grace period needed).
    ignoring = tmp_path / "ignoring-sigterm"
    leader = subprocess.Popen(["sh", "-c", f"sleep 60 & (trap '' TERM; touch '{ignoring}'; sleep 60) & exit 0"],
                              start_new_session=True)
    leader.wait(timeout=10)
    deadline = time.monotonic() + 10
    while not ignoring.exists():
        assert time.monotonic() < deadline, "the member ignoring SIGTERM never set its trap"
        time.sleep(0.01)
    members = [p for p in psutil.process_iter() if _pgid(p) == leader.pid]
    assert len(members) >= 2

    started = time.monotonic()
    assert end_process_group(leader.pid, grace_seconds=1) is True
    elapsed = time.monotonic() - started

    _, alive = psutil.wait_procs(members, timeout=5)
    assert alive == []
    assert 1 <= elapsed < 10
    assert end_process_group(leader.pid, grace_seconds=1) is False


def _pgid(process: psutil.Process) -> int | None:
    try:
        return os.getpgid(process.pid)
    except ProcessLookupError:
        return None


def test_a_group_left_with_only_zombies_has_nothing_to_stop():
    # Exited but not reaped yet: still in the group for killpg, yet nothing runs.
    zombie = subprocess.Popen(["true"], start_new_session=True)
    deadline = time.monotonic() + 10
    while psutil.Process(zombie.pid).status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline, "the child did not exit"
        time.sleep(0.05)
    try:
        assert end_process_group(zombie.pid, grace_seconds=1) is False
    finally:
        zombie.wait(timeout=10)
