"""alert_delivery_sensor tells people about alerts whose raiser only wrote the row (a trading halt
raised in the middle of a run, a circuit breaker): each occurrence once, through the routing."""

from __future__ import annotations

import dagster as dg

from precog_pipelines.defs.trading.sensors import alert_delivery_sensor
from precog_pipelines.lib import alerts
from precog_pipelines.lib.trading.halts import halt_trading
from precog_pipelines.lib.warehouse.server import connect
from precog_pipelines.resources.trading import AlertingResource
from precog_pipelines.resources.warehouse import WarehouseResource


def _tick(dagster_instance, warehouse_url, url: str, cursor: str | None) -> tuple[str, str | None]:
    resources = {"warehouse": WarehouseResource(database_url=warehouse_url),
                 "alerting": AlertingResource(webhook_url=url)}
    with dg.build_sensor_context(instance=dagster_instance, resources=resources, cursor=cursor) as context:
        result = alert_delivery_sensor()(context)
        return result.skip_message, context.cursor


def test_a_halt_raised_without_delivery_reaches_its_channels_once(dagster_instance, warehouse_url, webhook):
    url, receiver = webhook
    with connect(warehouse_url) as conn:
        halt_trading(conn, "five consecutive order errors", "order_errors", "positions")
        conn.commit()

    first, cursor = _tick(dagster_instance, warehouse_url, url, None)
    again, cursor = _tick(dagster_instance, warehouse_url, url, cursor)  # within the overlap: not sent twice

    assert [(p["severity"], p["component"]) for p in receiver.received] == [("critical", "trading")]
    assert "five consecutive order errors" in receiver.received[0]["message"]
    assert first == "1 alert(s) seen, 3 delivery attempt(s)" and again == "1 alert(s) seen, 0 delivery attempt(s)"


def test_an_occurrence_the_raiser_already_delivered_is_not_sent_again(dagster_instance, warehouse_url, webhook):
    url, receiver = webhook
    resource = AlertingResource(webhook_url=url)
    with connect(warehouse_url) as conn:
        alert = alerts.raise_alert(conn, "error", "settlement_job", "500", alerts.fingerprint("s"))
        conn.commit()
        resource.notify(conn, alert)
        conn.commit()

    _tick(dagster_instance, warehouse_url, url, None)

    assert [p["occurrences"] for p in receiver.received] == [1]
