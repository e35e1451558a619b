"""Realized and unrealized profit and loss of a position, in dollars."""

from __future__ import annotations

from decimal import Decimal

from precog_pipelines.lib.trading.fees import taker_fee
from precog_pipelines.lib.trading.money import ONE


def entry_cost(quantity: Decimal, entry_price: Decimal, entry_fee: Decimal) -> Decimal:
    return quantity * entry_price + entry_fee


def exit_pnl(quantity: Decimal, entry_price: Decimal, entry_fee: Decimal, exit_price: Decimal,
             exit_fee: Decimal) -> Decimal:
    """Sold before settlement: proceeds less both fees less what was paid."""
    return quantity * exit_price - exit_fee - entry_cost(quantity, entry_price, entry_fee)


def settlement_payout_per_contract(side: str, settlement_value: Decimal) -> Decimal:
    """``settlement_value`` is what one YES contract pays; a NO contract pays the rest."""
    if side == "yes":
        return settlement_value
    if side == "no":
        return ONE - settlement_value
    raise ValueError(f"side {side!r} is not 'yes' or 'no'")


def settlement_pnl(side: str, quantity: Decimal, entry_price: Decimal, entry_fee: Decimal,
                   settlement_value: Decimal) -> Decimal:
    """Held to settlement: the payout (no fee at settlement) less what was paid."""
    return quantity * settlement_payout_per_contract(side, settlement_value) - entry_cost(
        quantity, entry_price, entry_fee)


def unrealized_pnl(quantity: Decimal, entry_price: Decimal, entry_fee: Decimal, mark_price: Decimal,
                   fee_multiplier: Decimal | None) -> Decimal:
    """What selling the whole position now at its mark (the bid of the side held) would book:
    :func:`exit_pnl` of a taker sale at the mark, so the entry fee paid and the taker fee the
    sale would pay are both counted, and a paper exit filled at the mark realizes exactly this."""
    return exit_pnl(quantity, entry_price, entry_fee, mark_price, taker_fee(quantity, mark_price, fee_multiplier))
