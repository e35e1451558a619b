"""Whether market data still flows: the newest market version against the markets still open."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg


@dataclass(frozen=True)
class MarketDataStall:
    """No new market version for ``stall_minutes`` while ``open_markets`` markets are open."""

    last_version_at: datetime | None
    open_markets: int
    stall_minutes: int

    @property
    def message(self) -> str:
        since = self.last_version_at.isoformat(timespec="seconds") if self.last_version_at else "ever"
        return (f"market data stalled: no new market version since {since} (over {self.stall_minutes} minutes) "
                f"while {self.open_markets} market(s) are open; check that Kalshi runs are not queued or failing")


def market_data_stall(conn: psycopg.Connection, now: datetime, stall_minutes: int) -> MarketDataStall | None:
    """The stall when no market version was stored in the last ``stall_minutes`` while some market
    is open (its current version active, between its open and close times), else None.

    A version is written only when a market changed, so a single quiet market can go minutes
    without one; across every open market of the series, over the default 30 minutes, silence
    means the ingestion stopped (a run wedged in the queue, runs failing, the exchange
    unreachable). Closed markets raise nothing: between games there is nothing to ingest."""
    last_version_at, open_markets = conn.execute(
        # The newest version is the one with the highest id (versions are only ever appended):
        # an index lookup, where max(row_start_ts) would scan the whole history every minute.
        "SELECT (SELECT row_start_ts FROM markets ORDER BY id DESC LIMIT 1), "
        "(SELECT count(*) FROM markets WHERE row_current_ind AND status = 'active' "
        "AND open_time <= %(now)s AND close_time > %(now)s)",
        {"now": now},
    ).fetchone()
    if not open_markets:
        return None
    if last_version_at is not None and last_version_at > now - timedelta(minutes=stall_minutes):
        return None
    return MarketDataStall(last_version_at, open_markets, stall_minutes)
