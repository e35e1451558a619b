"""Parsing the scalar values that our sources send: timestamps and fixed-point numbers.

Each parser raises ``ValueError`` with a short reason; the Kalshi and ESPN parsers turn that
into their own error naming the object, the field and the (shortened) value.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any


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
