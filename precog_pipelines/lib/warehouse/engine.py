"""SQLAlchemy engines on the warehouse, migrated before first use."""

from __future__ import annotations

import threading

from sqlalchemy import Engine, create_engine

from precog_pipelines.lib.warehouse import migrations
from precog_pipelines.lib.warehouse.urls import libpq_url, sqlalchemy_url

_migrated: set[str] = set()
_migrated_lock = threading.Lock()


def create_warehouse_engine(database_url: str, *, pool_size: int = 5) -> Engine:
    """An engine using psycopg 3, with connections checked before use and UTC sessions."""
    return create_engine(
        sqlalchemy_url(database_url),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        connect_args={"options": "-c timezone=UTC", "connect_timeout": 10},
    )


def ensure_migrated(database_url: str) -> None:
    """Apply pending migrations once per process and database (cheap when up to date)."""
    key = libpq_url(database_url)
    with _migrated_lock:
        if key in _migrated:
            return
        migrations.upgrade(database_url)
        _migrated.add(key)
