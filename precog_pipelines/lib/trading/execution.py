"""How an exit order walks the price when it does not fill."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from precog_pipelines.lib.trading.money import ZERO

TICK = Decimal("0.01")


@dataclass(frozen=True)
class ExitOrder:
    order_type: str  # 'limit' or 'market'
    limit_price: Decimal | None


def exit_order(attempt: int, bid: Decimal, limit_attempts: int, tick: Decimal = TICK) -> ExitOrder:
    """Attempt 1 sells at the bid, each next attempt one tick lower; after ``limit_attempts``
    limit orders, a market order."""
    if attempt < 1:
        raise ValueError(f"attempt {attempt} must be 1 or more")
    if attempt > limit_attempts:
        return ExitOrder("market", None)
    return ExitOrder("limit", max(tick, bid - tick * (attempt - 1)))


def paper_sell_fill(order: ExitOrder, bid: Decimal, bid_size: Decimal) -> Decimal | None:
    """Simulated fill price of a sell against the book, or None when it would not fill.

    A limit sells at the bid when the bid is at or above the limit; a market order sells
    at the bid whenever anyone is bidding.
    """
    if bid_size <= ZERO or bid <= ZERO:
        return None
    if order.order_type == "limit" and bid < order.limit_price:
        return None
    return bid
