"""Schedules and sensors start stopped in production and running under precog dev."""

from __future__ import annotations

import importlib

import dagster as dg
import pytest

import precog_pipelines.defs.espn.schedules as espn_schedules
import precog_pipelines.defs.kalshi.schedules as kalshi_schedules
import precog_pipelines.defs.trading.sensors as trading_sensors


@pytest.fixture
def reload_with(monkeypatch):
    def reload(dev: bool):
        if dev:
            monkeypatch.setenv("PRECOG_DEV_AUTOMATION", "1")
        else:
            monkeypatch.delenv("PRECOG_DEV_AUTOMATION", raising=False)
        return [importlib.reload(m) for m in (kalshi_schedules, espn_schedules, trading_sensors)]

    yield reload
    monkeypatch.delenv("PRECOG_DEV_AUTOMATION", raising=False)
    for module in (kalshi_schedules, espn_schedules, trading_sensors):
        importlib.reload(module)


def _statuses(kalshi, espn, trading):
    schedules = [kalshi.kalshi_schedule, espn.game_states_schedule]
    sensors = [trading.position_exit_sensor, trading.market_settlement_sensor, trading.alert_on_run_failure]
    return {s.name: s.default_status for s in schedules}, {s.name: s.default_status for s in sensors}


def test_everything_is_off_by_default_in_production(reload_with):
    schedules, sensors = _statuses(*reload_with(dev=False))
    assert set(schedules.values()) == {dg.DefaultScheduleStatus.STOPPED}
    assert set(sensors.values()) == {dg.DefaultSensorStatus.STOPPED}


def test_everything_runs_under_precog_dev_and_faster(reload_with):
    kalshi, espn, trading = reload_with(dev=True)
    schedules, sensors = _statuses(kalshi, espn, trading)
    assert set(schedules.values()) == {dg.DefaultScheduleStatus.RUNNING}
    assert set(sensors.values()) == {dg.DefaultSensorStatus.RUNNING}
    assert kalshi.kalshi_schedule.cron_schedule == "* * * * *"
    assert espn.game_states_schedule.cron_schedule == "* * * * *"


def test_production_cadences(reload_with):
    kalshi, espn, _ = reload_with(dev=False)
    assert kalshi.kalshi_schedule.cron_schedule == "*/5 * * * *"
    targeted = {key.to_user_string() for a in kalshi.kalshi_schedule.target.assets_defs for key in a.keys}
    assert targeted == {"kalshi_series", "kalshi_events", "kalshi_markets"}
    assert espn.game_states_schedule.cron_schedule == "* * * * 0,1,4,6"
    assert espn.game_states_schedule.execution_timezone == "America/New_York"
