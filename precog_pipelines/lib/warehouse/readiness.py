"""Whether a warehouse is migrated: runs and sensor ticks use the warehouse, never change its schema.

Migrations are applied by `precog db upgrade` (and by `precog dev`, which runs it for you).
Anything else that finds pending migrations stops with one line saying which command to run.
"""

from __future__ import annotations

import threading

from precog_pipelines.lib.warehouse import migrations
from precog_pipelines.lib.warehouse.urls import libpq_url, redacted

_ready: set[str] = set()
_ready_lock = threading.Lock()


class WarehouseNotMigrated(RuntimeError):
    """The warehouse lacks migrations this code needs; the message says what to run."""


def require_migrated(database_url: str) -> None:
    """Raise :class:`WarehouseNotMigrated` when migrations are pending (checked once per process
    and database; cheap: one read of the ledger)."""
    key = libpq_url(database_url)
    with _ready_lock:
        if key in _ready:
            return
        pending = migrations.status(database_url).pending
        if pending:
            names = ", ".join(m.filename for m in pending[:3]) + (" ..." if len(pending) > 3 else "")
            raise WarehouseNotMigrated(
                f"the warehouse at {redacted(database_url)} has {len(pending)} pending migration(s) ({names}); "
                "run `precog db upgrade` (precog dev does it for you)")
        _ready.add(key)
