"""Rows that failed validation, kept with their payload and reason so the batch can load."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

import psycopg
from psycopg.types.json import Jsonb

from precog_pipelines.lib.wire_values import short_repr

T = TypeVar("T")

# The warehouse's CHECK on every Kalshi ticker column; checked here first so that one bad
# ticker is a reject instead of a failed batch.
KALSHI_TICKER = re.compile(r"^[A-Z0-9][A-Z0-9._-]*$")
MAX_REASON_CHARS = 500


@dataclass(frozen=True)
class Reject:
    business_key: str | None
    reason: str
    payload: Any


def _business_key(raw: Any, key_field: str) -> str | None:
    value = raw.get(key_field) if isinstance(raw, Mapping) else None
    return value[:200] if isinstance(value, str) else None


def parse_batch(
    raw_items: Iterable[Any],
    parse: Callable[[Any], T],
    key_field: str,
    errors: tuple[type[Exception], ...],
) -> tuple[list[T], list[Reject]]:
    """Parse every item; the ones ``parse`` refuses (with one of ``errors``) become rejects."""
    parsed: list[T] = []
    rejects: list[Reject] = []
    for raw in raw_items:
        try:
            parsed.append(parse(raw))
        except errors as exc:
            rejects.append(Reject(_business_key(raw, key_field), str(exc)[:MAX_REASON_CHARS], raw))
    return parsed, rejects


def accepted_payloads(payloads: Sequence[Any], rejects: Sequence[Reject], key_field: str) -> list[Any]:
    """The raw payloads of the rows that were loaded: those whose key was not rejected."""
    rejected = {r.business_key for r in rejects}
    return [p for p in payloads if not (isinstance(p, Mapping) and p.get(key_field) in rejected)]


def without_nul(value: Any) -> Any:
    """PostgreSQL text and jsonb cannot hold NUL; spell it out so the payload survives."""
    if isinstance(value, str):
        return value.replace("\x00", "\\u0000")
    if isinstance(value, Mapping):
        return {without_nul(k): without_nul(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [without_nul(v) for v in value]
    return value


def text_problem(field: str, value: Any) -> str | None:
    """Why a text value cannot be stored verbatim, or None when it can."""
    if isinstance(value, str) and "\x00" in value:
        return f"{field} {short_repr(value)} contains a NUL character, which PostgreSQL text cannot store"
    return None


@dataclass(frozen=True)
class NumericLimit:
    """A ``numeric(precision, scale)`` column: what it can hold without rounding or overflow,
    and, for a domain with a range (``price``), between which bounds."""

    precision: int
    scale: int
    minimum: Decimal | None = None
    maximum: Decimal | None = None

    def problem(self, field: str, value: Decimal) -> str | None:
        """Why ``value`` cannot be stored exactly in this column, or None when it can."""
        if not value.is_finite():
            return f"{field} {value} is not a finite number"
        whole_digits = self.precision - self.scale
        # adjusted() is the exponent of the leading digit: 123.4 -> 2, i.e. 3 digits before the point.
        if value != 0 and value.adjusted() >= whole_digits:
            return (f"{field} {value} overflows numeric({self.precision},{self.scale}): "
                    f"at most {whole_digits} digits before the decimal point")
        if value != value.quantize(Decimal(1).scaleb(-self.scale)):
            return (f"{field} {value} has more than {self.scale} decimal places; numeric({self.precision},"
                    f"{self.scale}) would round it")
        if self.minimum is not None and self.maximum is not None and not self.minimum <= value <= self.maximum:
            return f"{field} {value} is outside {self.minimum}..{self.maximum}"
        return None


# Domains over unconstrained numeric that refuse what their numeric(p, s) would round
# (sql/0063_exact_prices_and_finite_numbers.sql). information_schema reports no precision for
# their columns, so their limits are stated here; test_schema keeps this map equal to the schema's.
NUMERIC_DOMAINS = {"price": NumericLimit(10, 4, Decimal(0), Decimal(1))}


def numeric_limits(conn: psycopg.Connection, table: str) -> dict[str, NumericLimit]:
    """The ``numeric(p, s)`` and numeric-domain columns of ``table`` (in the search path) by name."""
    rows = conn.execute(
        "SELECT column_name, numeric_precision, numeric_scale, domain_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name = %s AND data_type = 'numeric'",
        (table,),
    ).fetchall()
    limits = {}
    for name, precision, scale, domain in rows:
        if domain in NUMERIC_DOMAINS:
            limits[name] = NUMERIC_DOMAINS[domain]
        elif precision is not None:
            limits[name] = NumericLimit(precision, scale)
    return limits


def record_rejects(
    conn: psycopg.Connection, source: str, entity: str, rejects: Sequence[Reject], run_id: str | None
) -> int:
    """Append ``rejects`` to ingestion_rejects in one COPY; return how many."""
    if not rejects:
        return 0
    with conn.cursor() as cursor, cursor.copy(
        "COPY ingestion_rejects (source, entity, business_key, reason, payload, run_id) FROM STDIN"
    ) as copy:
        for reject in rejects:
            copy.write_row((
                source, entity, without_nul(reject.business_key), without_nul(reject.reason),
                Jsonb(without_nul(reject.payload)), run_id,
            ))
    return len(rejects)
