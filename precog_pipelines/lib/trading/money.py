"""Decimal conventions shared by every trading calculation."""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal

CENT = Decimal("0.01")
PRICE_QUANTUM = Decimal("0.0001")
CONTRACT_QUANTUM = Decimal("0.01")
ZERO = Decimal("0")
ONE = Decimal("1")


def price(value: Decimal) -> Decimal:
    """Round to the warehouse's NUMERIC(10,4) price precision."""
    return value.quantize(PRICE_QUANTUM, rounding=ROUND_HALF_EVEN)


def up_to_cent(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_CEILING)


def down_to_contracts(value: Decimal) -> Decimal:
    """Contracts are traded in hundredths; never round a size up past what we can pay for."""
    return value.quantize(CONTRACT_QUANTUM, rounding=ROUND_FLOOR)


def contract_count(quantity: Decimal) -> str:
    """A contract count without trailing zeros, as run keys, tags and tables show it: 100, 60, 12.5."""
    return f"{quantity.normalize():f}"


def check_price(name: str, value: Decimal) -> Decimal:
    if not isinstance(value, Decimal):
        raise TypeError(f"{name} must be a Decimal, got {type(value).__name__} {value!r}")
    if not ZERO <= value <= ONE:
        raise ValueError(f"{name} {value} is outside 0..1")
    return value
