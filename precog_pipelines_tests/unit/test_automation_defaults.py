"""Schedules and sensors start stopped in production and running under precog dev, decided
when the code location loads (its definitions functions), never at import."""

from __future__ import annotations

import dagster as dg
import pytest

from precog_pipelines.definitions import defs as code_location

SCHEDULES = ("kalshi_schedule", "kalshi_markets_full_crawl_schedule", "game_states_schedule",
             "elo_current_season_schedule")
SENSORS = ("position_exit_sensor", "market_settlement_sensor", "alert_on_run_failure", "trading_automation_sensor",
           "elo_rerate_after_espn_backfill", "market_data_stall_sensor")


@pytest.fixture
def load_with(monkeypatch):
    def load(dev: bool) -> dg.Definitions:
        if dev:
            monkeypatch.setenv("PRECOG_DEV_AUTOMATION", "1")
        else:
            monkeypatch.delenv("PRECOG_DEV_AUTOMATION", raising=False)
        return code_location()

    return load


def _statuses(definitions: dg.Definitions) -> tuple[set, set]:
    schedules = {definitions.resolve_schedule_def(name).default_status for name in SCHEDULES}
    sensors = {definitions.resolve_sensor_def(name).default_status for name in SENSORS}
    return schedules, sensors


def test_everything_is_off_by_default_in_production(load_with):
    assert _statuses(load_with(dev=False)) == ({dg.DefaultScheduleStatus.STOPPED}, {dg.DefaultSensorStatus.STOPPED})


def test_everything_runs_under_precog_dev_and_faster(load_with):
    definitions = load_with(dev=True)
    assert _statuses(definitions) == ({dg.DefaultScheduleStatus.RUNNING}, {dg.DefaultSensorStatus.RUNNING})
    assert definitions.resolve_schedule_def("kalshi_schedule").cron_schedule == "* * * * *"
    assert definitions.resolve_schedule_def("game_states_schedule").cron_schedule == "* * * * *"


def test_production_cadences(load_with):
    definitions = load_with(dev=False)
    kalshi = definitions.resolve_schedule_def("kalshi_schedule")
    espn = definitions.resolve_schedule_def("game_states_schedule")
    assert kalshi.cron_schedule == "*/5 * * * *"
    targeted = definitions.resolve_job_def(kalshi.job_name).asset_layer.selected_asset_keys
    assert {key.to_user_string() for key in targeted} == {"kalshi_series", "kalshi_events", "kalshi_markets"}
    full_crawl = definitions.resolve_schedule_def("kalshi_markets_full_crawl_schedule")
    assert full_crawl.cron_schedule == "30 6 * * *" and full_crawl.job_name == "kalshi_markets_full_crawl"
    assert espn.cron_schedule == "* * * * 0,1,4,6"
    assert espn.execution_timezone == "America/New_York"


def test_refresh_runs_carry_a_max_runtime_so_run_monitoring_fails_a_run_nobody_watches(load_with):
    """Issue 18, Finding 2: a Kalshi or ESPN refresh whose worker died unnoticed would stay STARTED
    and hold its pool; run monitoring fails any run older than its dagster/max_runtime tag."""
    definitions = load_with(dev=False)
    for name in ("kalshi_schedule", "game_states_schedule"):
        assert definitions.resolve_schedule_def(name).tags["dagster/max_runtime"] == "600", name
    assert definitions.resolve_job_def("kalshi_markets_full_crawl").tags["dagster/max_runtime"] == "600"


def test_refresh_schedules_run_named_jobs_so_the_runs_page_shows_their_target(load_with):
    """Dagster's UI hides a schedule's anonymous asset job (``__anonymous_asset_job_*``) and such a
    run carries no asset selection, so its Target column was empty; a named job is shown."""
    definitions = load_with(dev=False)
    jobs = {name: definitions.resolve_schedule_def(name).job_name
            for name in ("kalshi_schedule", "game_states_schedule", "portfolio_schedule")}
    assert jobs == {"kalshi_schedule": "kalshi_refresh", "game_states_schedule": "game_states_refresh",
                    "portfolio_schedule": "portfolio_refresh"}
    for job in jobs.values():
        assert definitions.resolve_job_def(job).asset_layer.selected_asset_keys
