"""The kill switch as a person uses it under ``precog dev``: the daemon's schedules and automation
running on the sandbox, ``precog trading halt`` typed in another terminal, then ``precog trading
resume``."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from precog_pipelines.lib.warehouse.server import connect, resolve_server
from precog_pipelines_tests.support.dev_process import DevProcess, free_port

pytestmark = pytest.mark.slow

# The first start rates 1920 to the present before edges exist (about 90 s on the 2-core machine).
FIRST_EVALUATION_TIMEOUT = 480
RESUME_TIMEOUT = 300
LATEST_POSITIONS_STATE = """
{ assetOrError(assetKey: {path: ["positions"]}) { ... on Asset {
    assetMaterializations(limit: 1) { timestamp metadataEntries { label ... on TextMetadataEntry { text } } } } } }
"""


def _precog(home: Path, *args: str) -> subprocess.CompletedProcess:
    """A second terminal: the installed command against the same PRECOG_HOME."""
    environment = {k: v for k, v in os.environ.items() if k not in ("PRECOG_DATABASE_URL", "DAGSTER_HOME")}
    environment["PRECOG_HOME"] = str(home)
    return subprocess.run([sys.executable, "-m", "precog_pipelines.cli", *args], env=environment,
                          capture_output=True, text=True, timeout=120)


def _trading_state_since(dev: DevProcess, since: float) -> str | None:
    """``trading_state`` of the latest ``positions`` materialization if it began after ``since``
    (epoch seconds), else None (the automation may evaluate positions once before the halt)."""
    asset = dev.graphql(LATEST_POSITIONS_STATE)["assetOrError"]
    for materialization in asset.get("assetMaterializations") or []:
        if float(materialization["timestamp"]) / 1000 <= since:
            continue
        for entry in materialization["metadataEntries"]:
            if entry["label"] == "trading_state":
                return entry["text"]
    return None


def _counts(warehouse_url: str) -> dict[str, int]:
    with connect(warehouse_url) as conn:
        return {table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                for table in ("edges", "positions", "entry_orders")}


def _wait(condition, timeout: float, what: str, dev: DevProcess):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (value := condition()):
            return value
        time.sleep(5)
    raise AssertionError(f"{what} within {timeout} s:\n{dev.text()[-5000:]}")


def test_halt_stops_entries_under_precog_dev_and_resume_restarts_them(tmp_path):
    home = tmp_path / "home"
    dev = DevProcess(home, free_port())
    server = None
    try:
        dev.wait_until_running()
        halted = _precog(home, "trading", "halt", "--reason", "kill switch drill")
        assert halted.returncode == 0, halted.stderr
        assert "halted: kill switch drill" in halted.stdout
        server = resolve_server(home, "", keep_running=True)
        warehouse_url = server.warehouse_url
        assert _counts(warehouse_url)["entry_orders"] == 0, "an entry was sent before the halt"

        # The automation evaluates positions when edges change (it may also have evaluated them once,
        # with nothing to buy, before the halt): the evaluation after the first edges must see the
        # halt and send nothing.
        _wait(lambda: _counts(warehouse_url)["edges"] > 0, FIRST_EVALUATION_TIMEOUT, "no edges", dev)
        edges_at = time.time()
        state = _wait(lambda: _trading_state_since(dev, edges_at), FIRST_EVALUATION_TIMEOUT,
                      "no positions evaluation after the first edges", dev)
        assert state.startswith("halted: kill switch drill"), state
        counts = _counts(warehouse_url)
        assert counts["edges"] > 0, counts
        assert counts["positions"] == 0 and counts["entry_orders"] == 0, counts

        resumed = _precog(home, "trading", "resume", "--reason", "drill over")
        assert resumed.returncode == 0, resumed.stderr
        assert _precog(home, "trading", "status").stdout.startswith("trading")
        _wait(lambda: _counts(warehouse_url)["positions"] > 0, RESUME_TIMEOUT, "no position opened after resume", dev)
        assert _counts(warehouse_url)["entry_orders"] > 0
    finally:
        if server is not None:
            # Let go of precog dev's embedded server first: its stop is then the last handle and
            # stops the server, instead of leaving a postgres behind after every run of this test.
            server.stop()
        returncode, text = dev.stop()
    assert returncode == 0, text[-5000:]
