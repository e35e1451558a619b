"""Alerts by severity (issue 14, item 3): each alert reaches exactly the channels its routing names
(a local HTTP receiver for the webhooks, a local SMTP server for email, a real JSON-lines file and
the log), a failing channel is retried, logged and recorded without losing the alert, and repeats
within the deduplication window are counted, not sent again."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from precog_pipelines.lib import alerts
from precog_pipelines.lib.alert_delivery import deliver
from precog_pipelines.lib.alert_routing import Routing, load_routing
from precog_pipelines_tests.support.receivers import free_port


def _routing(tmp_path: Path, *, webhook: str, slack: str, smtp_port: int, window: int = 60, attempts: int = 3) -> Routing:
    path = tmp_path / "routing.yaml"
    path.write_text(f"""
dedupe_window_minutes: {window}
retry: {{attempts: {attempts}, wait_seconds: 0}}
channels:
  console: {{type: log}}
  jsonl: {{type: file, path: {tmp_path / "alerts.jsonl"}}}
  ops: {{type: webhook, url: "{webhook}", timeout_seconds: 5}}
  chat: {{type: slack, url_env: TEST_SLACK_URL, timeout_seconds: 5}}
  pager: {{type: email, host: 127.0.0.1, port: {smtp_port}, sender: precog@example.test,
          to: [oncall@example.test, lead@example.test], timeout_seconds: 5}}
routes:
  - severities: [warning]
    components: ["risk_*"]
    channels: [chat]
  - severities: [info]
    channels: [console]
  - severities: [warning]
    channels: [console, jsonl]
  - severities: [error]
    channels: [jsonl, ops]
  - severities: [critical]
    channels: [ops, chat, pager]
