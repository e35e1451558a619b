"""The kill switch: halting and resuming new entries, as append-only events.

The trading state is the latest ``trading_halts`` row: halted from a ``halt`` until the next
``resume``. A person halts (`precog trading halt`) and resumes; circuit breakers halt on their
own (reconciliation mismatches, repeated order errors, the daily loss limit, stale market data)
and only a person resumes. While halted no entry order is sent; exits and settlements go on
unless the halt says ``blocks_exits``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from precog_pipelines.lib import alerts

HALT_SOURCES = ("manual", "reconciliation", "order_errors", "daily_loss", "stale_market_data")
ALERT_COMPONENT = "trading"
# One open alert for "trading is halted", resolved by the resume: a second halt while halted
# (a person overriding a breaker's reason) counts as another occurrence of the same alert.
HALT_FINGERPRINT = alerts.fingerprint(ALERT_COMPONENT, "halted")


@dataclass(frozen=True)
class TradingState:
    """Whether entries (and exits) may be sent, and why not."""

    halted: bool
    reason: str | None = None
    source: str | None = None
    blocks_exits: bool = False
    since: datetime | None = None
    actor: str | None = None

    @property
    def entries_allowed(self) -> bool:
        return not self.halted

    @property
    def exits_allowed(self) -> bool:
        return not (self.halted and self.blocks_exits)

    def describe(self) -> str:
        """``halted: <reason>`` (what sensors and skip reasons say), or ``trading``."""
        return f"halted: {self.reason}" if self.halted else "trading"


def trading_state(conn: psycopg.Connection) -> TradingState:
    """The state the latest event left trading in."""
    row = conn.execute(
        "SELECT action, reason, source, blocks_exits, created_at, actor FROM trading_halts ORDER BY id DESC LIMIT 1"
    ).fetchone()
    if row is None or row[0] == "resume":
        return TradingState(halted=False, since=row[4] if row else None, actor=row[5] if row else None)
    return TradingState(True, row[1], row[2], row[3], row[4], row[5])


def halt_trading(conn: psycopg.Connection, reason: str, source: str, actor: str, *, blocks_exits: bool = False,
                 details: dict[str, Any] | None = None) -> TradingState:
    """Record a halt (in the caller's transaction) and raise a critical alert. An automatic
    breaker that finds trading already halted adds nothing: the first reason stands until a
    person resumes."""
    if source not in HALT_SOURCES:
        raise ValueError(f"halt source {source!r} is not one of {', '.join(HALT_SOURCES)}")
    if not reason.strip():
        raise ValueError("a halt needs a reason")
    conn.execute("SELECT pg_advisory_xact_lock(hashtextextended('precog.trading_halts', 0))")
    state = trading_state(conn)
    if state.halted and source != "manual":
        return state
    conn.execute(
        "INSERT INTO trading_halts (action, reason, source, blocks_exits, actor, details) "
        "VALUES ('halt', %s, %s, %s, %s, %s)",
        (reason.strip(), source, blocks_exits, actor, Jsonb(details) if details else None))
    state = trading_state(conn)
    alerts.raise_alert(
        conn, "critical", ALERT_COMPONENT,
        f"trading halted ({source}, by {actor}): {state.reason}"
        + ("; exits are blocked too" if blocks_exits else "; exits go on"),
        HALT_FINGERPRINT, {"source": source, "actor": actor, "blocks_exits": blocks_exits} | (details or {}))
    return state


def resume_trading(conn: psycopg.Connection, actor: str, reason: str = "resumed by hand") -> TradingState:
    """Record a resume (in the caller's transaction) and resolve the halt's alert; resuming
    while trading adds nothing."""
    conn.execute("SELECT pg_advisory_xact_lock(hashtextextended('precog.trading_halts', 0))")
    if not trading_state(conn).halted:
        return trading_state(conn)
    conn.execute("INSERT INTO trading_halts (action, reason, source, actor) VALUES ('resume', %s, 'manual', %s)",
                 (reason.strip() or "resumed by hand", actor))
    alerts.resolve_alert(conn, HALT_FINGERPRINT)
    return trading_state(conn)
