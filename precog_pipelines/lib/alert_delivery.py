"""Telling people about an alert: each channel its routing names, retried, then recorded.

:func:`deliver` is the one entry point. Call it after the alert row is committed: a channel that
is down is retried (tenacity) and then logged and recorded as failed in ``alert_deliveries``,
never raised, so it cannot block the caller (a sensor, a trading step) or lose the alert.
"""

from __future__ import annotations

import json
import logging
import os
import smtplib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from email.message import EmailMessage
from pathlib import Path

import psycopg
import requests
from tenacity import Retrying, stop_after_attempt, stop_after_delay, wait_exponential

from precog_pipelines.lib.alert_routing import (
    EmailChannel,
    FileChannel,
    LogChannel,
    Routing,
    SlackChannel,
    WebhookChannel,
)
from precog_pipelines.lib.alerts import Alert

log = logging.getLogger(__name__)
# The log channel's logger: what an operator reads in Dagster's and `precog dev`'s logs.
alert_log = logging.getLogger("precog_pipelines.alerts")
LOG_LEVELS = {"info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR, "critical": logging.CRITICAL}


@dataclass(frozen=True)
class Delivery:
    """What became of an alert on one channel: delivered or failed (recorded in alert_deliveries),
    suppressed (a repeat within the deduplication window, or acknowledged), inactive (its URL
    variable is unset) or already (this occurrence was handled before); the last three are not
    recorded."""

    channel: str
    state: str
    attempts: int = 0
    error: str | None = None


def deliver(conn: psycopg.Connection, alert: Alert, routing: Routing, *, environ: Mapping[str, str],
            home: Path) -> list[Delivery]:
    """Send ``alert`` to each channel its routing names, and record each delivery. Never raises
    for a channel: a failure is retried, then logged and recorded as failed. ``environ`` resolves
    the variables the routing file names; ``home`` anchors relative file paths (PRECOG_HOME)."""
    deliveries = []
    acknowledged = conn.execute("SELECT acknowledged_at IS NOT NULL FROM alerts WHERE id = %s",
                                (alert.id,)).fetchone()
    for name in routing.channels_for(alert.severity, alert.component):
        channel = routing.channels[name]
        send = _sender(channel, alert, environ, home)
        if send is None:
            deliveries.append(Delivery(name, "inactive"))
            continue
        if _handled(conn, alert, name):
            # This occurrence was already sent, or tried, on this channel (the raiser's notify and
            # alert_delivery_sensor both see it): never twice.
            deliveries.append(Delivery(name, "already"))
            continue
        if (acknowledged and acknowledged[0]) or _delivered_recently(conn, alert, name, routing.dedupe_window_minutes):
            deliveries.append(Delivery(name, "suppressed"))
            continue
        delivery = _attempt(name, send, routing)
        conn.execute(
            "INSERT INTO alert_deliveries (alert_id, channel, channel_type, severity, occurrence_count, state, "
            "attempts, error) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            (alert.id, name, channel.type, alert.severity, alert.occurrence_count, delivery.state,
             delivery.attempts, delivery.error))
        if delivery.state == "delivered" and channel.type == "webhook":
            conn.execute("UPDATE alerts SET webhook_delivered_at = now() WHERE id = %s", (alert.id,))
        deliveries.append(delivery)
    return deliveries


def deliver_from_environment(conn: psycopg.Connection, alert: Alert) -> list[Delivery]:
    """:func:`deliver` with the routing file, variables and home of this process's environment
    (PRECOG_ALERT_ROUTING_FILE, PRECOG_HOME): for code outside Dagster, e.g. `precog trading halt`.
    Never raises: a routing file that became unusable since start is logged, the alert row stays."""
    from precog_pipelines.lib.alert_routing import RoutingError, load_routing, routing_path
    from precog_pipelines.lib.settings import precog_home, setting_value

    try:
        routing = load_routing(routing_path(setting_value("PRECOG_ALERT_ROUTING_FILE")))
    except RoutingError as error:
        log.error("alert %s not delivered: alert routing %s", alert.id, error)
        return []
    return deliver(conn, alert, routing, environ=os.environ, home=precog_home())


def _handled(conn: psycopg.Connection, alert: Alert, channel: str) -> bool:
    return conn.execute("SELECT EXISTS (SELECT 1 FROM alert_deliveries WHERE alert_id = %s AND channel = %s "
                        "AND occurrence_count = %s AND severity = %s)",
                        (alert.id, channel, alert.occurrence_count, alert.severity)).fetchone()[0]


