"""``precog db`` as a user runs it: a real process against real PostgreSQL."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from precog_pipelines.lib.warehouse import migrations
from precog_pipelines.lib.warehouse.server import connect


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

    assert result.returncode == 2  # refused by the option itself, as click's usage errors are
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


# ---- migrations that would escape their transaction, files that are not UTF-8 ----------------------

def _sql_copy_with(tmp_path: Path, filename: str, body: bytes) -> Path:
    """The repository's migrations (all applied to the ``warehouse_url`` fixture) plus one new file."""
    target = tmp_path / "sql"
    shutil.copytree(migrations.default_sql_dir(), target)
    (target / filename).write_bytes(body)
    return target


def _tables(url: str) -> set[str]:
    with connect(url, autocommit=True) as conn:
        return {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}


def _ledger_versions(url: str) -> list[int]:
    with connect(url, autocommit=True) as conn:
        return [r[0] for r in conn.execute("SELECT version FROM schema_migrations ORDER BY version")]


def test_a_migration_that_commits_its_own_transaction_is_refused_before_running(warehouse_url, tmp_path):
    """Finding 8: a file with its own BEGIN; ... COMMIT; then a failing statement was reported
    "rolled back" while its table existed (and every rerun then failed on "already exists")."""
    sql_dir = _sql_copy_with(tmp_path, "9000_own_transaction.sql",
                             b"BEGIN;\nCREATE TABLE own_transaction (id integer);\nCOMMIT;\nSELECT no_such_function();\n")
    ledger = _ledger_versions(warehouse_url)

    first = precog("db", "upgrade", "--database-url", warehouse_url, env={"PRECOG_SQL_DIR": str(sql_dir)})
    again = precog("db", "upgrade", "--database-url", warehouse_url, env={"PRECOG_SQL_DIR": str(sql_dir)})

    expected = ("Error: migration 9000_own_transaction.sql manages its own transaction ('BEGIN' on line 1); "
                "remove it: every migration runs in one transaction of its own\n")
    assert (first.returncode, first.stdout, first.stderr) == (1, "", expected)
    assert (again.returncode, again.stderr) == (1, expected)
    assert "own_transaction" not in _tables(warehouse_url)
    assert _ledger_versions(warehouse_url) == ledger


def test_a_migration_ending_in_rollback_is_refused_not_recorded_as_applied(warehouse_url, tmp_path):
    """Finding 8: a file ending in ROLLBACK; was recorded as applied though nothing was applied."""
    sql_dir = _sql_copy_with(tmp_path, "9000_rolls_back.sql", b"CREATE TABLE rolled_back (id integer);\nROLLBACK;\n")
    ledger = _ledger_versions(warehouse_url)

    result = precog("db", "upgrade", "--database-url", warehouse_url, env={"PRECOG_SQL_DIR": str(sql_dir)})

    assert result.returncode == 1
    assert result.stderr == ("Error: migration 9000_rolls_back.sql manages its own transaction ('ROLLBACK' on "
                             "line 2); remove it: every migration runs in one transaction of its own\n")
    assert "rolled_back" not in _tables(warehouse_url)
    assert _ledger_versions(warehouse_url) == ledger


def test_a_migration_that_is_not_utf8_is_refused_in_one_line(warehouse_url, tmp_path):
    """Finding 8 (and 9): a Latin-1 migration file ended in a UnicodeDecodeError traceback."""
    sql_dir = _sql_copy_with(tmp_path, "9000_latin1.sql", "CREATE TABLE caf\u00e9 (id integer);\n".encode("latin-1"))
    ledger = _ledger_versions(warehouse_url)

    result = precog("db", "upgrade", "--database-url", warehouse_url, env={"PRECOG_SQL_DIR": str(sql_dir)})

    assert result.returncode == 1
    assert result.stderr == ("Error: migration 9000_latin1.sql is not UTF-8 (byte 0xe9 at offset 16, line 1); "
                             "save it as UTF-8\n")
    assert _ledger_versions(warehouse_url) == ledger


# ---- a password in the URL's query string -----------------------------------------------------------

QUERY_PASSWORD = "hunter2-in-the-query"


def _with_query_password(url: str) -> str:
    return f"{url}?password={QUERY_PASSWORD}&application_name=precog"


@pytest.mark.parametrize("how", ["option", "environment"])
def test_db_status_never_prints_a_password_given_as_a_query_parameter(warehouse_url, how):
    """Finding 7: `precog db status` printed postgresql://...?password=... verbatim."""
    url = _with_query_password(warehouse_url)
    args, env = (["--database-url", url], {}) if how == "option" else ([], {"PRECOG_DATABASE_URL": url})

    result = precog("db", "status", *args, env=env)

    assert result.returncode == 0, result.stderr
    assert QUERY_PASSWORD not in result.stdout + result.stderr
    shown = result.stdout.splitlines()[0]
    assert shown.startswith(f"database: {warehouse_url}?") and "password=***" in shown, shown


def test_an_unreachable_server_never_shows_a_query_password(tmp_path):
    """Finding 7: the one-line error of an unreachable server names the URL, without its password."""
    result = precog("db", "upgrade", "--database-url", f"postgresql://precog@127.0.0.1:1/precog?password={QUERY_PASSWORD}")

    assert result.returncode == 1
    assert QUERY_PASSWORD not in result.stdout + result.stderr
    assert "postgresql://precog@127.0.0.1:1/precog?password=***" in result.stderr
