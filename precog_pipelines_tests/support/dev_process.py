"""``precog dev`` as a person starts it, for the end-to-end tests.

The real CLI runs as a subprocess in its own process group, as a shell starts a foreground
command, so that a test can press Ctrl-C the way a terminal does: SIGINT to the whole group.
Its output is collected on a thread (and mirrored to a log file when asked) so that a test can
wait for a line such as the "Precog is running" banner.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TextIO

import psutil
import requests

from precog_pipelines.cli.dev_stack import port_is_free

BANNER = "Precog is running"
STARTUP_TIMEOUT_SECONDS = 180
SHUTDOWN_TIMEOUT_SECONDS = 90


def free_port() -> int:
    """A free local port, spread by process id so that concurrent test sessions rarely race."""
    port = 3400 + os.getpid() % 500
    while not port_is_free("127.0.0.1", port):
        port += 1
    return port


class _Output:
    """Collects a process's output on a thread so the test can wait for a line."""

    def __init__(self, process: subprocess.Popen, log: TextIO | None) -> None:
        self.lines: list[str] = []
        self._log = log
        self._thread = threading.Thread(target=self._read, args=(process,), daemon=True)
        self._thread.start()

    def _read(self, process: subprocess.Popen) -> None:
        for line in process.stdout:
            self.lines.append(line)
            if self._log is not None:
                self._log.write(line)
                self._log.flush()

    def wait_for(self, text: str, timeout: float) -> str | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if text in line:
                    return line
            time.sleep(0.2)
        return None

    def text(self) -> str:
        self._thread.join(timeout=30)
        return "".join(self.lines)


class DevProcess:
    """A running ``precog dev`` on ``port`` with ``home`` as PRECOG_HOME (embedded PostgreSQL)."""

    def __init__(self, home: Path, port: int, log_path: Path | None = None,
                 environ: dict[str, str] | None = None, arguments: tuple[str, ...] = ()) -> None:
        environment = os.environ.copy() | (environ or {})
        environment.pop("PRECOG_DATABASE_URL", None)
        environment.pop("DAGSTER_HOME", None)
        environment.pop("VIRTUAL_ENV", None)  # as the README runs it: .venv/bin/precog, no activated venv
        environment["PRECOG_HOME"] = str(home)
        self.port = port
        self.home = home
        self.url = f"http://127.0.0.1:{port}"
        self._log = log_path.open("w", encoding="utf-8") if log_path is not None else None
        self.process = subprocess.Popen(
            [sys.executable, "-m", "precog_pipelines.cli", "dev", "--port", str(port), *arguments],
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            process_group=0,
        )
        self.output = _Output(self.process, self._log)

    def wait_until_running(self, timeout: float = STARTUP_TIMEOUT_SECONDS) -> str:
        """The banner line, once the UI answers; fails the test with the output otherwise."""
        banner = self.output.wait_for(BANNER, timeout)
        assert banner is not None, f"precog dev did not start within {timeout} s:\n{self.text()}"
        return banner

    def dagster_log(self) -> str:
        """What Dagster's processes wrote so far (``precog dev`` keeps it out of the terminal)."""
        path = self.home / "logs" / "dagster.log"
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""

    def sandbox_url(self) -> str:
        """The sandbox exchange's base URL, from the line ``precog dev`` prints about it."""
        line = self.output.wait_for("Sandbox exchange at ", 5)
        assert line is not None, self.text()
        return re.search(r"Sandbox exchange at (\S+):", line).group(1)

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        response = requests.post(f"{self.url}/graphql", json={"query": query, "variables": variables or {}}, timeout=30)
        response.raise_for_status()
        return response.json()["data"]

    def descendants(self) -> list[psutil.Process]:
        try:
            return psutil.Process(self.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    def ctrl_c(self) -> None:
        """SIGINT to the whole process group, as a terminal sends it on Ctrl-C."""
        os.killpg(self.process.pid, signal.SIGINT)

    def stop(self) -> tuple[int, str]:
        """Ctrl-C, wait for the exit, and check nothing it started is left running."""
        descendants = self.descendants()
        if self.process.poll() is None:
            self.ctrl_c()
        try:
            self.process.wait(timeout=SHUTDOWN_TIMEOUT_SECONDS)
        finally:
            _, alive = psutil.wait_procs(descendants, timeout=15)
            if alive or self.process.poll() is None:
                self.kill(alive)
            self._close_log()
        assert alive == [], f"processes left running after Ctrl-C: {[_describe(p) for p in alive]}"
        return self.process.returncode, self.text()

    def kill(self, leftovers: list[psutil.Process] = ()) -> None:
        """Last resort after a failed stop, so that a failing test leaves nothing behind."""
        for process in [*leftovers, *self.descendants()]:
            try:
                process.kill()
            except psutil.NoSuchProcess:
                pass
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)

    def text(self) -> str:
        return "".join(self.output.lines) if self.process.poll() is None else self.output.text()

    def _close_log(self) -> None:
        if self._log is not None:
            self.output.text()  # drain the pipe into the log before closing it
            self._log.close()
            self._log = None


def _describe(process: psutil.Process) -> str:
    try:
        return f"{process.pid} {' '.join(process.cmdline())[:160]}"
    except psutil.Error:
        return str(process.pid)
