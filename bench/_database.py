"""A throw-away, migrated database for a benchmark run."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from psycopg import sql

from precog_pipelines.lib.settings import precog_home
from precog_pipelines.lib.warehouse import migrations
from precog_pipelines.lib.warehouse.server import connect, start_embedded_server
from precog_pipelines.lib.warehouse.urls import with_database


@contextmanager
def bench_database(prefix: str) -> Iterator[str]:
    """Create, migrate, yield and finally drop a database on ``PRECOG_BENCH_DATABASE_URL``'s
    server (else ``PRECOG_DATABASE_URL``'s, else the embedded one)."""
    server_url = os.environ.get("PRECOG_BENCH_DATABASE_URL") or os.environ.get("PRECOG_DATABASE_URL")
    handle = None
    if not server_url:
        handle = start_embedded_server(Path(precog_home()))
        server_url = handle.get_uri()
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = with_database(server_url, "postgres")
    with connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = with_database(server_url, name)
    try:
        migrations.upgrade(url)
        yield url
    finally:
        with connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        if handle is not None:
            handle.cleanup()
