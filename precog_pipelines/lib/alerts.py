"""Alerts: one open row per fingerprint, counted on repeat, optionally posted to a webhook."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Any

import psycopg
import requests
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
    return Alert(row[0], severity, component, message[:MAX_MESSAGE_CHARS], alert_fingerprint, row[1], row[2])


def resolve_alert(conn: psycopg.Connection, alert_fingerprint: str) -> bool:
    """Close the open alert with this fingerprint (the problem is over); whether there was one.
    The next occurrence opens a new alert."""
    return conn.execute("UPDATE alerts SET resolved_at = now() WHERE fingerprint = %s AND resolved_at IS NULL",
                        (alert_fingerprint,)).rowcount > 0


def post_to_webhook(conn: psycopg.Connection, webhook_url: str, alert: Alert, timeout_seconds: float = 10) -> bool:
    """POST the alert as JSON; record the delivery time. A failed delivery is logged, not raised:
    the alert row already exists and the next occurrence will try again."""
    payload = {
        "severity": alert.severity, "component": alert.component, "message": alert.message,
        "fingerprint": alert.fingerprint, "occurrences": alert.occurrence_count,
    }
    try:
        response = requests.post(webhook_url, json=payload, timeout=timeout_seconds)
        response.raise_for_status()
    except requests.RequestException as exc:
        log.warning("alert webhook delivery failed: %s", type(exc).__name__)
        return False
    conn.execute("UPDATE alerts SET webhook_delivered_at = now() WHERE id = %s", (alert.id,))
    return True
