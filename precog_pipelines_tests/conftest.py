"""Shared fixtures: a real PostgreSQL server, a freshly migrated database per test, and a
PostgreSQL-backed Dagster instance configured by the repository's own dagster.yaml.

``PRECOG_TEST_DATABASE_URL`` selects the server (CI points it at the local cluster);
without it the tests start the same embedded server the product uses.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from psycopg import sql

from precog_pipelines.lib.kalshi import KalshiClient, KalshiSettings
from precog_pipelines.lib.resilient_http import RetryPolicy
from precog_pipelines.lib.settings import repository_root
from precog_pipelines.lib.warehouse import migrations
from precog_pipelines.lib.warehouse.server import connect, start_embedded_server
from precog_pipelines.lib.warehouse.urls import libpq_url, with_database
from precog_pipelines.resources.warehouse import WarehouseResource
from precog_pipelines.sandbox import SandboxConfig, SandboxServer, write_private_key

# The team's shared reference material beside the checkout: tests and benchmarks may read it,
# the product never does (it ships what it reads, precog_pipelines/data/).
SHARED_DIR = repository_root().parent / "shared"
SHARED_NFL_DATA = SHARED_DIR / "data" / "nfl"
# The shipped history ends on 2025-09-29, in week 4 of the 2025 season.
LAST_SHIPPED_SEASON = 2025

# Fixtures of the fault and bad-input suite (faults/), and the local webhook receiver.
pytest_plugins = ["precog_pipelines_tests.support.faults", "precog_pipelines_tests.support.receivers"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Each end-to-end test starts a whole Dagster stack (webserver, daemon, code server, runs):
    # under pytest-xdist they run one at a time on one worker while the other takes the rest, so
    # two stacks never compete for the 2-core machine.
    for item in items:
        if "end_to_end" in item.path.parts:
            item.add_marker(pytest.mark.xdist_group("end_to_end"))


def unique_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def create_database(server_url: str, name: str, template: str | None = None) -> str:
    with connect(with_database(server_url, "postgres"), autocommit=True) as conn:
        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        conn.execute(statement)
    return with_database(server_url, name)


def drop_database(server_url: str, name: str) -> None:
    with connect(with_database(server_url, "postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@dataclass(frozen=True)
class ScratchDatabase:
    name: str
    url: str


@contextmanager
def scratch_database(server_url: str, prefix: str, template: str | None = None) -> Iterator[ScratchDatabase]:
    """A new database named ``prefix_<random>`` (a copy of ``template`` when given), dropped on exit."""
    name = unique_name(prefix)
    url = create_database(server_url, name, template=template)
    try:
        yield ScratchDatabase(name, url)
    finally:
        drop_database(server_url, name)


@pytest.fixture(scope="session")
def postgres_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a PostgreSQL server the tests may create databases on."""
    configured = os.environ.get("PRECOG_TEST_DATABASE_URL")
    if configured:
        yield libpq_url(configured)
        return
    handle = start_embedded_server(tmp_path_factory.mktemp("embedded_pg"))
    try:
        yield handle.get_uri()
    finally:
        handle.cleanup()


@pytest.fixture(scope="session")
def migrated_template(postgres_server_url: str) -> Iterator[str]:
    """A database migrated once per session, cloned for every test that needs a warehouse."""
    name = unique_name("precog_test_template")
    url = create_database(postgres_server_url, name)
    migrations.upgrade(url)
    yield name
    drop_database(postgres_server_url, name)


@pytest.fixture
def empty_database_url(postgres_server_url: str) -> Iterator[str]:
    """A brand-new database with no schema at all."""
    with scratch_database(postgres_server_url, "precog_test_empty") as database:
        yield database.url


@pytest.fixture
def warehouse_url(postgres_server_url: str, migrated_template: str) -> Iterator[str]:
    """A freshly migrated warehouse database private to one test."""
    with scratch_database(postgres_server_url, "precog_test", template=migrated_template) as database:
        yield database.url


