"""``precog trading halt|resume|status`` against a real warehouse: each writes or reads the
append-only log, records the operating-system user, and a mistake is one line."""

from __future__ import annotations

import getpass
import os
import subprocess
import sys

from click.testing import CliRunner

from precog_pipelines.cli import precog
from precog_pipelines.lib.settings import repository_root
from precog_pipelines.lib.warehouse.server import connect


def _invoke(url: str, *args: str):
    return CliRunner().invoke(precog, ["trading", *args, "--database-url", url])


def test_halt_status_resume_round_trip(warehouse_url):
    assert _invoke(warehouse_url, "status").output.startswith("trading")

    halted = _invoke(warehouse_url, "halt", "--reason", "odd fills on DAL", "--block-exits")
    assert halted.exit_code == 0, halted.output
    assert "halted: odd fills on DAL" in halted.output and "exits blocked" in halted.output

    status = _invoke(warehouse_url, "status")
    assert status.exit_code == 0
    assert f"halted: odd fills on DAL (by {getpass.getuser()}, manual, since " in status.output
    assert "consecutive order errors: 0" in status.output

    resumed = _invoke(warehouse_url, "resume", "--reason", "fills reconciled")
    assert resumed.exit_code == 0 and "resumed (was halted: odd fills on DAL)" in resumed.output
    assert "was not halted; nothing recorded" in _invoke(warehouse_url, "resume").output
    with connect(warehouse_url) as conn:
        events = conn.execute("SELECT action, reason, source, blocks_exits, actor FROM trading_halts ORDER BY id").fetchall()
        alert = conn.execute("SELECT severity, resolved_at IS NOT NULL FROM alerts WHERE component = 'trading'").fetchall()
    user = getpass.getuser()
    assert events == [("halt", "odd fills on DAL", "manual", True, user),
                      ("resume", "fills reconciled", "manual", False, user)]
    assert alert == [("critical", True)]  # the halt raised it, the resume resolved it


def test_a_halt_needs_a_reason_in_one_line_and_writes_nothing(warehouse_url):
    for args in (["--reason", "   "], []):
        result = _invoke(warehouse_url, "halt", *args)
        assert result.exit_code == 2
        assert "Traceback" not in result.output and "--reason" in result.output.splitlines()[-1]
    with connect(warehouse_url) as conn:
        assert conn.execute("SELECT count(*) FROM trading_halts").fetchone()[0] == 0


def test_the_installed_command_halts_in_its_own_process(warehouse_url):
    """The real entry point in a subprocess: the state it writes is the one a run reads."""
    command = [sys.executable, "-m", "precog_pipelines.cli", "trading"]
    environment = os.environ | {"PRECOG_DATABASE_URL": warehouse_url}
    halted = subprocess.run([*command, "halt", "--reason", "end of season"], env=environment, cwd=repository_root(),
                            capture_output=True, text=True, timeout=120)
    assert halted.returncode == 0, halted.stderr
    status = subprocess.run([*command, "status"], env=environment, cwd=repository_root(), capture_output=True,
                            text=True, timeout=120)
    assert status.stdout.startswith("halted: end of season (by ")


def test_an_unreachable_warehouse_is_one_line(tmp_path):
    result = _invoke("postgresql://postgres@127.0.0.1:1/nowhere", "status")
    assert result.exit_code == 1
    assert result.output.startswith("Error: PostgreSQL at ") and len(result.output.strip().splitlines()) == 1
