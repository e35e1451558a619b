"""One edges refresh: every active model version's edges, merged into the ``edges`` history.

The edges asset runs this on the live warehouse; a warehouse backtest runs the same code on
the market history as it stood at each moment (lib/backtest/point_in_time).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import psycopg
from psycopg import sql

from precog_pipelines.lib.elo.store import EloModel
from precog_pipelines.lib.trading.edge_snapshot import compute_edges
from precog_pipelines.lib.warehouse.scd2_merge import MergeResult, merge_snapshot
from precog_pipelines.lib.warehouse.tables import EDGES


@dataclass(frozen=True)
class EdgeRefresh:
    models: list[EloModel]
    markets: int
    rows: list[tuple]  # in EDGES.columns order
    skipped: Counter
    merged: MergeResult

    @property
    def edges(self) -> int:
        return len(self.rows)

    @property
    def positive(self) -> int:
        return sum(1 for row in self.rows if row[EDGES.columns.index("edge")] > 0)


def refresh_edges(conn: psycopg.Connection, models: Sequence[EloModel], now: datetime, order_contracts: Decimal,
                  run_id: str) -> EdgeRefresh:
    """Compute every model's edges and merge them in the caller's transaction.

    The snapshot is complete for the whole table: a current edge it lacks is retired, whether
    its market closed or its model version is no longer active.
    """
    rows: list[tuple] = []
    skipped: Counter = Counter()
    markets = 0
    for model in models:
        snapshot = compute_edges(conn, model, now, order_contracts, run_id)
        rows += snapshot.rows
        skipped += snapshot.skipped
        markets = snapshot.markets
    merged = merge_snapshot(conn, EDGES, rows, now, retire_missing_where=sql.SQL("true"))
    return EdgeRefresh(list(models), markets, rows, skipped, merged)
