"""What the ``edges`` table holds now, for people: how many current edges, how many positive, and
the best of them (the same shape whatever the run changed)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import psycopg

BEST_EDGE_COLUMNS = ["ticker", "side", "model_version", "model_probability", "price", "fee", "edge", "ev_per_dollar"]


@dataclass(frozen=True)
class CurrentEdges:
    count: int
    positive: int
    best_edge: Decimal | None
    best: list[dict[str, Any]]  # BEST_EDGE_COLUMNS, best first


def current_edges(conn: psycopg.Connection, limit: int = 10) -> CurrentEdges:
    """The current versions of ``edges``: counts, the best edge, and the ``limit`` best rows."""
    count, positive, best_edge = conn.execute(
        "SELECT count(*), count(*) FILTER (WHERE edge > 0), max(edge) FROM edges_current").fetchone()
    rows = conn.execute(
        "SELECT e.ticker, e.side, p.model_name || ':' || p.model_version, e.model_probability, e.execution_price, "
        "e.fee_per_contract, e.edge, e.expected_value_per_dollar FROM edges_current e "
        "JOIN probability_models p ON p.id = e.model_id ORDER BY e.edge DESC, e.ticker, e.side LIMIT %s",
        (limit,)).fetchall()
    return CurrentEdges(count=count, positive=positive, best_edge=best_edge,
                        best=[dict(zip(BEST_EDGE_COLUMNS, row, strict=True)) for row in rows])
