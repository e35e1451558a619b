"""``precog dev`` as a new user runs it: embedded warehouse, Dagster UI, clean Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest
import requests

from precog_pipelines.lib.dev_stack import port_is_free

pytestmark = pytest.mark.slow


def _free_port() -> int:
    port = 3400 + os.getpid() % 500
    while not port_is_free("127.0.0.1", port):
        port += 1
    return port


def _start(home: Path, port: int) -> subprocess.Popen:
    environment = os.environ.copy()
    environment.pop("PRECOG_DATABASE_URL", None)
    environment.pop("DAGSTER_HOME", None)
    environment["PRECOG_HOME"] = str(home)
    return subprocess.Popen(
        [sys.executable, "-m", "precog_pipelines.cli", "dev", "--port", str(port)],
        env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


class _Output:
    """Collects a process's output on a thread so the test can wait for a line."""

    def __init__(self, process: subprocess.Popen) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(process,), daemon=True)
        self._thread.start()

    def _read(self, process: subprocess.Popen) -> None:
        for line in process.stdout:
            self.lines.append(line)

    def wait_for(self, text: str, timeout: float) -> str | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.lines:
                if text in line:
                    return line
            time.sleep(0.2)
        return None

    def text(self) -> str:
        self._thread.join(timeout=30)
        return "".join(self.lines)


def _graphql(port: int, query: str) -> dict:
    response = requests.post(f"http://127.0.0.1:{port}/graphql", json={"query": query}, timeout=30)
    response.raise_for_status()
    return response.json()["data"]


def _stop(process: subprocess.Popen, output: _Output) -> tuple[int, str]:
    descendants = psutil.Process(process.pid).children(recursive=True)
    process.send_signal(signal.SIGINT)
    process.wait(timeout=90)
    _, alive = psutil.wait_procs(descendants, timeout=15)
    assert alive == [], f"processes left running after Ctrl-C: {[p.cmdline() for p in alive]}"
    return process.returncode, output.text()


def test_dev_serves_the_ui_stops_cleanly_and_reuses_its_data(tmp_path):
    home = tmp_path / "home"
    port = _free_port()

    process = _start(home, port)
    output = _Output(process)
    try:
        banner = output.wait_for("Precog is running", 180)
        assert banner is not None, output.text()
        assert f"Dagster UI at http://127.0.0.1:{port} (embedded PostgreSQL)" in banner
        locations = _graphql(port, "{ workspaceOrError { ... on Workspace { locationEntries { name "
                                   "locationOrLoadError { __typename } } } } }")
    finally:
        returncode, text = _stop(process, output)

    entries = locations["workspaceOrError"]["locationEntries"]
    assert [(e["name"], e["locationOrLoadError"]["__typename"]) for e in entries] == [
        ("precog_pipelines", "RepositoryLocation")]
    assert returncode == 0, text
    assert "Precog stopped." in text
    assert (home / "pgdata" / "PG_VERSION").exists()
    assert not (home / "pgdata" / "postmaster.pid").exists(), "embedded PostgreSQL still running"

    created = (home / "pgdata" / "PG_VERSION").stat().st_mtime
    process = _start(home, port)
    output = _Output(process)
    try:
        assert output.wait_for("Precog is running", 180) is not None, output.text()
    finally:
        returncode, text = _stop(process, output)
    assert returncode == 0, text
    assert (home / "pgdata" / "PG_VERSION").stat().st_mtime == created


def test_dev_refuses_a_port_in_use_with_one_line(tmp_path):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "precog_pipelines.cli", "dev", "--port", str(port)],
            env=os.environ | {"PRECOG_HOME": str(tmp_path)}, capture_output=True, text=True, timeout=60,
        )
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"Error: port {port} on 127.0.0.1 is already in use; stop what is using it or pass --port"
    )


def _dev_live(tmp_path, environment: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "precog_pipelines.cli", "dev", "--data", "live", "--port", str(_free_port())],
        env=os.environ | {"PRECOG_HOME": str(tmp_path)} | environment, capture_output=True, text=True, timeout=120,
    )


def _one_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_dev_live_with_a_missing_key_file_is_one_line(tmp_path, sandbox, kalshi_key):
    line = _one_line(_dev_live(tmp_path, {"KALSHI_API_BASE_URL": sandbox.kalshi_base_url,
                                          "KALSHI_API_KEY_ID": kalshi_key.key_id,
                                          "KALSHI_PRIVATE_KEY_PATH": str(tmp_path / "missing.pem")}))
    assert line.startswith("Error: Kalshi private key file") and "does not exist" in line


def test_dev_live_with_a_key_of_another_environment_is_one_line(tmp_path, sandbox, kalshi_key):
    # The sandbox knows only the session key: another key id is what a prod key on demo looks like.
    line = _one_line(_dev_live(tmp_path, {"KALSHI_API_BASE_URL": sandbox.kalshi_base_url,
                                          "KALSHI_API_KEY_ID": "not-registered-here",
                                          "KALSHI_PRIVATE_KEY_PATH": str(kalshi_key.private_key_path)}))
    assert "401" in line and "demo and prod keys differ" in line
    assert "BEGIN" not in line


def test_dev_live_trading_without_a_key_is_one_line(tmp_path):
    line = _one_line(_dev_live(tmp_path, {"PRECOG_TRADING_MODE": "live", "KALSHI_API_KEY_ID": "",
                                          "KALSHI_PRIVATE_KEY_PATH": ""}))
    assert "PRECOG_TRADING_MODE=live needs KALSHI_API_KEY_ID and KALSHI_PRIVATE_KEY_PATH" in line


def test_dev_with_a_postgres_url_that_does_not_answer_is_one_line(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "precog_pipelines.cli", "dev", "--port", str(_free_port())],
        env=os.environ | {"PRECOG_HOME": str(tmp_path),
                          "PRECOG_DATABASE_URL": "postgresql://precog:secret@127.0.0.1:1/precog"},
        capture_output=True, text=True, timeout=120)
    line = _one_line(result)
    assert "did not answer" in line and "secret" not in line
