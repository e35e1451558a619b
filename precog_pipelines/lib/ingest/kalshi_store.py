"""Storing Kalshi series, events and markets.

Series and events are plain reference rows, upserted. Markets are SCD Type 2 history,
merged from each snapshot (see :mod:`precog_pipelines.lib.warehouse.scd2_merge`). Every load is set-based:
one COPY into a staging table, then statements over the whole batch. Rows that cannot be
stored (bad ticker, NUL in a text field, unknown parent) become rejects; the rest loads.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from precog_pipelines.lib.ingest.pipeline import Ingestion, LoadResult
from precog_pipelines.lib.ingest.rejects import KALSHI_TICKER, NumericLimit, Reject, numeric_limits, text_problem
from precog_pipelines.lib.kalshi import KalshiParseError, parse_candle, parse_event, parse_market, parse_series
from precog_pipelines.lib.kalshi.candles import contract_view
from precog_pipelines.lib.warehouse.bulk import UpsertResult, column_list, copy_into_temp, upsert_staged
from precog_pipelines.lib.warehouse.scd2_merge import snapshot_delta, write_delta
from precog_pipelines.lib.warehouse.tables import MARKET_CANDLES, MARKETS

SERIES_COLUMNS = (
    "ticker", "title", "category", "frequency", "tags", "fee_type", "fee_multiplier",
    "settlement_sources", "last_updated_ts",
)
EVENT_COLUMNS = (
    "event_ticker", "series_ticker", "title", "sub_title", "mutually_exclusive",
    "collateral_return_type", "strike_date", "strike_period", "fee_type_override",
    "fee_multiplier_override", "last_updated_ts",
)
CANDLE_COLUMNS = (
    "ticker", "period_interval", "end_period_ts",
    "yes_bid_open", "yes_bid_low", "yes_bid_high", "yes_bid_close",
    "yes_ask_open", "yes_ask_low", "yes_ask_high", "yes_ask_close",
    "price_open", "price_low", "price_high", "price_close", "price_mean", "price_previous",
    "volume", "open_interest", "market_close_time", "market_result",
)
_JSON_COLUMNS = {"settlement_sources"}
_TICKER_COLUMNS = {"ticker", "event_ticker", "series_ticker"}


def _row(item: Any, columns: Sequence[str]) -> tuple:
    values = []
    for column in columns:
        value = getattr(item, column)
        values.append(Jsonb(value) if column in _JSON_COLUMNS and value is not None else value)
    return tuple(values)


def _storable(
    conn: psycopg.Connection, table: str, items: Sequence[Any], columns: Sequence[str], key: str
) -> tuple[list[Any], list[Reject]]:
    """Split ``items`` into rows ``table`` accepts and rejects naming field and value.

    Checked here, row by row, because the COPY that follows is all or nothing: one value the
    column cannot hold (a bad ticker, a NUL, a number past its numeric(p, s)) would fail the
    whole batch, and a number with too many decimals would be silently rounded.
    """
    limits = numeric_limits(conn, table)
    kept, rejects = [], []
    for item in items:
        problem = None
        for column in columns:
            problem = _value_problem(column, getattr(item, column), limits.get(column))
            if problem:
                break
        if problem:
            rejects.append(Reject(getattr(item, key), problem, _payload(item, columns)))
        else:
            kept.append(item)
    return kept, rejects


def _value_problem(column: str, value: Any, limit: NumericLimit | None) -> str | None:
    if column in _TICKER_COLUMNS and value is not None and not KALSHI_TICKER.match(value):
        return f"{column} {value[:80]!r} is not a Kalshi ticker (A-Z, 0-9, '.', '_', '-')"
    if limit is not None and isinstance(value, Decimal):
        return limit.problem(column, value)
    return text_problem(column, value)


def _payload(item: Any, columns: Sequence[str]) -> dict[str, Any]:
    return {column: _jsonable(getattr(item, column)) for column in columns}


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (str, int, float, bool, dict, list)) or value is None:
        return value
    return str(value)


def _not_loaded(column: str, value: str, parent_table: str) -> str:
    """Why a row whose parent is missing is refused (the same words for every load)."""
    return f"{column} {value!r} is not in {parent_table}; load it first"


def _reject_orphans(
    conn: psycopg.Connection, staging: str, key: str, parent_column: str, parent_table: str, parent_key: str,
) -> list[Reject]:
    """Remove staged rows whose parent is not in the warehouse; return them as rejects."""
    orphans = conn.execute(
        sql.SQL(
            "DELETE FROM {staging} s WHERE NOT EXISTS "
            "(SELECT 1 FROM {parent} p WHERE p.{parent_key} = s.{column}) RETURNING {key}, {column}"
        ).format(
            staging=sql.Identifier(staging), parent=sql.Identifier(parent_table),
            parent_key=sql.Identifier(parent_key), column=sql.Identifier(parent_column),
            key=sql.Identifier(key),
        )
    ).fetchall()
    return [
        Reject(row_key, _not_loaded(parent_column, parent, parent_table), {key: row_key, parent_column: parent})
        for row_key, parent in orphans
    ]


def upsert_series(conn: psycopg.Connection, series: Sequence[Any]) -> LoadResult:
    kept, rejects = _storable(conn, "series", series, SERIES_COLUMNS, "ticker")
    staging = copy_into_temp(conn, "series", SERIES_COLUMNS, (_row(s, SERIES_COLUMNS) for s in kept))
    written = upsert_staged(conn, "series", ("ticker",), SERIES_COLUMNS, staging)
    return LoadResult(written, rejects)


def upsert_events(conn: psycopg.Connection, events: Sequence[Any]) -> LoadResult:
    kept, rejects = _storable(conn, "events", events, EVENT_COLUMNS, "event_ticker")
    staging = copy_into_temp(conn, "events", EVENT_COLUMNS, (_row(e, EVENT_COLUMNS) for e in kept))
    rejects += _reject_orphans(conn, staging, "event_ticker", "series_ticker", "series", "ticker")
    written = upsert_staged(conn, "events", ("event_ticker",), EVENT_COLUMNS, staging)
    return LoadResult(written, rejects)


def merge_markets(conn: psycopg.Connection, markets: Sequence[Any], observed_at: datetime) -> LoadResult:
    """Version every market of the snapshot (one per ticker); new tickers are registered in market_tickers."""
    kept, rejects = _storable(conn, MARKETS.name, markets, MARKETS.columns, "ticker")
    delta = snapshot_delta(conn, MARKETS, [_row(m, MARKETS.columns) for m in kept], observed_at)
    # Only new and changed markets are checked and sent: an unchanged one has a stored version,
    # hence a stored ticker and event.
    sent = delta.rows
    known = _known_events(conn, {row[_EVENT_AT] for row in sent})
    rejects += [_unknown_event(row[_TICKER_AT], row[_EVENT_AT]) for row in sent if row[_EVENT_AT] not in known]
    delta = delta.dropping(lambda row: row[_EVENT_AT] not in known)
    # A key with a current version has its ticker registered already (the schema says so, sql/0144).
    conn.execute("INSERT INTO market_tickers (ticker, event_ticker) SELECT * FROM unnest(%s::text[], %s::text[]) "
                 "ON CONFLICT (ticker) DO NOTHING",
                 ([row[_TICKER_AT] for row in delta.new], [row[_EVENT_AT] for row in delta.new]))
    sent = delta.rows
    registered = _registered_elsewhere(conn, sent)
    rejects += [Reject(row[_TICKER_AT], f"event_ticker {row[_EVENT_AT]!r} is not {registered[row[_TICKER_AT]]!r}, "
                       "the event this ticker is registered with in market_tickers",
                       {"ticker": row[_TICKER_AT], "event_ticker": row[_EVENT_AT]})
                for row in sent if row[_TICKER_AT] in registered]
    delta = delta.dropping(lambda row: row[_TICKER_AT] in registered)
    written = write_delta(conn, MARKETS, delta, observed_at)
    return LoadResult(written, rejects)


_TICKER_AT, _EVENT_AT = MARKETS.columns.index("ticker"), MARKETS.columns.index("event_ticker")


def _known_events(conn: psycopg.Connection, event_tickers: set[str]) -> set[str]:
    """Those of ``event_tickers`` stored in events."""
    return {row[0] for row in conn.execute(
        "SELECT event_ticker FROM events WHERE event_ticker = ANY(%s)", (sorted(event_tickers),))}


def _registered_elsewhere(conn: psycopg.Connection, rows: Sequence[tuple]) -> dict[str, str]:
    """Ticker -> registered event, for the ``rows`` whose ticker market_tickers holds with another
    event: the check of a version's ticker and event (sql/0143, once per statement since sql/0144)
    would refuse them, and the whole snapshot with them."""
    return dict(conn.execute(
        "SELECT m.ticker, m.event_ticker FROM unnest(%s::text[], %s::text[]) AS s (ticker, event_ticker) "
        "JOIN market_tickers m ON m.ticker = s.ticker AND m.event_ticker <> s.event_ticker",
        ([row[_TICKER_AT] for row in rows], [row[_EVENT_AT] for row in rows])).fetchall())


def _unknown_event(ticker: str, event_ticker: str) -> Reject:
    return Reject(ticker, _not_loaded("event_ticker", event_ticker, "events"),
                  {"ticker": ticker, "event_ticker": event_ticker})


def insert_candles(conn: psycopg.Connection, candles: Sequence[Any]) -> LoadResult:
    """Append the candles not stored yet (keyed by ticker, period and end of period): a day
    backfilled twice stores each candle once. A candle's market is registered in market_tickers
    on the way; one whose event is unknown is refused, naming the event."""
    kept, rejects = _storable(conn, MARKET_CANDLES.name, candles, CANDLE_COLUMNS, "key")
    known_events = _known_events(conn, {c.event_ticker for c in kept})
    rejects += [Reject(c.key, _not_loaded("event_ticker", c.event_ticker, "events"), _payload(c, CANDLE_COLUMNS))
                for c in kept if c.event_ticker not in known_events]
    kept = [c for c in kept if c.event_ticker in known_events]
    markets = sorted({(c.ticker, c.event_ticker) for c in kept})
    conn.execute("INSERT INTO market_tickers (ticker, event_ticker) SELECT * FROM unnest(%s::text[], %s::text[]) "
                 "ON CONFLICT (ticker) DO NOTHING", ([m[0] for m in markets], [m[1] for m in markets]))
    staging = copy_into_temp(conn, MARKET_CANDLES.name, CANDLE_COLUMNS, (_row(c, CANDLE_COLUMNS) for c in kept))
    inserted = conn.execute(sql.SQL(
        "INSERT INTO {table} ({columns}) SELECT {columns} FROM {staging} "
        "ON CONFLICT (ticker, period_interval, end_period_ts) DO NOTHING").format(
            table=sql.Identifier(MARKET_CANDLES.name), columns=column_list(CANDLE_COLUMNS),
            staging=sql.Identifier(staging))).rowcount
    return LoadResult(UpsertResult(staged=len(kept), inserted=inserted, updated=0), rejects)


# The Kalshi sources, as the ingestion pipeline runs them (lib/ingest/pipeline.py).
SERIES_INGESTION = Ingestion(
    platform="kalshi", entity="series", suite="kalshi_series", key_field="ticker", parse=parse_series,
    parse_errors=(KalshiParseError,), store=lambda conn, series, _observed_at: upsert_series(conn, series))
EVENTS_INGESTION = Ingestion(
    platform="kalshi", entity="event", suite="kalshi_events", key_field="event_ticker", parse=parse_event,
    parse_errors=(KalshiParseError,), store=lambda conn, events, _observed_at: upsert_events(conn, events))
MARKETS_INGESTION = Ingestion(
    platform="kalshi", entity="market", suite="kalshi_markets", key_field="ticker", parse=parse_market,
    parse_errors=(KalshiParseError,), store=merge_markets)
CANDLES_INGESTION = Ingestion(
    platform="kalshi", entity="candle", suite="kalshi_candles", key_field="candle_key", parse=parse_candle,
    parse_errors=(KalshiParseError,), store=lambda conn, candles, _observed_at: insert_candles(conn, candles),
    contract_record=contract_view)
