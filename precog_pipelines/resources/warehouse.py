"""The PostgreSQL warehouse as a Dagster resource."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import psycopg
from pydantic import Field, PrivateAttr
from sqlalchemy import Connection, Engine

from precog_pipelines.lib.warehouse.engine import create_warehouse_engine, ensure_migrated
from precog_pipelines.lib.warehouse.server import connect


class WarehouseResource(dg.ConfigurableResource):
    """Precog's PostgreSQL warehouse: an SQLAlchemy engine, migrated on first use."""

    database_url: str = Field(description="postgresql:// URL of the warehouse database.")
    pool_size: int = Field(default=5, description="Connections kept open per process.")

    _engine: Engine | None = PrivateAttr(default=None)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            ensure_migrated(self.database_url)
            self._engine = create_warehouse_engine(self.database_url, pool_size=self.pool_size)
        return self._engine

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A connection inside one transaction: committed on success, rolled back on error."""
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        """A dedicated psycopg connection (outside the pool), for work that manages its own
        transactions and session locks. psycopg semantics: committed on a clean exit, rolled
        back on an exception, then closed."""
        ensure_migrated(self.database_url)
        with connect(self.database_url) as conn:
            yield conn
