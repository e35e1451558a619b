"""Market facts the trading steps read from the warehouse."""

from __future__ import annotations

from decimal import Decimal

import psycopg


def fee_multiplier(conn: psycopg.Connection, ticker: str) -> Decimal | None:
    """The taker-fee multiplier of a market: its event's override, else its series' value."""
    row = conn.execute(
        "SELECT coalesce(e.fee_multiplier_override, s.fee_multiplier) FROM market_tickers t "
        "JOIN events e ON e.event_ticker = t.event_ticker JOIN series s ON s.ticker = e.series_ticker "
        "WHERE t.ticker = %s",
        (ticker,),
    ).fetchone()
    return row[0] if row else None


def held_side_bid(conn: psycopg.Connection, ticker: str, side: str) -> tuple[Decimal, Decimal]:
    """(bid, size) at which the held side can be sold now, from the current market version.

    A NO bid at p is a YES ask at 1 - p, so its size is the YES ask size.
    """
    row = conn.execute(
        "SELECT CASE %(side)s WHEN 'yes' THEN yes_bid ELSE no_bid END, "
        "CASE %(side)s WHEN 'yes' THEN yes_bid_size ELSE yes_ask_size END "
        "FROM markets WHERE ticker = %(ticker)s AND row_current_ind",
        {"side": side, "ticker": ticker},
    ).fetchone()
    if row is None:
        raise LookupError(f"market {ticker} has no current version")
    return row[0], row[1]


def paper_sold_since_quote(conn: psycopg.Connection, ticker: str, side: str) -> Decimal:
    """Contracts of ``side`` that paper exits sold on ``ticker`` since its current market version
    was recorded: what they took from that version's bid (the next version is a fresh quote)."""
    return conn.execute(
        "SELECT coalesce(sum(t.quantity), 0) FROM trades t JOIN markets m ON m.ticker = t.ticker AND m.row_current_ind "
        "WHERE t.ticker = %s AND t.side = %s AND t.purpose = 'exit' AND t.trading_mode = 'paper' "
        "AND t.executed_at >= m.row_start_ts",
        (ticker, side),
    ).fetchone()[0]


def market_status(conn: psycopg.Connection, ticker: str) -> str | None:
    """The current market version's status, or None when the warehouse has no version."""
    row = conn.execute("SELECT status FROM markets WHERE ticker = %s AND row_current_ind", (ticker,)).fetchone()
    return row[0] if row else None
