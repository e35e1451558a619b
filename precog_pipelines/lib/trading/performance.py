"""How a strategy has done so far."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import psycopg


@dataclass(frozen=True)
class StrategySummary:
    open_positions: int
    closed_positions: int
    realized_pnl: Decimal


def strategy_summary(conn: psycopg.Connection, strategy_id: int) -> StrategySummary:
    """Open and closed position counts and the realized P&L of every closed or settled position."""
    row = conn.execute(
        "SELECT count(*) FILTER (WHERE status = 'open'), count(*) FILTER (WHERE status <> 'open'), "
        "coalesce(sum(realized_pnl), 0) FROM positions WHERE strategy_id = %s AND row_current_ind",
        (strategy_id,),
    ).fetchone()
    return StrategySummary(row[0], row[1], row[2])