""")
    return load_routing(path, {"TEST_SLACK_URL": slack})


def _raise(db, severity: str, component: str = "trading") -> alerts.Alert:
    return alerts.raise_alert(db, severity, component, f"a {severity} problem", alerts.fingerprint(component, severity),
                              {"why": severity})


def _deliveries(db) -> list[tuple]:
    return db.execute("SELECT a.severity, a.component, d.channel, d.state, d.attempts, d.error "
                      "FROM alert_deliveries d JOIN alerts a ON a.id = d.alert_id ORDER BY d.id").fetchall()


@pytest.fixture
def channels(tmp_path, http_receivers, smtp_receiver):
    ops, chat = http_receivers(), http_receivers()
    return ops, chat, smtp_receiver, {"TEST_SLACK_URL": chat.url}


def test_one_alert_of_each_severity_reaches_exactly_the_channels_its_routing_names(
        db, tmp_path, channels, caplog):
    ops, chat, smtp, environ = channels
    routing = _routing(tmp_path, webhook=ops.url, slack=chat.url, smtp_port=smtp.port)
    caplog.set_level(logging.INFO, logger="precog_pipelines.alerts")

    sent = {}
    for severity, component in [("info", "trading"), ("warning", "trading"), ("error", "trading"),
                                ("critical", "trading"), ("warning", "risk_limits")]:
        alert = _raise(db, severity, component)
        sent[(severity, component)] = [(d.channel, d.state) for d in
                                       deliver(db, alert, routing, environ=environ, home=tmp_path)]

    assert sent == {("info", "trading"): [("console", "delivered")],
                    ("warning", "trading"): [("console", "delivered"), ("jsonl", "delivered")],
                    ("error", "trading"): [("jsonl", "delivered"), ("ops", "delivered")],
                    ("critical", "trading"): [("ops", "delivered"), ("chat", "delivered"), ("pager", "delivered")],
                    ("warning", "risk_limits"): [("chat", "delivered")]}
    # What each receiver holds: exactly those alerts, nothing else.
    log_lines = [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "precog_pipelines.alerts"]
    assert [level for level, _ in log_lines] == ["INFO", "WARNING"]
    assert "[WARNING] trading: a warning problem (alert" in log_lines[1][1]
    lines = [json.loads(line) for line in (tmp_path / "alerts.jsonl").read_text().splitlines()]
    assert [(line["severity"], line["component"], line["details"]) for line in lines] == [
        ("warning", "trading", {"why": "warning"}), ("error", "trading", {"why": "error"})]
    assert [(p["severity"], p["component"], p["message"], p["occurrences"]) for p in ops.received] == [
        ("error", "trading", "a error problem", 1), ("critical", "trading", "a critical problem", 1)]
    assert set(ops.received[0]) == {"alert_id", "severity", "component", "message", "fingerprint", "occurrences",
                                    "details"}
    assert [list(p) for p in chat.received] == [["text"], ["text"]]
    assert chat.received[0]["text"].startswith("[CRITICAL] trading: a critical problem (alert ")
    assert chat.received[1]["text"].startswith("[WARNING] risk_limits: a warning problem (alert ")
    [mail] = smtp.messages
    assert mail["Subject"].startswith("[CRITICAL] trading: a critical problem")
    assert mail["X-Envelope-To"] == "oncall@example.test, lead@example.test"
    assert json.loads(mail.get_content())["severity"] == "critical"
    # And the warehouse records each delivery.
    assert [(s, c, ch, st) for s, c, ch, st, _, _ in _deliveries(db)] == [
        ("info", "trading", "console", "delivered"), ("warning", "trading", "console", "delivered"),
        ("warning", "trading", "jsonl", "delivered"), ("error", "trading", "jsonl", "delivered"),
        ("error", "trading", "ops", "delivered"), ("critical", "trading", "ops", "delivered"),
        ("critical", "trading", "chat", "delivered"), ("critical", "trading", "pager", "delivered"),
        ("warning", "risk_limits", "chat", "delivered")]


@pytest.mark.parametrize("failure", ["http_500", "receiver_down"])
def test_a_failing_channel_is_retried_then_logged_and_recorded_and_the_alert_stays(
        db, tmp_path, channels, caplog, failure):
    ops, chat, smtp, environ = channels
    if failure == "http_500":
        ops.status = 500
        url = ops.url
    else:
        url = f"http://127.0.0.1:{free_port()}/hook/s3cr3t-token"
    routing = _routing(tmp_path, webhook=url, slack=chat.url, smtp_port=smtp.port)
    alert = _raise(db, "critical")

    result = deliver(db, alert, routing, environ=environ, home=tmp_path)

    assert [(d.channel, d.state, d.attempts) for d in result] == [
        ("ops", "failed", 3), ("chat", "delivered", 1), ("pager", "delivered", 1)]
    assert len(ops.received) == (3 if failure == "http_500" else 0)  # three tries reached the 500
    assert len(chat.received) == 1 and len(smtp.messages) == 1  # the other channels did not wait on it
    error = "HTTPError 500" if failure == "http_500" else "ConnectionError"
    assert ("critical", "trading", "ops", "failed", 3, error) in _deliveries(db)
    assert db.execute("SELECT severity, resolved_at FROM alerts WHERE id = %s", (alert.id,)).fetchone() == (
        "critical", None)
    assert f"alert delivery to channel ops failed after 3 attempt(s): {error}" in caplog.text
    assert "s3cr3t" not in caplog.text  # a webhook URL is a secret


def test_a_down_smtp_server_is_retried_and_recorded(db, tmp_path, channels):
    ops, chat, _, environ = channels
    routing = _routing(tmp_path, webhook=ops.url, slack=chat.url, smtp_port=free_port(), attempts=2)

    result = deliver(db, _raise(db, "critical"), routing, environ=environ, home=tmp_path)

    assert [(d.channel, d.state, d.attempts, d.error) for d in result][2] == (
        "pager", "failed", 2, "ConnectionRefusedError")


def test_a_failed_channel_is_tried_again_at_the_next_occurrence(db, tmp_path, channels):
    ops, chat, smtp, environ = channels
    routing = _routing(tmp_path, webhook=ops.url, slack=chat.url, smtp_port=smtp.port)
    ops.status = 503
    deliver(db, _raise(db, "error"), routing, environ=environ, home=tmp_path)
    ops.status = 200

    result = deliver(db, _raise(db, "error"), routing, environ=environ, home=tmp_path)

    assert [(d.channel, d.state) for d in result] == [("jsonl", "suppressed"), ("ops", "delivered")]
    assert [p["occurrences"] for p in ops.received][-1] == 2


def test_repeats_within_the_window_are_counted_not_sent_and_a_new_severity_is_sent(db, tmp_path, channels):
    ops, chat, smtp, environ = channels
    routing = _routing(tmp_path, webhook=ops.url, slack=chat.url, smtp_port=smtp.port)
    key = alerts.fingerprint("stall")

    for _ in range(3):
        deliver(db, alerts.raise_alert(db, "error", "kalshi", "stalled", key), routing, environ=environ,
                home=tmp_path)
    escalated = alerts.raise_alert(db, "critical", "kalshi", "stalled for long", key)
    deliver(db, escalated, routing, environ=environ, home=tmp_path)

    assert [(p["severity"], p["occurrences"]) for p in ops.received] == [("error", 1), ("critical", 4)]
    assert escalated.occurrence_count == 4 and not escalated.is_new


def test_a_zero_window_sends_every_occurrence(db, tmp_path, channels):
    ops, chat, smtp, environ = channels
    routing = _routing(tmp_path, webhook=ops.url, slack=chat.url, smtp_port=smtp.port, window=0)
    for _ in range(3):
        deliver(db, alerts.raise_alert(db, "error", "c", "m", alerts.fingerprint("z")), routing, environ=environ,
                home=tmp_path)

    assert [p["occurrences"] for p in ops.received] == [1, 2, 3]


def test_an_acknowledged_alert_is_counted_not_sent_until_resolved(db, tmp_path, channels):
    ops, chat, smtp, environ = channels
    routing = _routing(tmp_path, webhook=ops.url, slack=chat.url, smtp_port=smtp.port, window=0)
    key = alerts.fingerprint("ack")
    first = alerts.raise_alert(db, "error", "c", "m", key)
    deliver(db, first, routing, environ=environ, home=tmp_path)

    assert alerts.acknowledge_alert(db, first.id, "alice") == "acknowledged"
    repeat = alerts.raise_alert(db, "error", "c", "m", key)
    assert [d.state for d in deliver(db, repeat, routing, environ=environ, home=tmp_path)] == ["suppressed"] * 2
    assert alerts.resolve_alert_by_id(db, first.id)
    reopened = alerts.raise_alert(db, "error", "c", "m", key)
    deliver(db, reopened, routing, environ=environ, home=tmp_path)

    assert reopened.id != first.id and [p["alert_id"] for p in ops.received] == [first.id, reopened.id]
    assert db.execute("SELECT occurrence_count, acknowledged_by FROM alerts WHERE id = %s",
                      (first.id,)).fetchone() == (2, "alice")


def test_a_channel_whose_url_variable_is_unset_is_inactive(db, tmp_path, channels):
    ops, chat, smtp, _ = channels
    routing = _routing(tmp_path, webhook=ops.url, slack=chat.url, smtp_port=smtp.port)

    result = deliver(db, _raise(db, "critical"), routing, environ={}, home=tmp_path)

    assert [(d.channel, d.state) for d in result] == [("ops", "delivered"), ("chat", "inactive"),
                                                      ("pager", "delivered")]
    assert chat.received == [] and [c for _, _, c, *_ in _deliveries(db)] == ["ops", "pager"]


def test_deliveries_are_append_only(db, tmp_path, channels):
    ops, chat, smtp, environ = channels
    routing = _routing(tmp_path, webhook=ops.url, slack=chat.url, smtp_port=smtp.port)
    deliver(db, _raise(db, "info"), routing, environ=environ, home=tmp_path)

    with pytest.raises(Exception, match="append-only"):
        db.execute("UPDATE alert_deliveries SET state = 'failed', error = 'x'")


def test_retries_stop_at_max_seconds_whatever_the_attempts_left(db, tmp_path, channels):
    """A sensor has 60 seconds: a channel is not tried again once max_seconds have passed."""
    _, chat, smtp, environ = channels
    routing = _routing(tmp_path, webhook=f"http://127.0.0.1:{free_port()}/hook", slack=chat.url, smtp_port=smtp.port,
                       attempts=10)
    routing = routing.model_copy(update={"retry": routing.retry.model_copy(
        update={"wait_seconds": 0.2, "max_seconds": 0.5})})

    [ops, *_] = deliver(db, _raise(db, "critical"), routing, environ=environ, home=tmp_path)

    assert ops.state == "failed" and 1 < ops.attempts < 10


def test_code_outside_dagster_delivers_by_the_environments_routing_file(db, tmp_path, monkeypatch):
    from precog_pipelines.lib.alert_delivery import deliver_from_environment

    routing = tmp_path / "routing.yaml"
    routing.write_text("channels: {out: {type: file, path: halts.jsonl}}\n"
                       "routes: [{severities: [critical], channels: [out]}]\n")
    monkeypatch.setenv("PRECOG_ALERT_ROUTING_FILE", str(routing))
    monkeypatch.setenv("PRECOG_HOME", str(tmp_path / "home"))
    alert = alerts.raise_alert(db, "critical", "trading_halts", "halted: manual", alerts.fingerprint("halt"))

    assert [(d.channel, d.state) for d in deliver_from_environment(db, alert)] == [("out", "delivered")]
    [line] = (tmp_path / "home" / "halts.jsonl").read_text().splitlines()
    assert json.loads(line)["message"] == "halted: manual"
