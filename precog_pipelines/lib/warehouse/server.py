"""Finding or starting the PostgreSQL server the product runs on.

``PRECOG_DATABASE_URL`` names any PostgreSQL 14+ server. Without it we start an embedded
server from the ``pgserver`` wheel under ``$PRECOG_HOME/pgdata``: the data survives between
starts, and it listens on a Unix socket only, so it never collides with a local server.
"""

from __future__ import annotations

import logging
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from precog_pipelines.lib.warehouse.urls import database_name, libpq_url, redacted, with_database

WAREHOUSE_DATABASE = "precog"
DAGSTER_DATABASE = "precog_dagster"
MINIMUM_SERVER_VERSION = 140000

log = logging.getLogger(__name__)


class WarehouseUnavailable(RuntimeError):
    """The PostgreSQL server cannot be reached or is not usable; the message says what to do."""


@dataclass
class WarehouseServer:
    """A reachable PostgreSQL server and the URLs of Precog's two databases on it."""

    warehouse_url: str
    dagster_url: str
    embedded: bool
    _handle: Any = field(default=None, repr=False)

    def stop(self) -> None:
        """Stop the embedded server if this process started it (no-op for external servers)."""
        if self._handle is not None:
            self._handle.cleanup()
            self._handle = None


def connect(url: str, **kwargs: Any) -> psycopg.Connection:
    """Open a psycopg connection, turning connection failures into one readable line."""
    try:
        return psycopg.connect(libpq_url(url), connect_timeout=10, **kwargs)
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise WarehouseUnavailable(
            f"PostgreSQL at {redacted(url)} did not answer ({reason}). "
            "Check PRECOG_DATABASE_URL, or unset it to use the embedded server."
        ) from None


def server_version(url: str) -> int:
    with connect(url) as conn:
        return conn.info.server_version


def ensure_database(server_url: str, name: str) -> str:
    """Create database ``name`` on the server if it is missing; return its URL."""
    with connect(with_database(server_url, "postgres"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            try:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            except psycopg.errors.DuplicateDatabase:
                pass  # another process created it between our check and our CREATE
    return with_database(server_url, name)


def start_embedded_server(home: Path, *, keep_running: bool = False) -> Any:
    """Start (or attach to) the pgserver instance under ``home/pgdata``.

    pgserver stops the server when the last process holding a handle exits, unless
    ``keep_running`` asks it to outlive us.
    """
    with warnings.catch_warnings():
        # pgserver asks platformdirs for a runtime folder at import; without XDG_RUNTIME_DIR (any
        # shell outside a desktop login) platformdirs warns and falls back to /tmp, which serves.
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
        import pgserver  # heavy import, and only needed when no URL is configured

    home.mkdir(parents=True, exist_ok=True)
    return pgserver.get_server(home / "pgdata", cleanup_mode=None if keep_running else "stop")


def resolve_server(
    home: Path, database_url: str | None = None, *, keep_running: bool = False
) -> WarehouseServer:
    """Return the configured server, or start the embedded one, with both databases present.

    With an explicit URL, its database is the warehouse and Dagster's storage goes to a
    sibling database on the same server (or to ``DAGSTER_PG_URL`` when that is set).
    Without one, both live on the embedded server.
    """
    database_url = database_url if database_url is not None else os.environ.get("PRECOG_DATABASE_URL")
    handle = None
    if database_url:
        version = server_version(database_url)
        warehouse_name = database_name(database_url)
        server_url = database_url
    else:
        handle = start_embedded_server(home, keep_running=keep_running)
        server_url = handle.get_uri()
        version = server_version(server_url)
        warehouse_name = WAREHOUSE_DATABASE
    if version < MINIMUM_SERVER_VERSION:
        raise WarehouseUnavailable(
            f"PostgreSQL at {redacted(server_url)} is version {version // 10000}; Precog needs 14 or newer."
        )
    warehouse_url = ensure_database(server_url, warehouse_name)
    dagster_url = os.environ.get("DAGSTER_PG_URL") or ensure_database(server_url, DAGSTER_DATABASE)
    return WarehouseServer(warehouse_url, dagster_url, embedded=handle is not None, _handle=handle)
