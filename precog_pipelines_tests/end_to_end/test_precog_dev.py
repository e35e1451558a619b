"""``precog dev`` as a new user runs it: embedded warehouse, Dagster UI, clean Ctrl-C."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import requests

import precog_pipelines
from precog_pipelines_tests.support.dev_process import DevProcess, free_port

pytestmark = pytest.mark.slow


def test_dev_serves_the_ui_stops_cleanly_and_reuses_its_data(tmp_path):
    home = tmp_path / "home"
    port = free_port()

    dev = DevProcess(home, port)
    try:
        banner = dev.wait_until_running()
        assert f"Dagster UI at http://127.0.0.1:{port} (embedded PostgreSQL)" in banner
        locations = dev.graphql("{ workspaceOrError { ... on Workspace { locationEntries { name "
                                "locationOrLoadError { __typename } } } } }")
    finally:
        returncode, text = dev.stop()

    entries = locations["workspaceOrError"]["locationEntries"]
    assert [(e["name"], e["locationOrLoadError"]["__typename"]) for e in entries] == [
        ("precog_pipelines", "RepositoryLocation")]
    assert returncode == 0, text
    assert "Precog stopped." in text
    assert "virtual environment does not match" not in text, "dg should see the venv precog runs in"
    # A quiet start: none of the warnings a user can do nothing about (the checkout's dagster.yaml
    # "not used", Dagster's own beta warning on sensor owners, XDG_RUNTIME_DIR), and no Python
    # warning at all. Dagster's operational warnings (a slow tick on a loaded machine, a stalled
    # backfill) are the user's business and may appear, one line each.
    noise = re.compile(r"\b[A-Z]\w*Warning\b|dagster\.yaml|XDG_RUNTIME_DIR|owners")
    assert not [line for line in text.splitlines() if noise.search(line)], text
    assert (home / "pgdata" / "PG_VERSION").exists()
    assert not (home / "pgdata" / "postmaster.pid").exists(), "embedded PostgreSQL still running"

    created = (home / "pgdata" / "PG_VERSION").stat().st_mtime
    dev = DevProcess(home, port)
    try:
        dev.wait_until_running()
    finally:
        returncode, text = dev.stop()
    assert returncode == 0, text
    assert (home / "pgdata" / "PG_VERSION").stat().st_mtime == created


def test_a_failed_first_backfill_is_said_in_a_line_with_what_to_do_and_no_stack_trace(tmp_path):
    """A games file Elo refuses fails the first backfill: the terminal says which step failed,
    the error's own words, where to read more and what to do, in lines of their own; the stack
    trace is in Dagster's log file only."""
    history = tmp_path / "history"
    shutil.copytree(Path(precog_pipelines.__file__).parent / "data" / "nfl", history)
    games = history / "games_1920_2020.csv"
    lines = games.read_text().splitlines()
    lines[5] = lines[5].rsplit(",", 1)[0] + ",abc"
    games.write_text("\n".join(lines) + "\n")

    dev = DevProcess(tmp_path / "home", free_port(), environ={"PRECOG_ELO_HISTORY_DIR": str(history)})
    try:
        dev.wait_until_running()
        summary = dev.output.wait_for("The Elo backfill ended", 300)
        failure = dev.output.wait_for("Run failed: step elo_ratings", 5)
    finally:
        returncode, text = dev.stop()
    assert summary is not None and "elo_ratings" in summary and "materialize all partitions" in summary, text
    assert failure is not None and "score2" in failure and "abc" in failure and "/runs/" in failure, text
    assert "Stack Trace" not in text and "Traceback" not in text and 'File "' not in text, text
    log = (tmp_path / "home" / "logs" / "dagster.log").read_text()
    assert "Stack Trace" in log and "STEP_FAILURE" in log
    assert returncode == 0, text


# Every market snapshot is held at the exchange (then answered), so the Kalshi run that the
# schedule starts every minute under precog dev stays executing while the test presses Ctrl-C.
SLOW_MARKETS = {"kind": "slow", "path": "*/markets", "count": None, "probability": 1.0, "delay_seconds": 120}
STARTED_RUNS = "{ runsOrError(filter: {statuses: [STARTED]}) { ... on Runs { results { runId } } } }"


def _run_worker_held_at_the_exchange(dev: DevProcess, sandbox_url: str, timeout: float = 240) -> psutil.Process:
    """The process of a started run whose market request the exchange is holding."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stats = requests.get(f"{sandbox_url}/_sandbox/stats", timeout=10).json()["stats"]
        if stats.get("fault_slow", 0) >= 1:
            # Run logs go to Dagster's log file, not to the terminal.
            log = dev.dagster_log()
            for run in dev.graphql(STARTED_RUNS)["runsOrError"]["results"]:
                pattern = rf"{run['runId']} - (\d+) - ENGINE_EVENT - Executing steps in process"
                for line in log.splitlines():
                    if (found := re.search(pattern, line)) and psutil.pid_exists(int(found.group(1))):
                        return psutil.Process(int(found.group(1)))
        time.sleep(1)
    raise AssertionError(f"no run was executing within {timeout} s:\n{dev.text()[-5000:]}")


def _alive_in(groups: set[int]) -> list[str]:
    alive = []
    for process in psutil.process_iter(["pid", "cmdline", "status"]):
        try:
            if os.getpgid(process.pid) in groups and process.info["status"] != psutil.STATUS_ZOMBIE:
                alive.append(f"{process.pid} {' '.join(process.info['cmdline'] or [])[:160]}")
        except (ProcessLookupError, psutil.Error):
            pass
    return alive


def test_ctrl_c_while_a_run_executes_stops_everything(tmp_path):
    dev = DevProcess(tmp_path / "home", free_port())
    try:
        dev.wait_until_running()
        sandbox_url = dev.sandbox_url()
        requests.post(f"{sandbox_url}/_sandbox/faults", json=SLOW_MARKETS, timeout=10).raise_for_status()
        run_worker = _run_worker_held_at_the_exchange(dev, sandbox_url)
        started = dev.descendants()
        # Dagster runs in its own process group (dg dev's session); so may other helpers.
        groups = {os.getpgid(dev.process.pid)} | {os.getpgid(p.pid) for p in started if p.is_running()}

        dev.ctrl_c()
        returncode = dev.process.wait(timeout=120)
    finally:
        if dev.process.poll() is None:
            dev.kill()
    text = dev.text()

    _, alive = psutil.wait_procs([*started, run_worker], timeout=5)
    assert [p.pid for p in alive] == [] and _alive_in(groups) == [], (
        f"left running after Ctrl-C: {_alive_in(groups)}")
    assert returncode == 0, text
    assert "Precog stopped." in text


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
        [sys.executable, "-m", "precog_pipelines.cli", "dev", "--data", "live", "--port", str(free_port())],
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
        [sys.executable, "-m", "precog_pipelines.cli", "dev", "--port", str(free_port())],
        env=os.environ | {"PRECOG_HOME": str(tmp_path),
                          "PRECOG_DATABASE_URL": "postgresql://precog:secret@127.0.0.1:1/precog"},
        capture_output=True, text=True, timeout=120)
    line = _one_line(result)
    assert "did not answer" in line and "secret" not in line
