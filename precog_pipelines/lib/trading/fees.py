"""Kalshi's taker fee."""

from __future__ import annotations

from decimal import Decimal

from precog_pipelines.lib.trading.money import ONE, ZERO, check_price, up_to_cent

DEFAULT_FEE_MULTIPLIER = Decimal("0.07")


def taker_fee(contracts: Decimal, fill_price: Decimal, multiplier: Decimal | None = None) -> Decimal:
    """Fee of one order: multiplier x contracts x P x (1 - P), rounded up to the next cent.

    ``multiplier`` is the series' ``fee_multiplier``; 0.07 when the series does not say.
    """
    multiplier = DEFAULT_FEE_MULTIPLIER if multiplier is None else multiplier
    if contracts <= ZERO:
        raise ValueError(f"contracts {contracts} must be positive")
    if multiplier < ZERO:
        raise ValueError(f"fee multiplier {multiplier} must not be negative")
    check_price("fill price", fill_price)
    return up_to_cent(multiplier * contracts * fill_price * (ONE - fill_price))
