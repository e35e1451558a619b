"""Shared pieces of the fault and bad-input suite (test_fault_*.py), loaded as a pytest plugin.

The suite runs the real Kalshi ingestion assets on a real Dagster instance against the sandbox
and real PostgreSQL. Two series are crawled (KXNFLGAME and the sandbox's synthetic KXSANDBOX),
so a crawl has a second markets request that a fault can hit after the first one arrived.
Loading the warehouse once per session and cloning it per test keeps the suite fast; the
sandbox's clock is frozen and its world seeded, so every sandbox of this config serves the same
payloads.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import dagster as dg
import psycopg
import pytest
from psycopg import sql

from precog_pipelines.defs.kalshi.assets import kalshi_events, kalshi_markets, kalshi_series
from precog_pipelines.lib.settings import repository_root
from precog_pipelines.lib.warehouse.scd2_merge import Scd2Table
from precog_pipelines.lib.warehouse.server import connect
from precog_pipelines.lib.warehouse.tables import SCD2_TABLES
from precog_pipelines.sandbox import SandboxConfig, SandboxServer
from precog_pipelines_tests.conftest import (
    SANDBOX_START,
    KalshiTestKey,
    ScratchDatabase,
    sandbox_resources,
    scratch_database,
)

KALSHI_ASSETS = [kalshi_series, kalshi_events, kalshi_markets]
REFERENCE_ASSETS = [kalshi_series, kalshi_events]
FAULT_SERIES = "KXNFLGAME,KXSANDBOX"
SYNTHETIC_MARKETS = 20
MARKETS_PATH = "/trade-api/v2/markets"
# Small budgets, so that a fault outlasting them fails in about a second.
RETRY_ATTEMPTS = 3
REQUEST_TIMEOUT_SECONDS = 0.3
# Columns that differ between two equally good loads: surrogate keys, wall-clock stamps, run ids.
VOLATILE_COLUMNS = frozenset({"id", "first_seen_at", "updated_at", "row_start_ts", "row_end_ts", "rejected_at",
                              "run_id", "created_at", "applied_at"})


def fault_sandbox_config(key: KalshiTestKey, **overrides) -> SandboxConfig:
    return SandboxConfig(**{"start": SANDBOX_START, "speed": 0, "extra_markets": SYNTHETIC_MARKETS,
                            "api_keys": {key.key_id: key.public_key}} | overrides)


def fault_resources(warehouse_url: str, sandbox: SandboxServer, key: KalshiTestKey, **kalshi_options) -> dict:
    """The project's resources (conftest.sandbox_resources) with Kalshi crawling both series on
    small retry and timeout budgets."""
    options = {"series_tickers": FAULT_SERIES, "retry_max_attempts": RETRY_ATTEMPTS,
               "request_timeout_seconds": REQUEST_TIMEOUT_SECONDS} | kalshi_options
    return sandbox_resources(warehouse_url, sandbox, key, kalshi_options=options)


def materialize(assets, resources: dict, instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    return dg.materialize(assets, resources=resources, instance=instance, raise_on_error=False)


def failure_text(result: dg.ExecuteInProcessResult) -> str:
    """Every step failure's error chain (class and message), one line per error."""
    lines = []
    for event in result.all_events:
        if event.event_type != dg.DagsterEventType.STEP_FAILURE:
            continue
        error = event.step_failure_data.error
        while error is not None:
            lines.append(f"{event.step_key}: {error.cls_name}: {error.message}")
            error = error.cause
    return "\n".join(lines)


def failed_steps(result: dg.ExecuteInProcessResult) -> set[str]:
    return {e.step_key for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE}


# ---- looking at the warehouse ------------------------------------------------------------------

