"""The PostgreSQL warehouse as a Dagster resource."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import psycopg
from pydantic import Field

from precog_pipelines.lib.warehouse.readiness import WarehouseNotMigrated, require_migrated
from precog_pipelines.lib.warehouse.server import connect


class WarehouseResource(dg.ConfigurableResource):
    """Precog's PostgreSQL warehouse. One connection model: a psycopg connection per unit of work,
    which commits on success and rolls back on an error. The warehouse must be migrated
    (`precog db upgrade`); a run against one with pending migrations fails saying so."""

    database_url: str = Field(description="postgresql:// URL of the warehouse database (PRECOG_DATABASE_URL).")

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        """A dedicated psycopg connection in one transaction: committed on a clean exit, rolled
        back on an exception, then closed. Work that needs several transactions or session locks
        commits on the connection itself."""
        try:
            require_migrated(self.database_url)
        except WarehouseNotMigrated as exc:
            raise dg.Failure(description=str(exc), allow_retries=False) from None
        with connect(self.database_url) as conn:
            yield conn