def alerts_seen_since(conn: psycopg.Connection, since: datetime, limit: int = 500) -> list[tuple[Alert, datetime]]:
    """Alerts raised or repeated after ``since``, oldest first, with their last occurrence time:
    what alert_delivery_sensor hands to :func:`deliver` (an alert raised by code that did not
    deliver it itself, a trading halt for one)."""
    rows = conn.execute(
        "SELECT id, severity, component, message, fingerprint, occurrence_count, details, last_seen_at FROM alerts "
        "WHERE last_seen_at > %s ORDER BY last_seen_at, id LIMIT %s", (since, limit)).fetchall()
    return [(Alert(r[0], r[1], r[2], r[3], r[4], r[5], False, r[6]), r[7]) for r in rows]


def _delivered_recently(conn: psycopg.Connection, alert: Alert, channel: str, window_minutes: int) -> bool:
    """Whether this alert, at this severity, reached this channel within the window (a repeat is
    then only counted); a new severity is always sent."""
    if window_minutes == 0:
        return False
    return conn.execute(
        "SELECT EXISTS (SELECT 1 FROM alert_deliveries WHERE alert_id = %s AND channel = %s AND severity = %s "
        "AND state = 'delivered' AND attempted_at > clock_timestamp() - make_interval(mins => %s))",
        (alert.id, channel, alert.severity, window_minutes)).fetchone()[0]


def _attempt(name: str, send: Callable[[], None], routing: Routing) -> Delivery:
    attempts = 0
    try:
        stop = stop_after_attempt(routing.retry.attempts) | stop_after_delay(routing.retry.max_seconds)
        for attempt in Retrying(stop=stop,
                                wait=wait_exponential(multiplier=routing.retry.wait_seconds, max=60), reraise=True):
            with attempt:
                attempts = attempt.retry_state.attempt_number
                send()
    except Exception as exc:  # noqa: BLE001 (no channel may break the caller; the row and the log say why)
        error = _described(exc)
        log.warning("alert delivery to channel %s failed after %d attempt(s): %s", name, attempts, error)
        return Delivery(name, "failed", attempts, error)
    return Delivery(name, "delivered", attempts)


def _described(exc: Exception) -> str:
    """An error's class and status code: never its text, which may hold a webhook URL (a secret)
    or an address."""
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        return f"{type(exc).__name__} {exc.response.status_code}"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{type(exc).__name__} {exc.smtp_code}"
    return type(exc).__name__


def payload(alert: Alert) -> dict:
    """The alert as the webhook and file channels send it."""
    return {"alert_id": alert.id, "severity": alert.severity, "component": alert.component,
            "message": alert.message, "fingerprint": alert.fingerprint, "occurrences": alert.occurrence_count,
            "details": alert.details}


def summary(alert: Alert) -> str:
    """The alert in one line (Slack text, email subject, log line)."""
    seen = f", seen {alert.occurrence_count} times" if alert.occurrence_count > 1 else ""
    return f"[{alert.severity.upper()}] {alert.component}: {alert.message} (alert {alert.id}{seen})"


def _sender(channel, alert: Alert, environ: Mapping[str, str], home: Path) -> Callable[[], None] | None:
    """A function sending the alert on this channel, or None when the channel is inactive."""
    if isinstance(channel, LogChannel):
        return lambda: alert_log.log(LOG_LEVELS[alert.severity], "%s", summary(alert))
    if isinstance(channel, FileChannel):
        return lambda: _append_line(home / Path(channel.path).expanduser(), alert)
    if isinstance(channel, WebhookChannel):  # and SlackChannel, its subclass
        url = channel.url if channel.url is not None else (environ.get(channel.url_env or "") or "").strip()
        if not url:
            return None
        body = {"text": summary(alert)} if isinstance(channel, SlackChannel) else payload(alert)
        return lambda: _post(url, body, channel.timeout_seconds)
    if isinstance(channel, EmailChannel):
        return lambda: _mail(channel, alert, environ)
    raise TypeError(f"unknown channel type {type(channel).__name__}")


def _append_line(path: Path, alert: Alert) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps({"at": datetime.now(timezone.utc).isoformat(), **payload(alert)}, default=str)
    with path.open("a", encoding="utf-8") as file:
        file.write(line + "\n")


def _post(url: str, body: dict, timeout_seconds: float) -> None:
    response = requests.post(url, json=body, timeout=timeout_seconds)
    response.raise_for_status()


def _mail(channel: EmailChannel, alert: Alert, environ: Mapping[str, str]) -> None:
    message = EmailMessage()
    message["Subject"] = summary(alert)[:200]
    message["From"] = channel.sender
    message["To"] = ", ".join(channel.to)
    message.set_content(json.dumps(payload(alert), indent=2, default=str))
    smtp_class = smtplib.SMTP_SSL if channel.security == "ssl" else smtplib.SMTP
    with smtp_class(channel.host, channel.port, timeout=channel.timeout_seconds) as smtp:
        if channel.security == "starttls":
            smtp.starttls()
        if channel.username is not None:
            smtp.login(channel.username, environ.get(channel.password_env or "", ""))
        smtp.send_message(message)
