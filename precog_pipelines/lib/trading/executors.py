"""What buys and sells: one protocol, and its two implementations.

:class:`PaperExecutor` simulates fills at the warehouse's current market (what the latest
snapshot shows); :class:`KalshiExecutor` sends real immediate-or-cancel V2 orders on the YES
book of Kalshi (or the sandbox). Kalshi's book is the YES book: buying YES bids, buying NO is
selling YES at one minus the NO price; selling reverses both. Every order carries a client
order id derived from what it is for, so a retried request never trades twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

import psycopg

from precog_pipelines.lib.kalshi import KalshiClient
from precog_pipelines.lib.trading import ledger
from precog_pipelines.lib.trading.execution import ExitOrder, paper_sell_fill
from precog_pipelines.lib.trading.fees import taker_fee
from precog_pipelines.lib.trading.market_data import fee_multiplier, held_side_bid, market_status, paper_sold_since_quote
from precog_pipelines.lib.trading.money import ONE, price


@dataclass(frozen=True)
class OrderLookup:
    """What the exchange knows of one client order id: whether the order exists, and its fill
    (None when it filled nothing)."""

    found: bool
    fill: ledger.Fill | None = None


NOT_FOUND = OrderLookup(False)


class OrderExecutor(Protocol):
    """Sends (or simulates) orders for a position's side and reports the fills."""

    def sync_balance(self, conn: psycopg.Connection, account: str, now: datetime) -> None:
        """Record the account's cash as the exchange reports it, before spending from it."""

    def buy(self, conn: psycopg.Connection, edge: dict[str, Any], quantity: Decimal,
            client_order_id: str) -> ledger.Fill | None:
        """Execute immediately or cancel; None when nothing filled."""

    def is_trading(self, conn: psycopg.Connection, position: dict[str, Any]) -> bool:
        """Whether the position's market still accepts orders."""

    def best_bid(self, conn: psycopg.Connection, position: dict[str, Any]) -> tuple[Decimal, Decimal]:
        """(bid price, bid size) of the side the position holds."""

    def sell(self, conn: psycopg.Connection, position: dict[str, Any], order: ExitOrder,
             client_order_id: str) -> ledger.Fill | None:
        """Execute immediately or cancel; None when nothing filled."""

    def find_order(self, conn: psycopg.Connection, ticker: str, outcome_side: str,
                   client_order_id: str) -> OrderLookup:
        """What happened to the order sent with ``client_order_id`` (never sends one)."""


class PaperExecutor:
    """Simulated fills at the warehouse's current market: what the latest snapshot shows."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self._clock = clock

    def sync_balance(self, conn: psycopg.Connection, account: str, now: datetime) -> None:
        """Paper cash is the ledger's own: nothing to sync."""

    def buy(self, conn: psycopg.Connection, edge: dict[str, Any], quantity: Decimal,
            client_order_id: str) -> ledger.Fill | None:
        """Fill at the edge's ask: the current market version's (stale edges are never bought)."""
        price = edge["execution_price"]
        fee = taker_fee(quantity, price, fee_multiplier(conn, edge["ticker"]))
        return ledger.Fill(price, quantity, fee, client_order_id, None, self._clock())

    def is_trading(self, conn: psycopg.Connection, position: dict[str, Any]) -> bool:
        return market_status(conn, position["ticker"]) == "active"

    def best_bid(self, conn: psycopg.Connection, position: dict[str, Any]) -> tuple[Decimal, Decimal]:
        return held_side_bid(conn, position["ticker"], position["side"])

    def sell(self, conn: psycopg.Connection, position: dict[str, Any], order: ExitOrder,
             client_order_id: str) -> ledger.Fill | None:
        """Fill against the current market version's bid, at most its size less what paper exits
        already sold into that version (a quote's size is taken once): part of the position when
        the bid is thinner than the position."""
        bid, size = self.best_bid(conn, position)
        size -= paper_sold_since_quote(conn, position["ticker"], position["side"])
        price = paper_sell_fill(order, bid, size)
        if price is None:
            return None
        quantity = min(position["quantity"], size)
        fee = taker_fee(quantity, price, fee_multiplier(conn, position["ticker"]))
        return ledger.Fill(price, quantity, fee, client_order_id, None, self._clock(), order_type=order.order_type)

    def find_order(self, conn: psycopg.Connection, ticker: str, outcome_side: str,
                   client_order_id: str) -> OrderLookup:
        """A paper order exists only in the process that simulated it: one whose outcome was never
        stored traded nothing (the ledger is the paper account's whole truth)."""
        return NOT_FOUND


# A "market" sell on the YES book is an IOC limit that crosses any bid.
WORST_PRICE = Decimal("0.01")


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

    def find_order(self, conn: psycopg.Connection, ticker: str, outcome_side: str,
                   client_order_id: str) -> OrderLookup:
        """The exchange's order with this client order id (signed GET /portfolio/orders for the
        ticker; Kalshi has no lookup by client id), and what it filled: its fill cost and fees
        are the exchange's totals; the average YES price becomes the held side's price."""
        for order in self._client.iter_orders(ticker=ticker):
            if order.client_order_id != client_order_id:
                continue
            if order.fill_count <= 0:
                return OrderLookup(True)
            # The same reading as the create response's average_fill_price (YES-book dollars),
            # as KalshiClient reads an order met again after a 409.
            average_yes = (order.taker_fill_cost + order.maker_fill_cost) / order.fill_count
            fill_price = price(average_yes if outcome_side == "yes" else ONE - average_yes)
            fee = (order.taker_fees + order.maker_fees).quantize(Decimal("0.0001"))
            return OrderLookup(True, ledger.Fill(fill_price, order.fill_count, fee, client_order_id, order.order_id,
                                                 order.last_update_time or self._clock()))
        return NOT_FOUND

    def sync_balance(self, conn: psycopg.Connection, account: str, now: datetime) -> None:
        """Live cash comes from the exchange (a signed GET /portfolio/balance)."""
        exchange = self._client.get_balance()
        ledger.record_balance(conn, account, "live", exchange.balance, exchange.portfolio_value, now)

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
        # A partial fill (the bid was thinner than the position) is returned as it is: the exit
        # flow books the contracts sold and sells the rest with its next orders.
        if fill is not None and order.order_type == "market":
            return ledger.Fill(fill.price, fill.quantity, fill.fee, fill.client_order_id, fill.external_order_id,
                               fill.executed_at, order_type="market")
        return fill
