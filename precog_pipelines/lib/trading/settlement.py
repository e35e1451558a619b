"""Settling a market: record its result once, close the positions on it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg

from precog_pipelines.lib.trading import ledger

SETTLED_STATUSES = ("determined", "finalized")
_BINARY_VALUE = {"yes": Decimal("1"), "no": Decimal("0")}


class SettlementNotReady(ValueError):
    """The market has no result yet (or a scalar result without a value)."""


@dataclass(frozen=True)
class SettlementResult:
    ticker: str
    market_result: str
    settlement_value: Decimal
    recorded: bool
    positions: list[tuple[str, Decimal]]


def settle_market(conn: psycopg.Connection, ticker: str, accounts: dict[str, str], at: datetime,
                  exchange_settlement: dict[str, Any] | None = None) -> SettlementResult:
    """Settle ``ticker`` from its current market version (and the exchange's settlement record,
    when live). Idempotent: the settlement row is written once, open positions are closed once."""
    row = conn.execute(
        "SELECT status, result, settlement_value, settlement_ts, to_jsonb(m) FROM markets m "
        "WHERE ticker = %s AND row_current_ind", (ticker,),
    ).fetchone()
    if row is None:
        raise SettlementNotReady(f"market {ticker} is not in the warehouse")
    status, result, value, settled_at, market_json = row
    if status not in SETTLED_STATUSES or result == "":
        raise SettlementNotReady(f"market {ticker} is {status} with result {result!r}; nothing to settle yet")
    if value is None:
        if result not in _BINARY_VALUE:
            raise SettlementNotReady(f"market {ticker} has a {result} result but no settlement value")
        value = _BINARY_VALUE[result]
    # Kalshi's settlement records carry no id of their own; market and settlement time name one.
    external_id = None
    if exchange_settlement is not None and exchange_settlement.get("settled_time"):
        external_id = f"{ticker}@{exchange_settlement['settled_time']}"
    recorded = ledger.record_settlement(conn, ticker, result, value, settled_at or at, external_id,
                                        exchange_settlement or {"source": "market_history", "market": market_json})
    positions = ledger.settle_open_positions(conn, ticker, value, settled_at or at, accounts, at)
    return SettlementResult(ticker, result, value, recorded, positions)
