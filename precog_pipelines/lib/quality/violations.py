"""What a data-quality rule found: how many rows or keys break it, with a few examples."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
import psycopg.rows
from psycopg import sql

SAMPLE_SIZE = 5


@dataclass(frozen=True)
class Violations:
    """How many keys or rows break a rule, with a few examples: the one result type of every
    data-quality rule (table invariants, market and game rules, Elo's)."""

    count: int
    samples: list[dict[str, Any]] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.count == 0

    @classmethod
    def of(cls, rows: Sequence[Mapping[str, Any]]) -> Violations:
        """Violations found in Python rather than SQL: all of ``rows``, the first few kept."""
        return cls(len(rows), [{k: _plain(v) for k, v in r.items()} for r in rows[:SAMPLE_SIZE]])


def find_violations(conn: psycopg.Connection, query: sql.Composable,
                    params: Mapping[str, Any] | None = None) -> Violations:
    """Run ``query`` (one row per violation, with ``%(name)s`` placeholders filled from
    ``params``) and keep its count and the first few rows."""
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cursor:
        rows = cursor.execute(
            sql.SQL("WITH v AS ({}) SELECT *, count(*) OVER () AS violations FROM v LIMIT {}").format(
                query, sql.Literal(SAMPLE_SIZE)), params
        ).fetchall()
    if not rows:
        return Violations(0)
    count = rows[0]["violations"]
    return Violations(count, [{k: _plain(v) for k, v in r.items() if k != "violations"} for r in rows])


def _plain(value: Any) -> Any:
    return value if isinstance(value, (str, int, bool)) or value is None else str(value)


