"""What the settlement sensor looks at: market versions with a result, on markets we hold."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from precog_pipelines.lib.trading.settlement import SETTLED_STATUSES


@dataclass(frozen=True)
class SettlementScan:
    tickers: list[str]
    high_water_mark: int


def markets_to_settle(conn: psycopg.Connection, after_version_id: int, limit: int) -> SettlementScan:
    """Tickers whose market versions after ``after_version_id`` show a result while positions on
    them are still open. The mark advances over every version looked at: a settled market with
    nothing open needs nothing, and positions never open on a market that has stopped trading."""
    versions = conn.execute(
        "SELECT id, ticker FROM markets WHERE id > %s AND status = ANY(%s) AND result <> '' ORDER BY id LIMIT %s",
        (after_version_id, list(SETTLED_STATUSES), limit),
    ).fetchall()
    if not versions:
        return SettlementScan([], after_version_id)
    return SettlementScan(held_tickers(conn, {ticker for _, ticker in versions}), versions[-1][0])


def held_tickers(conn: psycopg.Connection, tickers: set[str]) -> list[str]:
    """The given tickers on which some position is open, sorted."""
    rows = conn.execute(
        "SELECT DISTINCT ticker FROM positions WHERE row_current_ind AND status = 'open' AND ticker = ANY(%s) "
        "ORDER BY ticker", (sorted(tickers),),
    )
    return [row[0] for row in rows]


def unsettled_held_tickers(conn: psycopg.Connection) -> list[str]:
    """Tickers whose current market version shows a result while positions on them are still
    open: a settlement was due and has not happened (its run failed, or is still running)."""
    rows = conn.execute(
        "SELECT DISTINCT p.ticker FROM positions p JOIN markets m ON m.ticker = p.ticker AND m.row_current_ind "
        "WHERE p.row_current_ind AND p.status = 'open' AND m.status = ANY(%s) AND m.result <> '' ORDER BY p.ticker",
        (list(SETTLED_STATUSES),),
    )
    return [row[0] for row in rows]
