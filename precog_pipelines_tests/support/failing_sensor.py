"""A code location whose one sensor fails on every tick while ``FAILING_SENSOR_BROKEN`` names an
existing file (tests/test_sensor_failure_alerts.py runs it through the real sensor daemon code)."""

import os
from pathlib import Path

import dagster as dg


@dg.sensor(name="flaky_sensor", minimum_interval_seconds=1, default_status=dg.DefaultSensorStatus.RUNNING)
def flaky_sensor(context: dg.SensorEvaluationContext) -> dg.SkipReason:
    switch = os.environ.get("FAILING_SENSOR_BROKEN", "")
    if switch and Path(switch).exists():
        raise ConnectionError("warehouse unreachable at tick time")
    return dg.SkipReason("all good")


defs = dg.Definitions(sensors=[flaky_sensor])
