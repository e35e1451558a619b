"""The kill switch through Dagster: `precog trading halt` stops entries at the next positions
evaluation and `resume` restarts them, with the state on the asset (metadata and a check) and
in the exit sensor's skip reason; a halt that blocks exits holds exit requests and fails an exit
run before any order; stale market data under open positions halts from the exit sensor's tick."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal as D

import dagster as dg
import pytest
from click.testing import CliRunner

from precog_pipelines.cli import precog
from precog_pipelines.defs.edges.assets import edges
from precog_pipelines.defs.espn.assets import game_states
from precog_pipelines.defs.kalshi.assets import kalshi_events, kalshi_markets, kalshi_series
from precog_pipelines.defs.trading.assets import positions
from precog_pipelines.defs.trading.checks import trading_is_not_halted
from precog_pipelines.defs.trading.jobs import position_exit_job
from precog_pipelines.defs.trading.sensors import position_exit_sensor
from precog_pipelines.lib.warehouse.scd2_merge import revise_current
from precog_pipelines.lib.warehouse.server import connect
from precog_pipelines.sandbox import SandboxConfig, SandboxServer
from precog_pipelines_tests.conftest import paper_resources, sandbox_resources
from precog_pipelines_tests.support import factories as f

TICKER = "KXNFLGAME-26SEP13DALNYG-DAL"


def _cli(url: str, *args: str) -> str:
    result = CliRunner().invoke(precog, ["trading", *args, "--database-url", url])
    assert result.exit_code == 0, result.output
    return result.output


def _tick(resources, instance, cursor=None) -> dg.SensorResult:
    with dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources) as context:
        return position_exit_sensor()(context)


def _skip(result: dg.SensorResult) -> str:
    return result.skip_reason.skip_message if result.skip_reason else ""


@pytest.mark.slow
def test_cli_halt_stops_entries_at_the_next_evaluation_and_resume_restarts_them(
        kalshi_key, rated_warehouse_url, dagster_instance):
    start = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    config = SandboxConfig(start=start, speed=0, api_keys={kalshi_key.key_id: kalshi_key.public_key})
    with SandboxServer(config) as sandbox:
        resources = sandbox_resources(rated_warehouse_url, sandbox, kalshi_key)
        assert dg.materialize([kalshi_series, kalshi_events, kalshi_markets, game_states, edges], resources=resources,
                              instance=dagster_instance).success
        _cli(rated_warehouse_url, "halt", "--reason", "testing the kill switch")

        halted = dg.materialize([positions, trading_is_not_halted], resources=resources, instance=dagster_instance)

        metadata = halted.asset_materializations_for_node("positions")[0].metadata
        assert (metadata["opened"].value, metadata["trading_state"].value) == (0, "halted: testing the kill switch")
        assert "halted: testing the kill switch" in metadata["skipped"].value
        [check] = halted.get_asset_check_evaluations()
        assert (check.passed, check.severity, check.description) == (
            False, dg.AssetCheckSeverity.WARN, "halted: testing the kill switch")
        assert _skip(_tick(resources, dagster_instance)).startswith("halted: testing the kill switch (exits go on); ")
        with connect(rated_warehouse_url) as conn:
            assert conn.execute("SELECT count(*) FROM positions").fetchone()[0] == 0
            assert conn.execute("SELECT count(*) FROM entry_attempts").fetchone()[0] == 0  # no order at all

        _cli(rated_warehouse_url, "resume")
        resumed = dg.materialize([positions, trading_is_not_halted], resources=resources, instance=dagster_instance)

        metadata = resumed.asset_materializations_for_node("positions")[0].metadata
        assert metadata["opened"].value >= 2 and metadata["trading_state"].value == "trading"
        assert resumed.get_asset_check_evaluations()[0].passed
        assert not _skip(_tick(resources, dagster_instance)).startswith("halted")
        with connect(rated_warehouse_url) as conn:
            attempts = conn.execute("SELECT outcome, count(*) FROM entry_attempts GROUP BY 1").fetchall()
        assert attempts == [("filled", metadata["opened"].value)]


def _now() -> datetime:
    return datetime.now(timezone.utc)


@pytest.fixture
def resources(warehouse_url):
    return paper_resources(warehouse_url)


def test_a_halt_blocking_exits_holds_exit_requests_and_the_exit_runs(warehouse_url, resources,
                                                                    private_dagster_instance):
    instance = private_dagster_instance
    with connect(warehouse_url) as conn:
        key = f.paper_position(conn, _now())
        revise_current(conn, "markets", {"ticker": TICKER}, {"close_time": _now() + timedelta(days=30)}, _now())
        conn.commit()
    with connect(warehouse_url) as conn:
        revise_current(conn, "markets", {"ticker": TICKER}, {"yes_bid": D("0.4500")}, _now())  # through the stop
        conn.commit()
    [request] = _tick(resources, instance).run_requests  # requested before the halt
    _cli(warehouse_url, "halt", "--reason", "exchange outage", "--block-exits")

    held = _tick(resources, instance)
    assert held.run_requests == [] and _skip(held) == "halted: exchange outage (exits blocked too: no exit requested)"
    run = position_exit_job.execute_in_process(run_config=request.run_config, resources=resources, instance=instance,
                                               tags=request.tags, raise_on_error=False)
    assert not run.success
    assert "not sent: halted: exchange outage (exits blocked)" in str(run.all_events)
    with connect(warehouse_url) as conn:
        assert conn.execute("SELECT count(*) FROM exit_attempts").fetchone()[0] == 0

    _cli(warehouse_url, "resume")
    [again] = _tick(resources, instance).run_requests
    assert again.run_key == f"exit:{key}:stop_loss#2"
    assert position_exit_job.execute_in_process(run_config=again.run_config, resources=resources, instance=instance,
                                                tags=again.tags).success
    with connect(warehouse_url) as conn:
        assert conn.execute("SELECT status FROM positions_current").fetchone() == ("closed",)


def test_stale_market_data_under_open_positions_halts_from_the_exit_sensor(warehouse_url, resources,
                                                                           dagster_instance):
    last_version_at = _now() - timedelta(minutes=45)
    with connect(warehouse_url) as conn:
        f.series(conn)
        f.event(conn)
        f.market_ticker(conn)
        f.market_version(conn, open_time=_now() - timedelta(days=1), close_time=_now() + timedelta(days=1),
                         row_start_ts=last_version_at)
        conn.commit()
    assert not _skip(_tick(resources, dagster_instance)).startswith("halted")  # stale, but nothing held
    with connect(warehouse_url) as conn:
        f.position(conn, opened_at=last_version_at, row_start_ts=last_version_at)
        conn.commit()

    result = _tick(resources, dagster_instance)

    assert _skip(result).startswith("halted: market data stalled: no new market version since ")
    assert "(over 30 minutes) while 1 market(s) are open" in _skip(result) and "(exits go on)" in _skip(result)
    with connect(warehouse_url) as conn:
        assert conn.execute("SELECT source, actor FROM trading_halts").fetchall() == [
            ("stale_market_data", "position_exit_sensor")]
        assert conn.execute("SELECT severity FROM alerts WHERE component = 'trading' AND resolved_at IS NULL"
                            ).fetchall() == [("critical",)]
    assert "consecutive order errors: 0" in _cli(warehouse_url, "status")
    # A later tick adds nothing: the first reason stands until a person resumes.
    _tick(resources, dagster_instance)
    with connect(warehouse_url) as conn:
        assert conn.execute("SELECT count(*) FROM trading_halts").fetchone()[0] == 1