def public_tables(conn: psycopg.Connection) -> list[str]:
    return [r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")]


def warehouse_dump(url: str) -> dict[str, list[str]]:
    """Every row of every table of the public schema, as text, sorted: equal dumps mean equal data."""
    with connect(url, autocommit=True) as conn:
        return {table: [r[0] for r in conn.execute(
            sql.SQL("SELECT t::text FROM {} t ORDER BY 1").format(sql.Identifier(table)))]
            for table in public_tables(conn)}


def comparable_dump(url: str) -> dict[str, list[tuple]]:
    """Like :func:`warehouse_dump` without :data:`VOLATILE_COLUMNS`: what two loads of the same
    snapshot must agree on."""
    dump = {}
    with connect(url, autocommit=True) as conn:
        for table in public_tables(conn):
            if table in _HASHED_TABLES:
                dump[table] = _hashes_by_business_key(conn, _HASHED_TABLES[table])
                continue
            columns = [r[0] for r in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' "
                "AND table_name = %s ORDER BY ordinal_position", (table,)) if r[0] not in VOLATILE_COLUMNS]
            rows = conn.execute(sql.SQL("SELECT {} FROM {} ORDER BY 1").format(
                sql.SQL(", ").join(sql.SQL("{}::text").format(sql.Identifier(c)) for c in columns),
                sql.Identifier(table))).fetchall()
            dump[table] = sorted(rows, key=repr)
    return dump


_HASHED_TABLES = {table.hash_table: table for table in SCD2_TABLES}


def _hashes_by_business_key(conn: psycopg.Connection, table: Scd2Table) -> list[tuple]:
    """A merge's tracked hashes by the business key of their version: version ids are drawn from
    a sequence, which a killed run has advanced."""
    return sorted(conn.execute(sql.SQL(
        "SELECT {key}, h.tracked_hash::text FROM {hashes} h JOIN {versions} t ON t.id = h.version_id").format(
            key=sql.SQL(", ").join(sql.SQL("t.{}::text").format(sql.Identifier(k)) for k in table.business_key),
            hashes=sql.Identifier(table.hash_table), versions=sql.Identifier(table.name))).fetchall(), key=repr)


def rejects(url: str) -> list[tuple]:
    with connect(url, autocommit=True) as conn:
        return conn.execute("SELECT entity, business_key, reason, payload FROM ingestion_rejects ORDER BY id").fetchall()


# ---- warehouses loaded once per session, cloned per test ------------------------------------------

def _loaded_template(server_url, migrated_template, instance, key, assets, prefix) -> Iterator[ScratchDatabase]:
    with scratch_database(server_url, prefix, template=migrated_template) as database:
        with SandboxServer(fault_sandbox_config(key)) as sandbox:
            result = materialize(assets, fault_resources(database.url, sandbox, key), instance)
        assert result.success, failure_text(result)
        yield database


@pytest.fixture(scope="session")
def fully_loaded_template(postgres_server_url, migrated_template, dagster_instance, kalshi_key):
    """A warehouse after one clean run of the three Kalshi assets (the baseline of the suite)."""
    yield from _loaded_template(postgres_server_url, migrated_template, dagster_instance, kalshi_key,
                                KALSHI_ASSETS, "precog_test_fault_full")


@pytest.fixture(scope="session")
def reference_loaded_template(postgres_server_url, migrated_template, dagster_instance, kalshi_key):
    """A warehouse holding the series and events only: ready for a markets run."""
    yield from _loaded_template(postgres_server_url, migrated_template, dagster_instance, kalshi_key,
                                REFERENCE_ASSETS, "precog_test_fault_reference")


def _clone(server_url: str, template: ScratchDatabase) -> Iterator[str]:
    with scratch_database(server_url, "precog_test_fault", template=template.name) as database:
        yield database.url


@pytest.fixture
def loaded_warehouse_url(postgres_server_url, fully_loaded_template) -> Iterator[str]:
    """A private copy of the clean full load."""
    yield from _clone(postgres_server_url, fully_loaded_template)


@pytest.fixture
def reference_warehouse_url(postgres_server_url, reference_loaded_template) -> Iterator[str]:
    """A private copy of a warehouse with series and events but no markets yet."""
    yield from _clone(postgres_server_url, reference_loaded_template)


