"""Minimal valid rows for schema tests, inserted with plain SQL.

Each helper returns the new row's key and takes overrides, so a test states only the
one value it is probing.
"""

from __future__ import annotations

import functools
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import psycopg

NOW = datetime(2026, 9, 13, 17, 0, tzinfo=timezone.utc)


def insert(conn: psycopg.Connection, table: str, row: dict[str, Any], returning: str = "id") -> Any:
    columns = ", ".join(row)
    placeholders = ", ".join(["%s"] * len(row))
    return conn.execute(
        f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) RETURNING {returning}",
        list(row.values()),
    ).fetchone()[0]


def series(conn: psycopg.Connection, **overrides: Any) -> str:
    row = {"ticker": "KXNFLGAME", "title": "Pro Football Game", "category": "Sports",
           "fee_type": "quadratic", "fee_multiplier": Decimal("0.07")} | overrides
    return insert(conn, "series", row, returning="ticker")


def event(conn: psycopg.Connection, **overrides: Any) -> str:
    row = {"event_ticker": "KXNFLGAME-26SEP13DALNYG", "series_ticker": "KXNFLGAME",
           "title": "Dallas at New York G", "mutually_exclusive": True} | overrides
    return insert(conn, "events", row, returning="event_ticker")


def market_ticker(conn: psycopg.Connection, **overrides: Any) -> str:
    row = {"ticker": "KXNFLGAME-26SEP13DALNYG-DAL", "event_ticker": "KXNFLGAME-26SEP13DALNYG"} | overrides
    return insert(conn, "market_tickers", row, returning="ticker")


def market_version(conn: psycopg.Connection, **overrides: Any) -> int:
    row = {
        "ticker": "KXNFLGAME-26SEP13DALNYG-DAL", "event_ticker": "KXNFLGAME-26SEP13DALNYG",
        "market_type": "binary", "status": "active",
        "yes_bid": Decimal("0.5500"), "yes_ask": Decimal("0.5700"),
        "no_bid": Decimal("0.4300"), "no_ask": Decimal("0.4500"), "last_price": Decimal("0.5600"),
        "yes_bid_size": Decimal("100.00"), "yes_ask_size": Decimal("80.00"),
        "volume": Decimal("1000.00"), "volume_24h": Decimal("10.00"), "open_interest": Decimal("500.00"),
        "notional_value": Decimal("1.0000"),
        "open_time": NOW - timedelta(days=7), "close_time": NOW + timedelta(days=14),
        "row_start_ts": NOW,
    } | overrides
    return insert(conn, "markets", row)


def market(conn: psycopg.Connection) -> str:
    """Series, event, ticker and one current market version."""
    series(conn)
    event(conn)
    ticker = market_ticker(conn)
    market_version(conn)
    return ticker


def model_id(conn: psycopg.Connection) -> int:
    return conn.execute(
        "SELECT id FROM probability_models WHERE model_name = 'elo_nfl' AND model_version = '1.0'"
    ).fetchone()[0]


def strategy(conn: psycopg.Connection, **overrides: Any) -> int:
    row = {"strategy_name": "probe", "strategy_version": "1.0",
           "config": '{"min_edge": "0.03"}'} | overrides
    return insert(conn, "strategies", row)


def position(conn: psycopg.Connection, **overrides: Any) -> int:
    row = {
        "position_key": "pos-1", "strategy_id": overrides.pop("strategy_id", None) or strategy(conn),
        "ticker": "KXNFLGAME-26SEP13DALNYG-DAL", "side": "yes", "trading_mode": "paper",
        "status": "open", "quantity": Decimal("10.00"), "entry_price": Decimal("0.5700"),
        "opened_at": NOW, "row_start_ts": NOW,
    } | overrides
    return insert(conn, "positions", row)


def trade(conn: psycopg.Connection, position_id: int, **overrides: Any) -> int:
    strategy_id = conn.execute("SELECT strategy_id FROM positions WHERE id = %s", (position_id,)).fetchone()[0]
    row = {
        "position_key": "pos-1", "position_id": position_id, "strategy_id": strategy_id,
        "ticker": "KXNFLGAME-26SEP13DALNYG-DAL", "trading_mode": "paper", "purpose": "entry",
        "side": "yes", "action": "buy", "book_side": "bid", "order_type": "limit",
        "quantity": Decimal("10.00"), "price": Decimal("0.5700"), "fee": Decimal("0.1800"),
        "client_order_id": "order-1", "executed_at": NOW,
    } | overrides
    return insert(conn, "trades", row)


