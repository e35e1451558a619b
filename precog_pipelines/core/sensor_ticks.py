"""Failed sensor ticks, read from the Dagster instance's tick history.

Dagster (open source) has no hook on a sensor's failure: run-status sensors see runs, and the
schedule/sensor alert policies are a Dagster+ feature. The daemon records every tick with its
status and error, so `alert_on_sensor_failure` reads them here. The instigator and tick enums
are not re-exported by ``dagster``; the import is pinned by ``dagster<1.14`` and exercised by
precog_pipelines_tests/dagster/test_sensor_failure_alerts.py through the real sensor daemon.
"""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg
from dagster._core.scheduler.instigation import InstigatorType, TickStatus


@dataclass(frozen=True)
class FailedTick:
    sensor: str
    tick_id: int
    timestamp: float
    error_class: str
    message: str  # the first line of the error, at most 500 characters


@dataclass(frozen=True)
class SensorFailures:
    """One sensor's failed ticks since a time, and whether its latest tick failed."""

    sensor: str
    failed: list[FailedTick]
    latest_failed: bool


def sensor_failures(instance: dg.DagsterInstance, after: float, exclude: frozenset[str] = frozenset()
                    ) -> list[SensorFailures]:
    """Every sensor the instance knows (any code location, running or stopped) but ``exclude``,
    with its failed ticks that started after ``after`` (a Unix time)."""
    result = []
    for state in instance.all_instigator_state(instigator_type=InstigatorType.SENSOR):
        if state.instigator_name in exclude:
            continue
        ticks = instance.get_ticks(state.instigator_origin_id, state.selector_id, after=after,
                                   statuses=[TickStatus.FAILURE])
        latest = instance.get_ticks(state.instigator_origin_id, state.selector_id, limit=1)
        failed = []
        for tick in sorted(ticks, key=lambda t: t.timestamp):
            # Dagster wraps what the sensor raised in its own execution error: report the root cause.
            error = tick.error
            while error is not None and error.cause is not None:
                error = error.cause
            error_class = (error.cls_name if error else None) or "SensorError"
            # The recorded message starts with the error's class ("ConnectionError: ..."): said once.
            message = _first_line(error.message if error else "").removeprefix(f"{error_class}: ")
            failed.append(FailedTick(state.instigator_name, tick.tick_id, tick.timestamp, error_class,
                                     message or "tick failed"))
        result.append(SensorFailures(state.instigator_name, failed,
                                     bool(latest) and latest[0].status == TickStatus.FAILURE))
    return result


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0][:500] if lines else ""
