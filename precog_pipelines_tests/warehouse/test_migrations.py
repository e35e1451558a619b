"""The migration runner: order, idempotence, checksums, locking and rollback."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest

from precog_pipelines.lib.warehouse import migrations
from precog_pipelines.lib.warehouse.server import connect

EXPECTED_TABLES = {
    "platforms", "series", "events", "market_tickers", "markets", "games", "game_states", "teams",
    "team_aliases", "elo_rating_history", "probability_models", "strategies", "edges", "positions",
    "trades", "position_exits", "exit_attempts", "settlements", "account_balance", "alerts",
    "ingestion_rejects", "schema_migrations",
}
EXPECTED_VIEWS = {
    "markets_current", "game_states_current", "edges_current", "positions_current",
    "account_balance_current",
}


def _relations(url: str, kind: str) -> set[str]:
    with connect(url) as conn:
        rows = conn.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind = %s",
            (kind,),
        ).fetchall()
    return {r[0] for r in rows}


def _ledger(url: str) -> list[tuple[int, str]]:
    with connect(url) as conn:
        return conn.execute("SELECT version, filename FROM schema_migrations ORDER BY version").fetchall()


@pytest.fixture
def sql_copy(tmp_path: Path) -> Path:
    """A private copy of the repository's migrations that a test may edit."""
    target = tmp_path / "sql"
    shutil.copytree(migrations.default_sql_dir(), target)
    return target


def test_upgrade_creates_the_schema_and_second_run_is_a_noop(empty_database_url: str) -> None:
    files = migrations.discover(migrations.default_sql_dir())

    applied = migrations.upgrade(empty_database_url)

    assert [m.filename for m in applied] == [f.filename for f in files]
    assert EXPECTED_TABLES <= _relations(empty_database_url, "r")
    assert EXPECTED_VIEWS <= _relations(empty_database_url, "v")
    ledger_after_first = _ledger(empty_database_url)
    assert migrations.upgrade(empty_database_url) == []
    assert _ledger(empty_database_url) == ledger_after_first
    state = migrations.status(empty_database_url)
    assert [row.filename for row in state.applied] == [f.filename for f in files]
    assert state.pending == []


def test_status_lists_pending_migrations_before_upgrade(empty_database_url: str) -> None:
    state = migrations.status(empty_database_url)

    assert state.applied == []
    assert [m.version for m in state.pending] == sorted(m.version for m in state.pending)
    assert len(state.pending) == len(migrations.discover(migrations.default_sql_dir()))


def test_only_new_files_are_applied_later(empty_database_url: str, sql_copy: Path) -> None:
    migrations.upgrade(empty_database_url, sql_copy)
    (sql_copy / "9000_add_probe.sql").write_text("CREATE TABLE probe (id integer);\n")

    applied = migrations.upgrade(empty_database_url, sql_copy)

    assert [m.filename for m in applied] == ["9000_add_probe.sql"]
    assert "probe" in _relations(empty_database_url, "r")


def test_edited_applied_file_is_refused_naming_the_file(empty_database_url: str, sql_copy: Path) -> None:
    migrations.upgrade(empty_database_url, sql_copy)
    edited = sql_copy / "0003_market_data.sql"
    edited.write_text(edited.read_text() + "\n-- a harmless looking edit\n")
    (sql_copy / "9000_add_probe.sql").write_text("CREATE TABLE probe (id integer);\n")

    with pytest.raises(migrations.MigrationError, match="0003_market_data.sql was edited"):
        migrations.upgrade(empty_database_url, sql_copy)
    with pytest.raises(migrations.MigrationError, match="0003_market_data.sql was edited"):
        migrations.status(empty_database_url, sql_copy)
    assert "probe" not in _relations(empty_database_url, "r")


def test_failing_migration_rolls_back_schema_and_ledger(empty_database_url: str, sql_copy: Path) -> None:
    migrations.upgrade(empty_database_url, sql_copy)
    (sql_copy / "9000_half_broken.sql").write_text(
        "CREATE TABLE half_done (id integer);\nSELECT no_such_function();\n"
    )

    with pytest.raises(migrations.MigrationError, match="9000_half_broken.sql failed and was rolled back"):
        migrations.upgrade(empty_database_url, sql_copy)

    assert "half_done" not in _relations(empty_database_url, "r")
    assert 9000 not in [version for version, _ in _ledger(empty_database_url)]


def test_missing_applied_file_is_refused(empty_database_url: str, sql_copy: Path) -> None:
    migrations.upgrade(empty_database_url, sql_copy)
    (sql_copy / "0005_current_views.sql").unlink()

    with pytest.raises(migrations.MigrationError, match="0005_current_views.sql .* missing"):
        migrations.upgrade(empty_database_url, sql_copy)


