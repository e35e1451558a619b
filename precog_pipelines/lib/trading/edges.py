"""The edge of buying one side of a binary market, net of the taker fee."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

from precog_pipelines.lib.trading.fees import taker_fee
from precog_pipelines.lib.trading.money import ONE, PRICE_QUANTUM, ZERO, check_price, price

PROBABILITY_QUANTUM = Decimal("0.00000001")


@dataclass(frozen=True)
class Quote:
    """Best prices of a market. A NO ask at p is the YES bid at 1 - p, so its size is the YES bid size."""

    yes_bid: Decimal
    yes_ask: Decimal
    no_bid: Decimal
    no_ask: Decimal
    yes_bid_size: Decimal
    yes_ask_size: Decimal


@dataclass(frozen=True)
class SideEdge:
    side: str
    model_probability: Decimal
    execution_price: Decimal
    available_size: Decimal
    fee_per_contract: Decimal
    edge: Decimal
    expected_value_per_dollar: Decimal


def fee_per_contract(contracts: Decimal, fill_price: Decimal, multiplier: Decimal | None) -> Decimal:
    """An order's rounded-up fee spread over its contracts, rounded up to price precision."""
    return (taker_fee(contracts, fill_price, multiplier) / contracts).quantize(PRICE_QUANTUM, rounding=ROUND_CEILING)


def side_edges(
    yes_probability: Decimal, quote: Quote, fee_multiplier: Decimal | None, order_contracts: Decimal
) -> list[SideEdge]:
    """Edges of buying YES at the YES ask and NO at the NO ask; sides with no resting size are skipped.

    The fee is the one an order of ``order_contracts`` (capped by the resting size) would pay.
    Edge is the expected value per contract: win probability minus price minus fee.
    """
    if not ZERO < yes_probability < ONE:
        raise ValueError(f"model probability {yes_probability} is outside (0, 1)")
    sides = (
        ("yes", yes_probability, quote.yes_ask, quote.yes_ask_size),
        ("no", ONE - yes_probability, quote.no_ask, quote.yes_bid_size),
    )
    edges = []
    for side, probability, ask, size in sides:
        check_price(f"{side}_ask", ask)
        # An empty book shows size 0 (and sentinel prices 0 or 1): nothing to buy.
        if size <= ZERO or not ZERO < ask < ONE:
            continue
        fee = fee_per_contract(min(order_contracts, size), ask, fee_multiplier)
        edge = price(probability - ask - fee)
        edges.append(SideEdge(
            side=side,
            model_probability=probability.quantize(PROBABILITY_QUANTUM),
            execution_price=ask,
            available_size=size,
            fee_per_contract=fee,
            edge=edge,
            expected_value_per_dollar=price(edge / (ask + fee)),
        ))
    return edges
