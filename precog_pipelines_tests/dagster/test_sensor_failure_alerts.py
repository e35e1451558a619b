"""Sensor errors raise alerts (issue 14): a sensor whose tick fails, run by the real sensor daemon
code against a real instance, becomes one error alert per sensor (counted per failed tick) sent to
the channels its routing names, and resolved once the sensor's ticks succeed again."""

from __future__ import annotations

import logging
import time

import dagster as dg
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import ModuleTarget
from dagster._daemon.sensor import execute_sensor_iteration

from precog_pipelines.defs.trading.sensors import alert_on_sensor_failure
from precog_pipelines.lib import alerts
from precog_pipelines.resources.trading import AlertingResource
from precog_pipelines.resources.warehouse import WarehouseResource


def _daemon_tick(workspace: WorkspaceProcessContext) -> None:
    """One iteration of the sensor daemon: evaluates the flaky sensor and records its tick."""
    list(execute_sensor_iteration(workspace, logging.getLogger("sensor-daemon-test"), None, None))


def _watch(dagster_instance, warehouse_url, url: str, cursor: str | None) -> tuple[dg.SkipReason, str | None]:
    resources = {"warehouse": WarehouseResource(database_url=warehouse_url),
                 "alerting": AlertingResource(webhook_url=url)}
    with dg.build_sensor_context(instance=dagster_instance, resources=resources, cursor=cursor,
                                 sensor_name="alert_on_sensor_failure") as context:
        result = alert_on_sensor_failure()(context)
        return result, context.cursor


def test_a_failing_sensor_raises_one_counted_error_alert_and_is_resolved_when_it_recovers(
        dagster_instance, warehouse_url, db, webhook, tmp_path, monkeypatch):
    url, receiver = webhook
    broken = tmp_path / "broken"
    broken.touch()
    monkeypatch.setenv("FAILING_SENSOR_BROKEN", str(broken))
    target = ModuleTarget(module_name="precog_pipelines_tests.support.failing_sensor", attribute=None,
                          working_directory=None, location_name="failing_sensor")
    with WorkspaceProcessContext(dagster_instance, target) as workspace:
        _daemon_tick(workspace)
        time.sleep(1.1)  # the sensor's minimum interval, so that the daemon ticks it again
        _daemon_tick(workspace)
        first, cursor = _watch(dagster_instance, warehouse_url, url, None)
        again, cursor = _watch(dagster_instance, warehouse_url, url, cursor)  # the same ticks count once

        key = alerts.fingerprint("flaky_sensor", "sensor_failure")
        rows = db.execute("SELECT severity, component, message, occurrence_count, resolved_at IS NULL "
                          "FROM alerts WHERE fingerprint = %s", (key,)).fetchall()
        assert rows == [("error", "flaky_sensor",
                         "sensor flaky_sensor failed: ConnectionError: warehouse unreachable at tick time", 2, True)]
        assert first.skip_message == "failing: flaky_sensor" and again.skip_message == "no sensor failed"
        assert [(p["severity"], p["component"]) for p in receiver.received] == [("error", "flaky_sensor")]

        broken.unlink()
        time.sleep(1.1)
        _daemon_tick(workspace)
        recovered, _ = _watch(dagster_instance, warehouse_url, url, cursor)

    assert recovered.skip_message == "recovered: flaky_sensor"
    assert db.execute("SELECT resolved_at IS NOT NULL FROM alerts WHERE fingerprint = %s", (key,)).fetchall() == [
        (True,)]