def test_file_older_than_applied_ones_is_refused(empty_database_url: str, sql_copy: Path) -> None:
    migrations.upgrade(empty_database_url, sql_copy)
    (sql_copy / "0000_forgotten.sql").write_text("SELECT 1;\n")

    with pytest.raises(migrations.MigrationError, match="0000_forgotten.sql is older"):
        migrations.upgrade(empty_database_url, sql_copy)


@pytest.mark.parametrize("name", ["1_short.sql", "0007-dashes.sql", "0007_UPPER.sql"])
def test_badly_named_file_is_refused(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_text("SELECT 1;\n")

    with pytest.raises(migrations.MigrationError, match=name.replace(".", r"\.")):
        migrations.discover(tmp_path)


def test_duplicate_versions_are_refused(tmp_path: Path) -> None:
    (tmp_path / "0001_a.sql").write_text("SELECT 1;\n")
    (tmp_path / "0001_b.sql").write_text("SELECT 1;\n")

    with pytest.raises(migrations.MigrationError, match="share version 1"):
        migrations.discover(tmp_path)


def test_concurrent_upgrades_apply_each_file_once(empty_database_url: str, sql_copy: Path) -> None:
    # A slow first migration widens the window in which the second upgrader must wait.
    slow = sql_copy / "0001_reference_data.sql"
    slow.write_text("SELECT pg_sleep(0.5);\n" + slow.read_text())
    results: dict[int, object] = {}
    start = threading.Barrier(4)

    def run(index: int) -> None:
        start.wait()
        try:
            results[index] = migrations.upgrade(empty_database_url, sql_copy)
        except Exception as exc:  # surfaced by the assertion below
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not [r for r in results.values() if isinstance(r, Exception)], results
    applied_counts = sorted(len(r) for r in results.values())
    assert applied_counts == [0, 0, 0, len(migrations.discover(sql_copy))]
    versions = [version for version, _ in _ledger(empty_database_url)]
    assert versions == sorted(set(versions))


@pytest.mark.parametrize(("statement", "shown"), [
    ("START TRANSACTION;", "START TRANSACTION"), ("begin isolation level serializable;", "begin isolation level serializable"),
    ("COMMIT;", "COMMIT"), ("end;", "end"), ("ABORT;", "ABORT"), ("SAVEPOINT before_x;", "SAVEPOINT before_x"),
    ("ROLLBACK TO SAVEPOINT before_x;", "ROLLBACK TO SAVEPOINT before_x"), ("PREPARE TRANSACTION 'x';", "PREPARE TRANSACTION 'x'"),
])
def test_every_transaction_statement_is_refused_before_anything_runs(empty_database_url: str, sql_copy: Path,
                                                                    statement: str, shown: str) -> None:
    """Finding 8: the runner owns each migration's transaction. A bad 9001 also keeps a good
    9000 from running: every pending file is checked first."""
    migrations.upgrade(empty_database_url, sql_copy)
    (sql_copy / "9000_fine.sql").write_text("CREATE TABLE fine (id integer);\n")
    (sql_copy / "9001_own_transaction.sql").write_text(f"CREATE TABLE inside (id integer);\n{statement}\n")

    with pytest.raises(migrations.MigrationError) as refused:
        migrations.upgrade(empty_database_url, sql_copy)

    assert str(refused.value) == (f"migration 9001_own_transaction.sql manages its own transaction ({shown!r} on "
                                  "line 2); remove it: every migration runs in one transaction of its own")
    assert not {"fine", "inside"} & _relations(empty_database_url, "r")
    assert not {9000, 9001} & {version for version, _ in _ledger(empty_database_url)}


def test_begin_and_end_inside_function_bodies_and_strings_are_not_transaction_statements(
        empty_database_url: str, sql_copy: Path) -> None:
    """Finding 8, no false alarm: PL/pgSQL blocks, strings and comments may say BEGIN and COMMIT."""
    migrations.upgrade(empty_database_url, sql_copy)
    (sql_copy / "9000_function.sql").write_text(
        "-- COMMIT; in a comment\nCREATE TABLE notes (body text DEFAULT 'BEGIN; COMMIT;');\n"
        "CREATE FUNCTION noop() RETURNS void LANGUAGE plpgsql AS $$\nBEGIN\n  PERFORM 1;\nEND\n$$;\n")

    assert [m.filename for m in migrations.upgrade(empty_database_url, sql_copy)] == ["9000_function.sql"]
    assert "notes" in _relations(empty_database_url, "r")


def test_a_file_that_is_not_sql_is_refused_naming_the_line(empty_database_url: str, sql_copy: Path) -> None:
    migrations.upgrade(empty_database_url, sql_copy)
    (sql_copy / "9000_typo.sql").write_text("CREATE TABLE fine (id integer);\nCREATE TABEL oops (id integer);\n")

    with pytest.raises(migrations.MigrationError, match=r"^migration 9000_typo.sql is not valid SQL "
                                                         r"\(syntax error at or near \"TABEL\", line 2\)$"):
        migrations.upgrade(empty_database_url, sql_copy)
    assert "fine" not in _relations(empty_database_url, "r")
