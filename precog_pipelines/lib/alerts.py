"""Alerts: one open row per fingerprint, counted on repeat; acknowledged and resolved by people.

Who is told is decided by the routing file (lib/alert_routing.py) and done by
lib/alert_delivery.deliver, after the row is committed."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

log = logging.getLogger(__name__)
MAX_MESSAGE_CHARS = 2000


@dataclass(frozen=True)
class Alert:
    id: int
    severity: str
    component: str
    message: str
    fingerprint: str
    occurrence_count: int
    is_new: bool
    details: dict[str, Any] | None = None


def fingerprint(*parts: str) -> str:
    """A stable identity for "the same problem": same parts, same fingerprint."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def raise_alert(conn: psycopg.Connection, severity: str, component: str, message: str, alert_fingerprint: str,
                details: dict[str, Any] | None = None) -> Alert:
    """Open an alert, or count one more occurrence of the open alert with this fingerprint."""
    row = conn.execute(
        "INSERT INTO alerts (severity, component, message, fingerprint, details) VALUES (%s, %s, %s, %s, %s) "
        "ON CONFLICT (fingerprint) WHERE resolved_at IS NULL DO UPDATE SET "
        "occurrence_count = alerts.occurrence_count + 1, last_seen_at = now(), message = EXCLUDED.message, "
        "details = EXCLUDED.details, severity = EXCLUDED.severity "
        "RETURNING id, occurrence_count, (xmax = 0)",
        (severity, component, message[:MAX_MESSAGE_CHARS], alert_fingerprint, Jsonb(details) if details else None),
    ).fetchone()
    return Alert(row[0], severity, component, message[:MAX_MESSAGE_CHARS], alert_fingerprint, row[1], row[2],
                 details or None)


def resolve_alert(conn: psycopg.Connection, alert_fingerprint: str) -> bool:
    """Close the open alert with this fingerprint (the problem is over); whether there was one.
    The next occurrence opens a new alert."""
    return conn.execute("UPDATE alerts SET resolved_at = now() WHERE fingerprint = %s AND resolved_at IS NULL",
                        (alert_fingerprint,)).rowcount > 0


class AlertNotFound(LookupError):
    """No alert has this id."""


def acknowledge_alert(conn: psycopg.Connection, alert_id: int, by: str) -> str:
    """Mark an open alert as seen by ``by`` (repeats are still counted, no longer sent); what
    happened: "acknowledged", "already acknowledged" or "resolved" (nothing to acknowledge)."""
    row = conn.execute("SELECT resolved_at IS NOT NULL, acknowledged_at IS NOT NULL FROM alerts WHERE id = %s "
                       "FOR UPDATE", (alert_id,)).fetchone()
    if row is None:
        raise AlertNotFound(f"no alert has id {alert_id} (see `precog alerts list`)")
    if row[0]:
        return "resolved"
    if row[1]:
        return "already acknowledged"
    conn.execute("UPDATE alerts SET acknowledged_at = now(), acknowledged_by = %s WHERE id = %s",
                 (by[:200] or "unknown", alert_id))
    return "acknowledged"


def resolve_alert_by_id(conn: psycopg.Connection, alert_id: int) -> bool:
    """Close an alert (the problem is over; its next occurrence opens a new one); False when it
    was already resolved."""
    row = conn.execute("SELECT resolved_at IS NOT NULL FROM alerts WHERE id = %s FOR UPDATE", (alert_id,)).fetchone()
    if row is None:
        raise AlertNotFound(f"no alert has id {alert_id} (see `precog alerts list`)")
    if row[0]:
        return False
    conn.execute("UPDATE alerts SET resolved_at = now() WHERE id = %s", (alert_id,))
    return True


@dataclass(frozen=True)
class AlertRow:
    id: int
    severity: str
    component: str
    message: str
    occurrence_count: int
    first_seen_at: Any
    last_seen_at: Any
    state: str  # open, acknowledged or resolved
    deliveries: str  # e.g. "log ok, webhook failed"


def list_alerts(conn: psycopg.Connection, open_only: bool = False, limit: int = 50) -> list[AlertRow]:
    """The newest alerts (by last occurrence) with their state and the last delivery on each channel."""
    rows = conn.execute(
        "SELECT a.id, a.severity, a.component, a.message, a.occurrence_count, a.first_seen_at, a.last_seen_at, "
        "CASE WHEN a.resolved_at IS NOT NULL THEN 'resolved' WHEN a.acknowledged_at IS NOT NULL "
        "THEN 'acknowledged' ELSE 'open' END, "
        "(SELECT string_agg(d.channel || ' ' || CASE d.state WHEN 'delivered' THEN 'ok' ELSE 'failed' END, ', ' "
        "ORDER BY d.channel) FROM (SELECT DISTINCT ON (channel) channel, state FROM alert_deliveries "
        "WHERE alert_id = a.id ORDER BY channel, id DESC) d) "
        "FROM alerts a WHERE (NOT %s OR a.resolved_at IS NULL) ORDER BY a.last_seen_at DESC, a.id DESC LIMIT %s",
        (open_only, limit)).fetchall()
    return [AlertRow(*row[:8], row[8] or "") for row in rows]
