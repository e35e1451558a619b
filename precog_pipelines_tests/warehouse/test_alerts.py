"""Alerts deduplicate by fingerprint and reach a real HTTP webhook."""

from __future__ import annotations

from precog_pipelines.lib import alerts


def test_repeats_of_one_problem_count_on_one_open_alert(db):
    key = alerts.fingerprint("settlement_job", "KalshiServerError")
    first = alerts.raise_alert(db, "error", "settlement_job", "500 from Kalshi", key)
    second = alerts.raise_alert(db, "critical", "settlement_job", "500 again", key)
    other = alerts.raise_alert(db, "warning", "kalshi_markets", "slow", alerts.fingerprint("other"))

    assert (first.is_new, second.is_new, second.id, second.occurrence_count) == (True, False, first.id, 2)
    assert other.id != first.id
    assert db.execute("SELECT severity, message FROM alerts WHERE id = %s", (first.id,)).fetchone() == (
        "critical", "500 again")


def test_webhook_receives_the_alert_and_delivery_is_recorded(db, webhook):
    url, receiver = webhook
    alert = alerts.raise_alert(db, "error", "position_exit_job", "no fill after market order",
                               alerts.fingerprint("x"))

    assert alerts.post_to_webhook(db, url, alert)
    assert receiver.received == [{"severity": "error", "component": "position_exit_job",
                                  "message": "no fill after market order", "fingerprint": alert.fingerprint,
                                  "occurrences": 1}]
    assert db.execute("SELECT webhook_delivered_at IS NOT NULL FROM alerts").fetchone() == (True,)


def test_failed_delivery_is_not_recorded_and_does_not_raise(db, webhook):
    url, receiver = webhook
    receiver.status = 503
    alert = alerts.raise_alert(db, "error", "c", "m", alerts.fingerprint("y"))

    assert not alerts.post_to_webhook(db, url, alert)
    assert db.execute("SELECT webhook_delivered_at FROM alerts").fetchone() == (None,)
