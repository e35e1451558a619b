"""Parsing the scalar values that our sources send: timestamps and fixed-point numbers.

Each parser raises ``ValueError`` with a short reason; the Kalshi and ESPN parsers turn that
into their own error naming the object, the field and the (shortened) value.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

# The wire formats of Kalshi's current contract (KALSHI_API.md section 4), defined once: the
# parser refuses what does not match, and the contract suite (lib/quality/gx_suites.py) checks
# the same patterns, so the two always agree on what a batch may hold.
TICKER_PATTERN = r"^[A-Z0-9][A-Z0-9._-]*$"
# A price in dollars: "0" to "1" with at most six decimals; no sign, exponent or spaces.
DOLLAR_PRICE_PATTERN = r"^(?:0(?:\.[0-9]{1,6})?|1(?:\.0{1,6})?)$"
# A contract count ("_fp"): whole or with at most two decimals; no sign, exponent or spaces.
COUNT_PATTERN = r"^[0-9]+(?:\.[0-9]{1,2})?$"
SIGNED_COUNT_PATTERN = r"^-?[0-9]+(?:\.[0-9]{1,2})?$"


def dollar_price(value: Any) -> Decimal:
    """A ``*_dollars`` price string (:data:`DOLLAR_PRICE_PATTERN`) as an exact Decimal."""
    if isinstance(value, str) and re.fullmatch(DOLLAR_PRICE_PATTERN, value):
        return Decimal(value)
    number = _wire_number(value, max_places=6)
    if not Decimal(0) <= number <= Decimal(1):
        raise ValueError("is outside 0..1 dollars")
    raise ValueError(_NOT_WIRE)


def contract_count(value: Any, *, signed: bool = False) -> Decimal:
    """A ``*_fp`` contract count string (:data:`COUNT_PATTERN`) as an exact Decimal."""
    if isinstance(value, str) and re.fullmatch(SIGNED_COUNT_PATTERN if signed else COUNT_PATTERN, value):
        return Decimal(value)
    if _wire_number(value, max_places=2) < 0 and not signed:
        raise ValueError("is negative")
    raise ValueError(_NOT_WIRE)


_NOT_WIRE = "is not in the wire format (a string of digits with an optional point: no sign, exponent or spaces)"


def _wire_number(value: Any, *, max_places: int) -> Decimal:
    """Why a value that missed its wire pattern is wrong, as precisely as possible: raises for
    a non-number or too many places, else returns the number for the caller's range check."""
    if not isinstance(value, str):
        raise ValueError("is not a numeric string")
    return fixed_point(value, max_places=max_places)


def utc_timestamp(value: Any) -> datetime | None:
    """An RFC 3339 / ISO 8601 string with an offset, as an aware UTC datetime.

    Go's zero time (``0001-01-01T00:00:00Z``), which Kalshi sends for unknown times, is None.
    """
    if not isinstance(value, str):
        raise ValueError("is not a timestamp string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("is not an RFC 3339 timestamp") from None
    if parsed.tzinfo is None:
        raise ValueError("has no UTC offset")
    if parsed.year == 1:
        return None
    return parsed.astimezone(UTC)


def fixed_point(value: Any, *, max_places: int) -> Decimal:
    """A finite decimal from a string or JSON number with at most ``max_places`` decimals."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError("is not a number or numeric string")
    try:
        number = Decimal(value.strip() if isinstance(value, str) else str(value))
    except InvalidOperation:
        raise ValueError("is not a number") from None
    if not number.is_finite():
        raise ValueError("is not a finite number")
    exponent = number.as_tuple().exponent
    assert isinstance(exponent, int)
    if exponent < -max_places:
        raise ValueError(f"has more than {max_places} decimal places")
    return number


def whole_number(value: Any) -> int:
    """An integer from a JSON integer or a string of digits (``"21"``); floats only if whole."""
    if isinstance(value, bool):
        raise ValueError("is not an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    raise ValueError("is not an integer")


def short_text(text: str, limit: int = 200) -> str:
    """``text`` cut to ``limit`` characters for an error message, saying how long it was."""
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} chars)"


def short_repr(value: Any, limit: int = 80) -> str:
    """The repr of a received value, cut for an error message (payload values can be huge)."""
    return short_text(repr(value), limit)