def team_id(conn: psycopg.Connection, code: str) -> int:
    return conn.execute(
        "SELECT id FROM teams WHERE league = 'nfl' AND team_code = %s", (code,)
    ).fetchone()[0]


def game(conn: psycopg.Connection, **overrides: Any) -> int:
    row = {"league": "nfl", "external_game_id": "401772001", "source": "espn", "season": 2026,
           "game_date": NOW.date(), "home_team_id": team_id(conn, "NYG"),
           "away_team_id": team_id(conn, "DAL")} | overrides
    return insert(conn, "games", row)


def game_state(conn: psycopg.Connection, **overrides: Any) -> int:
    row = {"external_game_id": "401772001", "state": "in", "status_name": "STATUS_IN_PROGRESS",
           "completed": False, "home_score": 7, "away_score": 3, "period": 2,
           "clock_seconds": Decimal("462.00"), "row_start_ts": NOW} | overrides
    return insert(conn, "game_states", row)


def edge(conn: psycopg.Connection, **overrides: Any) -> dict[str, Any]:
    """A current edge on the DAL market (creates the market and game when missing)."""
    from psycopg.rows import dict_row

    if conn.execute("SELECT 1 FROM market_tickers WHERE ticker = 'KXNFLGAME-26SEP13DALNYG-DAL'").fetchone() is None:
        market(conn)
    if conn.execute("SELECT 1 FROM games WHERE external_game_id = '401772001'").fetchone() is None:
        game(conn)
    row = {
        "ticker": "KXNFLGAME-26SEP13DALNYG-DAL", "side": "yes", "model_id": model_id(conn),
        "market_version_id": conn.execute("SELECT id FROM markets_current LIMIT 1").fetchone()[0],
        "game_id": conn.execute("SELECT id FROM games WHERE external_game_id = '401772001'").fetchone()[0],
        "team_id": team_id(conn, "DAL"), "model_probability": Decimal("0.65000000"),
        "execution_price": Decimal("0.5700"), "available_size": Decimal("80.00"),
        "fee_per_contract": Decimal("0.0173"), "edge": Decimal("0.0627"),
        "expected_value_per_dollar": Decimal("0.1068"), "calculation_run_id": "run-1", "row_start_ts": NOW,
    } | overrides
    edge_id = insert(conn, "edges", row)
    with conn.cursor(row_factory=dict_row) as cursor:
        return cursor.execute("SELECT * FROM edges WHERE id = %s", (edge_id,)).fetchone()


@functools.cache
def session_start() -> datetime:
    """A minute after its first call. The first call comes from a test that already has a
    warehouse, so the session's migrated template, and the rows it seeds (the paper account's
    initial balance), are older: positions opened from here on follow them."""
    return datetime.now(timezone.utc) + timedelta(minutes=1)


def paper_position(conn: psycopg.Connection, at: datetime) -> str:
    """A paper position of the default strategy on the DAL market: 40 contracts at 0.57,
    opened from a fresh edge at ``at`` (after the paper account's initial balance)."""
    from precog_pipelines.lib.trading import ledger
    from precog_pipelines.lib.trading.strategy import load_strategy

    fill = ledger.Fill(Decimal("0.57"), Decimal("40"), Decimal("0.69"), "o-1", None, at)
    key = ledger.open_position(conn, load_strategy(conn, name="default_paper"), edge(conn), fill, "paper",
                               ledger.PAPER_ACCOUNT, at)
    conn.commit()
    return key


def open_paper_position(url: str) -> str:
    """:func:`paper_position` opened now (real time: the jobs book at the time they run), on a
    market closing in 30 days so that only the price rules matter."""
    from precog_pipelines.lib.warehouse.scd2_merge import revise_current
    from precog_pipelines.lib.warehouse.server import connect

    with connect(url) as conn:
        key = paper_position(conn, datetime.now(timezone.utc))
        revise_current(conn, "markets", {"ticker": "KXNFLGAME-26SEP13DALNYG-DAL"},
                       {"close_time": datetime.now(timezone.utc) + timedelta(days=30)}, datetime.now(timezone.utc))
        conn.commit()
    return key


def requote(url: str, **changes: Any) -> None:
    """A new current version of the DAL market, now, with ``changes``."""
    from precog_pipelines.lib.warehouse.scd2_merge import revise_current
    from precog_pipelines.lib.warehouse.server import connect

    with connect(url) as conn:
        revise_current(conn, "markets", {"ticker": "KXNFLGAME-26SEP13DALNYG-DAL"}, changes, datetime.now(timezone.utc))
        conn.commit()
