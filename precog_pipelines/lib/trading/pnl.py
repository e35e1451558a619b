"""Realized and unrealized profit and loss of a position, in dollars."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

from precog_pipelines.lib.trading.fees import taker_fee
from precog_pipelines.lib.trading.money import ONE, PRICE_QUANTUM, ZERO


def entry_cost(quantity: Decimal, entry_price: Decimal, entry_fee: Decimal) -> Decimal:
    return quantity * entry_price + entry_fee


def exit_pnl(quantity: Decimal, entry_price: Decimal, entry_fee: Decimal, exit_price: Decimal,
             exit_fee: Decimal) -> Decimal:
    """Sold before settlement: proceeds less both fees less what was paid."""
    return quantity * exit_price - exit_fee - entry_cost(quantity, entry_price, entry_fee)


def entry_fee_share(entry_fee: Decimal, held: Decimal, sold: Decimal) -> Decimal:
    """The part of ``entry_fee`` (paid for ``held`` contracts) that ``sold`` of them carry:
    proportional, to the hundredth of a cent (entry fees are numeric(18,4)); selling all of them
    takes exactly what is left. The shares of successive partial exits (and the settlement of the rest) therefore add up to
    the entry fee paid, and the position's realized P&L to proceeds less all fees less cost."""
    if not ZERO < sold <= held:
        raise ValueError(f"sold quantity {sold} must be above 0 and at most the {held} contracts held")
    if sold == held:
        return entry_fee
    return (entry_fee * sold / held).quantize(PRICE_QUANTUM, rounding=ROUND_HALF_EVEN)


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
