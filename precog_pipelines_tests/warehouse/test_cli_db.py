"""``precog db`` as a user runs it: a real process against real PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from precog_pipelines.lib.warehouse import migrations


def precog(*args: str, env: dict[str, str] | None = None, home: Path | None = None) -> subprocess.CompletedProcess:
    environment = os.environ.copy()
    environment.pop("PRECOG_DATABASE_URL", None)
    if home is not None:
        environment["PRECOG_HOME"] = str(home)
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "precog_pipelines.cli", *args],
        capture_output=True, text=True, env=environment, timeout=120,
    )


def test_upgrade_then_upgrade_again_then_status(empty_database_url):
    first = precog("db", "upgrade", "--database-url", empty_database_url)
    second = precog("db", "upgrade", env={"PRECOG_DATABASE_URL": empty_database_url})
    state = precog("db", "status", "--database-url", empty_database_url)

    count = len(migrations.discover(migrations.default_sql_dir()))
    assert first.returncode == 0, first.stderr
    assert "applied 0001_reference_data.sql" in first.stdout
    assert f"{count} migration(s) applied" in first.stdout
    assert second.returncode == 0 and "nothing to apply" in second.stdout
    assert f"{count} applied, 0 pending" in state.stdout


def test_unreachable_server_is_one_clear_line(tmp_path):
    result = precog("db", "upgrade", "--database-url", "postgresql://precog:s3cret@127.0.0.1:1/precog")

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: PostgreSQL at")
    assert "did not answer" in lines[0] and "PRECOG_DATABASE_URL" in lines[0]
    assert "s3cret" not in result.stderr


def test_non_postgres_url_is_refused(tmp_path):
    result = precog("db", "status", "--database-url", "sqlite:///precog.db")

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "scheme 'sqlite' is not PostgreSQL" in result.stderr


def test_embedded_server_is_used_and_reused_without_a_url(tmp_path):
    home = tmp_path / "home"
    first = precog("db", "upgrade", home=home)
    second = precog("db", "status", home=home)

    assert first.returncode == 0, first.stderr
    assert "migration(s) applied" in first.stdout
    assert (home / "pgdata" / "PG_VERSION").exists()
    assert second.returncode == 0, second.stderr
    assert ", 0 pending" in second.stdout