@pytest.fixture
def db(warehouse_url: str) -> Iterator[psycopg.Connection]:
    """An autocommit psycopg connection to the test's warehouse, for direct SQL."""
    with connect(warehouse_url, autocommit=True) as conn:
        yield conn


@pytest.fixture
def warehouse(warehouse_url: str) -> WarehouseResource:
    return WarehouseResource(database_url=warehouse_url)


@contextmanager
def postgres_dagster_instance(server_url: str, home: Path, prefix: str) -> Iterator[dg.DagsterInstance]:
    """A Dagster instance in a new PostgreSQL database, configured by the repository's dagster.yaml."""
    name = unique_name(prefix)
    dagster_url = create_database(server_url, name)
    shutil.copyfile(repository_root() / "dagster.yaml", home / "dagster.yaml")
    previous = os.environ.get("DAGSTER_PG_URL")
    os.environ["DAGSTER_PG_URL"] = dagster_url
    instance = dg.DagsterInstance.from_config(str(home))
    try:
        yield instance
    finally:
        instance.dispose()
        if previous is None:
            os.environ.pop("DAGSTER_PG_URL", None)
        else:
            os.environ["DAGSTER_PG_URL"] = previous
        drop_database(server_url, name)


@pytest.fixture(scope="session")
def dagster_instance(
    postgres_server_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dg.DagsterInstance]:
    """A Dagster instance on PostgreSQL shared by the session's tests."""
    with postgres_dagster_instance(postgres_server_url, tmp_path_factory.mktemp("dagster_home"),
                                   "precog_test_dagster") as instance:
        yield instance


# ---- Kalshi / ESPN sandbox (precog_pipelines.sandbox) --------------------------------------

SANDBOX_START = datetime(2025, 11, 9, 17, 0, tzinfo=UTC)  # a Sunday, noon US-Eastern


@dataclass(frozen=True)
class KalshiTestKey:
    """A fresh RSA key pair for the session, written as both PEM flavours Kalshi hands out."""

    key_id: str
    private_key_path: Path  # PKCS#8 ("BEGIN PRIVATE KEY")
    pkcs1_private_key_path: Path  # PKCS#1 ("BEGIN RSA PRIVATE KEY")
    public_key: rsa.RSAPublicKey


@pytest.fixture(scope="session")
def kalshi_key(tmp_path_factory: pytest.TempPathFactory) -> KalshiTestKey:
    directory = tmp_path_factory.mktemp("kalshi_key")
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return KalshiTestKey(
        key_id=f"test-{uuid.uuid4()}",
        private_key_path=write_private_key(directory / "pkcs8.pem", private_key),
        pkcs1_private_key_path=write_private_key(directory / "pkcs1.pem", private_key, pkcs1=True),
        public_key=private_key.public_key(),
    )


@pytest.fixture
def sandbox(kalshi_key: KalshiTestKey) -> Iterator[SandboxServer]:
    """A sandbox on a free port with a frozen clock at SANDBOX_START (move it with
    ``sandbox.advance(seconds)``), the session key registered, and the Basic-tier bucket on."""
    config = SandboxConfig(start=SANDBOX_START, speed=0, api_keys={kalshi_key.key_id: kalshi_key.public_key})
    with SandboxServer(config) as server:
        yield server


@pytest.fixture
def fast_retries() -> RetryPolicy:
    """The production retry shape with millisecond waits, so fault tests run fast."""
    return RetryPolicy(max_attempts=6, max_total_seconds=20, initial_backoff_seconds=0.01,
                       max_backoff_seconds=0.05, jitter_seconds=0.01)


@pytest.fixture
def kalshi_settings(sandbox: SandboxServer, kalshi_key: KalshiTestKey) -> KalshiSettings:
    return KalshiSettings(base_url=sandbox.kalshi_base_url, api_key_id=kalshi_key.key_id,
                          private_key_path=kalshi_key.private_key_path, timeout_seconds=5)


@pytest.fixture
def kalshi_client(kalshi_settings: KalshiSettings, fast_retries: RetryPolicy) -> Iterator[KalshiClient]:
    with KalshiClient(kalshi_settings, retry_policy=fast_retries) as client:
        yield client


