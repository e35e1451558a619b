"""The stalled-market-data alarm (issue 18, Finding 2: when killed runs wedged the kalshi_api pool,
market data stopped and no alert said so). The sensor is evaluated as the daemon evaluates it,
against a real warehouse and a real Dagster instance."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import dagster as dg
import pytest

from precog_pipelines.defs.kalshi.sensors import STALL_FINGERPRINT, market_data_stall_sensor
from precog_pipelines.lib.warehouse.server import connect
from precog_pipelines.resources.trading import AlertingResource
from precog_pipelines.resources.warehouse import WarehouseResource
from precog_pipelines_tests.support import factories as f

STALL_MINUTES = 30


def _now() -> datetime:
    return datetime.now(timezone.utc)


@pytest.fixture
def market_at(warehouse_url):
    """Store one market whose newest version is ``age`` old, with ``status`` and ``close_in``."""
    def store(age: timedelta, status: str = "active", close_in: timedelta = timedelta(days=7)) -> None:
        with connect(warehouse_url) as conn:
            f.series(conn)
            f.event(conn)
            f.market_ticker(conn)
            f.market_version(conn, status=status, row_start_ts=_now() - age, open_time=_now() - timedelta(days=7),
                             close_time=_now() + close_in)
            conn.commit()
    return store


def _tick(warehouse_url, dagster_instance, webhook_url: str = "") -> dg.SkipReason:
    resources = {"warehouse": WarehouseResource(database_url=warehouse_url),
                 "alerting": AlertingResource(webhook_url=webhook_url, market_stall_minutes=STALL_MINUTES)}
    with dg.build_sensor_context(instance=dagster_instance, resources=resources) as context:
        return market_data_stall_sensor()(context)


def _stall_alerts(db) -> list[tuple]:
    return db.execute("SELECT severity, component, occurrence_count, resolved_at IS NOT NULL, message "
                      "FROM alerts WHERE fingerprint = %s ORDER BY id", (STALL_FINGERPRINT,)).fetchall()


def test_no_new_market_version_while_markets_are_open_raises_one_counted_critical_alert(
        warehouse_url, db, dagster_instance, market_at, webhook):
    """Finding 2: market data stopped (no version for over N minutes, a market open) and nothing
    said so. Now each tick raises the stall alert: one open row, counted, posted to the webhook once."""
    url, receiver = webhook
    market_at(timedelta(minutes=STALL_MINUTES + 5))

    first = _tick(warehouse_url, dagster_instance, url)
    _tick(warehouse_url, dagster_instance, url)

    assert "market data stalled" in first.skip_message and "1 market(s) are open" in first.skip_message
    [(severity, component, count, resolved, message)] = _stall_alerts(db)
    assert (severity, component, count, resolved) == ("critical", "kalshi_ingestion", 2, False)
    assert f"over {STALL_MINUTES} minutes" in message
    # Posted once: the repeat within the routing's deduplication window is only counted.
    assert [(p["severity"], p["occurrences"]) for p in receiver.received] == [("critical", 1)]


def test_fresh_market_data_raises_nothing(warehouse_url, db, dagster_instance, market_at):
    market_at(timedelta(minutes=STALL_MINUTES - 5))

    result = _tick(warehouse_url, dagster_instance)

    assert "flowing" in result.skip_message
    assert _stall_alerts(db) == []


@pytest.mark.parametrize("status, close_in", [("closed", timedelta(days=7)), ("finalized", timedelta(days=7)),
                                              ("active", -timedelta(minutes=1))],
                         ids=["closed", "finalized", "past_close_time"])
def test_no_open_market_raises_nothing_however_old_the_data(warehouse_url, db, dagster_instance, market_at,
                                                            status, close_in):
    market_at(timedelta(days=2), status=status, close_in=close_in)

    _tick(warehouse_url, dagster_instance)

    assert _stall_alerts(db) == []


def test_the_stall_alert_is_resolved_when_market_data_flows_again(warehouse_url, db, dagster_instance, market_at):
    market_at(timedelta(hours=2))
    _tick(warehouse_url, dagster_instance)
    with connect(warehouse_url) as conn:  # the next snapshot stores a new version
        conn.execute("UPDATE markets SET row_current_ind = false, row_end_ts = now() WHERE row_current_ind")
        f.market_version(conn, row_start_ts=_now(), open_time=_now() - timedelta(days=7),
                         close_time=_now() + timedelta(days=7))
        conn.commit()

    result = _tick(warehouse_url, dagster_instance)

    assert "stall alert resolved" in result.skip_message
    assert [row[3] for row in _stall_alerts(db)] == [True]


def test_a_bad_routing_file_fails_the_sensor_at_start_in_one_line(warehouse_url, dagster_instance, tmp_path):
    routing = tmp_path / "routing.yaml"
    routing.write_text("channels: {console: {type: log}}\nroutes: [{severities: [urgent], channels: [console]}]")
    resources = {"warehouse": WarehouseResource(database_url=warehouse_url),
                 "alerting": AlertingResource(routing_file=str(routing))}

    with pytest.raises(dg.DagsterResourceFunctionError) as failed:
        with dg.build_sensor_context(instance=dagster_instance, resources=resources) as context:
            market_data_stall_sensor()(context)

    assert isinstance(failed.value.__cause__, dg.Failure)
    assert failed.value.__cause__.description == (f"alert routing: {routing}: routes[0].severities[0] = 'urgent': input "
                                             "should be 'info', 'warning', 'error' or 'critical'")
