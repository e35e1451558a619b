"""Rows that failed validation, kept with their payload and reason so the batch can load."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import psycopg
from psycopg.types.json import Jsonb

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
        return f"{field} contains a NUL character, which PostgreSQL text cannot store"
    return None


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
