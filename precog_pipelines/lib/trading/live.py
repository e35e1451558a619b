"""Real orders on Kalshi (or the sandbox): immediate-or-cancel V2 orders on the YES book.

Kalshi's book is the YES book: buying YES bids, buying NO is selling YES at one minus the NO
price; selling reverses both. Every order carries a client order id derived from what it is
for, so a retried request never trades twice.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg

from precog_pipelines.lib.kalshi import Balance, KalshiClient
from precog_pipelines.lib.trading import ledger
from precog_pipelines.lib.trading.execution import ExitOrder
from precog_pipelines.lib.trading.money import ONE, price

# A "market" sell on the YES book is an IOC limit that crosses any bid.
WORST_PRICE = Decimal("0.01")


class PartialFill(RuntimeError):
    """The exchange filled part of an exit; the rest needs a person (the fills are recorded)."""


class KalshiExecutor:
    """Buys and sells through the exchange; quotes come from the exchange too, not the warehouse."""

    def __init__(self, client: KalshiClient, clock: Callable[[], datetime]) -> None:
        self._client = client
        self._clock = clock

    def _order(self, ticker: str, outcome_side: str, action: str, quantity: Decimal, our_price: Decimal,
               client_order_id: str) -> ledger.Fill | None:
        buying_yes_book = (outcome_side, action) in {("yes", "buy"), ("no", "sell")}
        yes_price = our_price if outcome_side == "yes" else ONE - our_price
        response = self._client.create_order(
            ticker=ticker, side="bid" if buying_yes_book else "ask", count=quantity, price=yes_price,
            time_in_force="immediate_or_cancel", client_order_id=client_order_id,
        )
        if response.fill_count <= 0:
            return None
        average_yes = response.average_fill_price or yes_price
        fill_price = price(average_yes if outcome_side == "yes" else ONE - average_yes)
        fee = ((response.average_fee_paid or Decimal(0)) * response.fill_count).quantize(Decimal("0.0001"))
        return ledger.Fill(fill_price, response.fill_count, fee, client_order_id, response.order_id, self._clock())

    def balance(self) -> Balance:
        return self._client.get_balance()

    def buy(self, conn: psycopg.Connection, edge: dict[str, Any], quantity: Decimal,
            client_order_id: str) -> ledger.Fill | None:
        return self._order(edge["ticker"], edge["side"], "buy", quantity, edge["execution_price"], client_order_id)

    def is_trading(self, conn: psycopg.Connection, position: dict[str, Any]) -> bool:
        return self._client.get_market(position["ticker"]).status == "active"

    def best_bid(self, conn: psycopg.Connection, position: dict[str, Any]) -> tuple[Decimal, Decimal]:
        market = self._client.get_market(position["ticker"])
        if position["side"] == "yes":
            return market.yes_bid, market.yes_bid_size
        return market.no_bid, market.yes_ask_size

    def sell(self, conn: psycopg.Connection, position: dict[str, Any], order: ExitOrder,
             client_order_id: str) -> ledger.Fill | None:
        limit = order.limit_price if order.order_type == "limit" else WORST_PRICE
        fill = self._order(position["ticker"], position["side"], "sell", position["quantity"], limit, client_order_id)
        if fill is not None and fill.quantity < position["quantity"]:
            raise PartialFill(f"exit of {position['position_key']} filled {fill.quantity} of {position['quantity']} "
                              f"contracts (order {fill.external_order_id}); reconcile the rest by hand")
        if fill is not None and order.order_type == "market":
            return ledger.Fill(fill.price, fill.quantity, fill.fee, fill.client_order_id, fill.external_order_id,
                               fill.executed_at, order_type="market")
        return fill