@pytest.fixture
def sandbox_environ(sandbox: SandboxServer, kalshi_key: KalshiTestKey, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Points the ``KALSHI_*`` / ``ESPN_API_BASE_URL`` variables (what dg.EnvVar-bound resources
    and the CLI read) at the sandbox for one test; returns them for subprocesses."""
    variables = sandbox.environment() | {
        "KALSHI_ENV": "demo",
        "KALSHI_API_KEY_ID": kalshi_key.key_id,
        "KALSHI_PRIVATE_KEY_PATH": str(kalshi_key.private_key_path),
    }
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    return variables


# ---- Elo history ------------------------------------------------------------------------------

@dataclass(frozen=True)
class EloHistory:
    database: str
    url: str
    result: dg.ExecuteInProcessResult


@pytest.fixture(scope="session")
def elo_history(postgres_server_url: str, migrated_template: str, dagster_instance: dg.DagsterInstance
                ) -> Iterator[EloHistory]:
    """A warehouse holding the whole shipped history (1920 to 2025-09-29), rated by one
    single-run backfill through Dagster; tests clone it (``rated_warehouse_url``) rather than change it."""
    from precog_pipelines_tests.support.elo import materialize_seasons  # imports this module

    with scratch_database(postgres_server_url, "precog_test_elo_full", template=migrated_template) as database:
        yield EloHistory(database.name, database.url,
                         materialize_seasons(database.url, dagster_instance, 1920, LAST_SHIPPED_SEASON))


@pytest.fixture
def rated_warehouse_url(postgres_server_url: str, elo_history: EloHistory) -> Iterator[str]:
    """A private copy of the warehouse rated through the shipped history."""
    with scratch_database(postgres_server_url, "precog_test_rated", template=elo_history.database) as database:
        yield database.url


@pytest.fixture
def private_dagster_instance(postgres_server_url: str, tmp_path: Path) -> Iterator[dg.DagsterInstance]:
    """A Dagster instance of its own, on PostgreSQL, for tests that read the instance's history
    (automation decisions) and must not see other tests' runs."""
    with postgres_dagster_instance(postgres_server_url, tmp_path, "precog_test_dagster_private") as instance:
        yield instance


def paper_resources(warehouse_url: str) -> dict:
    """The trading resources on a test warehouse with no exchange behind them: paper trading,
    default alerting (jobs and sensors that book from the warehouse alone)."""
    from precog_pipelines.resources.sources import KalshiResource
    from precog_pipelines.resources.trading import AlertingResource, TradingResource

    kalshi = KalshiResource()
    return {"warehouse": WarehouseResource(database_url=warehouse_url), "trading": TradingResource(kalshi=kalshi),
            "alerting": AlertingResource(), "kalshi": kalshi}


def sandbox_resources(warehouse_url: str, sandbox: SandboxServer, key: KalshiTestKey, *,
                      kalshi_options: Mapping[str, object] | None = None, **trading: str) -> dict:
    """Every resource the assets, jobs and sensors need, on a test warehouse and the sandbox, with
    millisecond retries so that injected faults cost no time. ``kalshi_options`` adds or overrides
    KalshiResource settings."""
    from precog_pipelines.resources.sources import EspnResource, KalshiResource
    from precog_pipelines.resources.trading import AlertingResource, TradingResource

    fast = {"retry_initial_backoff_seconds": 0.01, "retry_max_total_seconds": 10.0}
    kalshi = KalshiResource(base_url=sandbox.kalshi_base_url, api_key_id=key.key_id,
                            private_key_path=str(key.private_key_path), **fast | dict(kalshi_options or {}))
    return {
        "warehouse": WarehouseResource(database_url=warehouse_url),
        "kalshi": kalshi,
        "espn": EspnResource(base_url=sandbox.espn_base_url, **fast),
        "trading": TradingResource(kalshi=kalshi, **trading),
        "alerting": AlertingResource(),
    }