@pytest.fixture
def fault_sandbox(kalshi_key) -> Iterator[SandboxServer]:
    with SandboxServer(fault_sandbox_config(kalshi_key)) as sandbox:
        yield sandbox


# ---- materializing in another process -----------------------------------------------------------

_CHILD = """
import sys
from precog_pipelines_tests.support.faults import child_materialize
sys.exit(child_materialize())
"""


def child_materialize() -> int:
    """Entry point of :func:`start_materialization`'s process: materialize kalshi_markets on the
    instance in DAGSTER_HOME, with the warehouse and sandbox named by PRECOG_FAULT_* variables."""
    from precog_pipelines.resources.sources import KalshiResource
    from precog_pipelines.resources.warehouse import WarehouseResource

    resources = {
        "warehouse": WarehouseResource(database_url=os.environ["PRECOG_FAULT_WAREHOUSE_URL"]),
        "kalshi": KalshiResource(base_url=os.environ["PRECOG_FAULT_KALSHI_URL"], series_tickers=FAULT_SERIES,
                                 retry_max_attempts=RETRY_ATTEMPTS, retry_initial_backoff_seconds=0.01),
    }
    with dg.DagsterInstance.get() as instance:
        result = dg.materialize([kalshi_markets], resources=resources, instance=instance, raise_on_error=False)
    print(failure_text(result) or "materialized", flush=True)
    return 0 if result.success else 1


def start_materialization(warehouse_url: str, sandbox: SandboxServer, instance: dg.DagsterInstance) -> subprocess.Popen:
    """Materialize kalshi_markets in a new Python process (Dagster runs in threads of one process
    deadlock), on ``instance``: a PostgreSQL instance whose DAGSTER_PG_URL is in our environment."""
    env = os.environ | {
        "PRECOG_FAULT_WAREHOUSE_URL": warehouse_url,
        "PRECOG_FAULT_KALSHI_URL": sandbox.kalshi_base_url,
        "DAGSTER_HOME": str(instance.root_directory),
    }
    return subprocess.Popen([sys.executable, "-c", _CHILD], env=env, cwd=repository_root(), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def finish(process: subprocess.Popen, timeout: float = 120.0) -> tuple[int, str]:
    output, _ = process.communicate(timeout=timeout)
    return process.returncode, output


def sigkill(process: subprocess.Popen) -> None:
    os.kill(process.pid, signal.SIGKILL)
    process.communicate(timeout=30)


def wait_until(condition: Callable[[], object], what: str, timeout: float = 60.0,
               processes: tuple[subprocess.Popen, ...] = ()) -> object:
    """Poll ``condition`` (a state, never a guess at timing) until it holds; fail naming ``what``
    on timeout, or as soon as one of ``processes`` exits (with its output)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        for process in processes:
            if process.poll() is not None:
                pytest.fail(f"process exited ({process.returncode}) before {what}:\n{process.communicate()[0]}")
        time.sleep(0.05)
    pytest.fail(f"timed out after {timeout:g} s waiting until {what}")


def database_name(url: str) -> str:
    return psycopg.conninfo.conninfo_to_dict(url)["dbname"]


def sessions_waiting_for_a_lock(monitor: psycopg.Connection, database: str) -> list[int]:
    """Server process ids of the sessions on ``database`` blocked waiting for a lock."""
    return [r[0] for r in monitor.execute(
        "SELECT pid FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'", (database,))]


def other_sessions(monitor: psycopg.Connection, database: str) -> list[int]:
    """Server process ids of the client sessions on ``database`` other than ``monitor``'s."""
    return [r[0] for r in monitor.execute(
        "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid() "
        "AND backend_type = 'client backend'", (database,))]


@contextmanager
def markets_locked_against_writes(url: str) -> Iterator[psycopg.Connection]:
    """Hold SHARE MODE on markets: reads go on, a merge blocks at its first write to markets
    (after registering the new tickers) until the block ends."""
    with connect(url) as conn:
        conn.execute("LOCK TABLE markets IN SHARE MODE")
        yield conn
        conn.rollback()
