"""Alerts deduplicate by fingerprint and reach a real HTTP webhook through the shipped routing file."""

from __future__ import annotations

from precog_pipelines.lib import alerts
from precog_pipelines.resources.trading import AlertingResource


def test_repeats_of_one_problem_count_on_one_open_alert(db):
    key = alerts.fingerprint("settlement_job", "KalshiServerError")
    first = alerts.raise_alert(db, "error", "settlement_job", "500 from Kalshi", key)
    second = alerts.raise_alert(db, "critical", "settlement_job", "500 again", key)
    other = alerts.raise_alert(db, "warning", "kalshi_markets", "slow", alerts.fingerprint("other"))

    assert (first.is_new, second.is_new, second.id, second.occurrence_count) == (True, False, first.id, 2)
    assert other.id != first.id
    assert db.execute("SELECT severity, message FROM alerts WHERE id = %s", (first.id,)).fetchone() == (
        "critical", "500 again")


def test_the_shipped_routing_posts_an_error_to_the_webhook_and_records_the_delivery(db, webhook):
    url, receiver = webhook
    alert = alerts.raise_alert(db, "error", "position_exit_job", "no fill after market order",
                               alerts.fingerprint("x"))

    deliveries = AlertingResource(webhook_url=url).notify(db, alert)

    assert [(d.channel, d.state) for d in deliveries if d.channel == "webhook"] == [("webhook", "delivered")]
    assert receiver.received == [{"alert_id": alert.id, "severity": "error", "component": "position_exit_job",
                                  "message": "no fill after market order", "fingerprint": alert.fingerprint,
                                  "occurrences": 1, "details": None}]
    assert db.execute("SELECT webhook_delivered_at IS NOT NULL FROM alerts").fetchone() == (True,)


def test_the_shipped_routing_sends_no_warning_to_the_webhook(db, webhook):
    url, receiver = webhook
    alert = alerts.raise_alert(db, "warning", "kalshi_markets", "slow", alerts.fingerprint("w"))

    deliveries = AlertingResource(webhook_url=url).notify(db, alert)

    assert "webhook" not in [d.channel for d in deliveries] and receiver.received == []


def test_failed_delivery_is_recorded_as_failed_and_does_not_raise(db, webhook):
    url, receiver = webhook
    receiver.status = 503
    alert = alerts.raise_alert(db, "error", "c", "m", alerts.fingerprint("y"))

    deliveries = AlertingResource(webhook_url=url).notify(db, alert)

    assert ("webhook", "failed", "HTTPError 503") in [(d.channel, d.state, d.error) for d in deliveries]
    assert db.execute("SELECT webhook_delivered_at FROM alerts").fetchone() == (None,)
