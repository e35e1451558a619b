"""Store what the exchange says about the account, each list in one set-based statement.

Fills and settlements are append-only and idempotent: COPY into a staging table, then one
``INSERT ... ON CONFLICT DO NOTHING`` keyed by the exchange's own identity (the fill id; the
settled market), so a second read stores nothing twice. Orders and positions are SCD Type 2
merges (lib/warehouse/scd2_merge.py): a new version only when the exchange's numbers change;
positions the exchange no longer lists are retired (the list is complete for the account).

Everything runs in the caller's transaction: the asset commits once, after the whole list is
stored, so a run killed mid-write leaves the table as it was.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import psycopg
from psycopg import sql

from precog_pipelines.lib.kalshi.models import Fill, MarketPosition, Order, Settlement
from precog_pipelines.lib.trading.kill_points import kill_point
from precog_pipelines.lib.warehouse.bulk import column_list, copy_into_temp
from precog_pipelines.lib.warehouse.scd2_merge import MergeResult, merge_snapshot
from precog_pipelines.lib.warehouse.tables import (
    EXCHANGE_FILLS,
    EXCHANGE_ORDERS,
    EXCHANGE_POSITIONS,
    EXCHANGE_SETTLEMENTS,
)

FILL_COLUMNS = ("account_key", "fill_id", "order_id", "ticker", "outcome_side", "book_side", "count", "yes_price",
                "no_price", "is_taker", "fee_cost", "created_time")
SETTLEMENT_COLUMNS = ("account_key", "ticker", "event_ticker", "market_result", "yes_count", "no_count",
                      "yes_total_cost", "no_total_cost", "revenue", "value", "fee_cost", "settled_time")


def _append_new(conn: psycopg.Connection, table: str, columns: tuple[str, ...], rows: Iterable[tuple]) -> tuple[int, int]:
    """(staged, inserted): rows whose exchange identity is already stored are left alone."""
    staging = copy_into_temp(conn, table, columns, rows)
    # The crash test kills here: the batch is staged, the table not yet written.
    kill_point(f"portfolio_{table}_staged")
    inserted = conn.execute(
        sql.SQL("INSERT INTO {table} ({columns}) SELECT {columns} FROM {staging} ON CONFLICT DO NOTHING").format(
            table=sql.Identifier(table), columns=column_list(columns), staging=sql.Identifier(staging))
    ).rowcount
    kill_point(f"portfolio_{table}_written")
    staged = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(staging))).fetchone()[0]
    return staged, inserted


def store_fills(conn: psycopg.Connection, account_key: str, fills: Iterable[Fill]) -> tuple[int, int]:
    """Append the fills not stored yet; (fills read, fills new)."""
    return _append_new(conn, EXCHANGE_FILLS.name, FILL_COLUMNS, (
        (account_key, f.fill_id, f.order_id, f.ticker, f.outcome_side, f.book_side, f.count, f.yes_price,
         f.no_price, f.is_taker, f.fee_cost, f.created_time) for f in fills))


def store_settlements(conn: psycopg.Connection, account_key: str,
                      settlements: Iterable[Settlement]) -> tuple[int, int]:
    """Append the settled markets not stored yet; (settlements read, settlements new)."""
    return _append_new(conn, EXCHANGE_SETTLEMENTS.name, SETTLEMENT_COLUMNS, (
        (account_key, s.ticker, s.event_ticker, s.market_result, s.yes_count, s.no_count, s.yes_total_cost,
         s.no_total_cost, s.revenue, s.value, s.fee_cost, s.settled_time) for s in settlements))


def store_orders(conn: psycopg.Connection, account_key: str, orders: Iterable[Order],
                 observed_at: datetime) -> MergeResult:
    """Version the orders: a new version of each order whose status, fills or fees changed."""
    merged = merge_snapshot(conn, EXCHANGE_ORDERS, (
        (account_key, o.order_id, o.status, o.fill_count, o.remaining_count, o.taker_fill_cost, o.maker_fill_cost,
         o.taker_fees, o.maker_fees, o.client_order_id, o.ticker, o.outcome_side, o.book_side, o.type, o.yes_price,
         o.initial_count, o.created_time, o.last_update_time) for o in orders), observed_at)
    kill_point("portfolio_exchange_orders_written")
    return merged


def store_positions(conn: psycopg.Connection, account_key: str, positions: Iterable[MarketPosition],
                    observed_at: datetime) -> MergeResult:
    """Version the positions; the list is the account's whole set of unsettled positions, so a
    position it no longer holds is retired."""
    merged = merge_snapshot(
        conn, EXCHANGE_POSITIONS,
        ((account_key, p.ticker, p.position, p.market_exposure, p.realized_pnl, p.fees_paid, p.total_traded,
          p.last_updated_ts) for p in positions),
        observed_at,
        retire_missing_where=sql.SQL("t.account_key = %(account_key)s"),
        retire_params={"account_key": account_key},
    )
    kill_point("portfolio_exchange_positions_written")
    return merged
