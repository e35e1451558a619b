"""The portfolio assets and the reconciliation through Dagster, live against the sandbox
exchange with a signed key: a whole loop (entries, an exit, settlements) reconciles at every step;
an order placed on the sandbox outside Precog fails the next reconciliation naming the ticker and
both quantities, raises a critical alert and halts entries while an exit still runs; a second run
stores each fill once; and without a key, paper mode skips while live mode names what is missing."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal as D

import dagster as dg
import pytest
from psycopg.rows import dict_row

from precog_pipelines.defs.edges.assets import edges
from precog_pipelines.defs.espn.assets import game_states
from precog_pipelines.defs.kalshi.assets import kalshi_events, kalshi_markets, kalshi_series
from precog_pipelines.defs.portfolio.assets import (
    exchange_fills,
    exchange_orders,
    exchange_positions,
    exchange_settlements,
    reconciliation,
)
from precog_pipelines.defs.portfolio.checks import exchange_and_ledger_agree
from precog_pipelines.defs.trading.assets import positions
from precog_pipelines.defs.trading.jobs import position_exit_job, settlement_job
from precog_pipelines.defs.trading.sensors import market_settlement_sensor, position_exit_sensor
from precog_pipelines.lib.warehouse.server import connect
from precog_pipelines.resources.trading import TradingResource
from precog_pipelines.sandbox import SandboxConfig, SandboxServer
from precog_pipelines_tests.conftest import paper_resources, sandbox_resources

pytestmark = pytest.mark.slow
INGESTION = [kalshi_series, kalshi_events, kalshi_markets, game_states]
PORTFOLIO = [exchange_orders, exchange_fills, exchange_positions, exchange_settlements, reconciliation,
             exchange_and_ledger_agree]


@pytest.fixture
def sandbox(kalshi_key):
    """A frozen sandbox whose week starts now (the exit sensor's clock is the real one)."""
    start = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    with SandboxServer(SandboxConfig(start=start, speed=0, api_keys={kalshi_key.key_id: kalshi_key.public_key})) as server:
        yield server


@pytest.fixture
def live(rated_warehouse_url, sandbox, kalshi_key, dagster_instance):
    resources = sandbox_resources(rated_warehouse_url, sandbox, kalshi_key, trading_mode="live")
    _run(INGESTION + [edges], resources, dagster_instance)
    return resources


def _run(assets, resources, instance) -> dg.ExecuteInProcessResult:
    result = dg.materialize(assets, resources=resources, instance=instance)
    assert result.success
    return result


def _reconcile(resources, instance) -> tuple[dg.AssetCheckEvaluation, dict]:
    """One portfolio run (what the schedule runs): the check's evaluation and the asset's metadata."""
    result = dg.materialize(PORTFOLIO, resources=resources, instance=instance, raise_on_error=False)
    [check] = result.get_asset_check_evaluations()
    metadata = result.asset_materializations_for_node("reconciliation")[0].metadata
    return check, {name: value.value for name, value in metadata.items()}


def _tick(sensor, resources, instance, cursor=None) -> dg.SensorResult:
    with dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources) as context:
        return sensor(context)


def _rows(url: str, query: str, *params) -> list[dict]:
    with connect(url) as conn, conn.cursor(row_factory=dict_row) as cursor:
        return cursor.execute(query, params).fetchall()


def _exit_by_stop_loss(sandbox, live, instance, position: dict) -> None:
    """Quote the held side two cents under its stop; the exit sensor asks, the exit job sells."""
    bid = position["stop_loss_price"] - D("0.02")
    yes_bid = bid if position["side"] == "yes" else D("1") - bid - D("0.02")
    sandbox.set_quotes(position["ticker"], yes_bid=yes_bid, yes_ask=yes_bid + D("0.02"),
                       yes_bid_size=D("500"), yes_ask_size=D("500"))
    _run([kalshi_markets], live, instance)
    requests = _tick(position_exit_sensor(), live, instance).run_requests
    [request] = [r for r in requests if r.run_key.startswith(f"exit:{position['position_key']}:")]
    assert position_exit_job.execute_in_process(run_config=request.run_config, resources=live,
                                                instance=instance).success


def test_a_live_loop_of_entries_an_exit_and_settlements_reconciles_at_every_step(
        live, sandbox, rated_warehouse_url, dagster_instance):
    check, metadata = _reconcile(live, dagster_instance)
    assert check.passed and metadata["differences"] == 0  # an empty account, an empty ledger

    _run([positions], live, dagster_instance)
    opened = _rows(rated_warehouse_url, "SELECT * FROM positions_current ORDER BY edge_id")
    assert len(opened) >= 2 and {p["trading_mode"] for p in opened} == {"live"}
    check, metadata = _reconcile(live, dagster_instance)
    assert check.passed and metadata["differences"] == 0, metadata["report"]
    assert metadata["exchange_positions"] == metadata["ledger_open_live_positions"] == len(opened)

    _exit_by_stop_loss(sandbox, live, dagster_instance, opened[0])
    check, metadata = _reconcile(live, dagster_instance)
    assert check.passed and metadata["differences"] == 0, metadata["report"]
    assert metadata["ledger_live_trades"] == metadata["exchange_fills"] == len(opened) + 1

    # The games end: the exchange pays the markets out at once, the ledger when its settlement
    # job has run. Neither moment is a difference.
    sandbox.clear_quotes()
    world = sandbox.describe_world()["games"]
    finalized = max(g["finalized_at"] for g in world if g["finalized_at"])
    sandbox.set_time(datetime.fromisoformat(finalized.replace("Z", "+00:00")) + timedelta(minutes=1))
    check, metadata = _reconcile(live, dagster_instance)
    assert check.passed and metadata["differences"] == 0, metadata["report"]
    assert metadata["exchange_settlements"] == len(opened) - 1 and metadata["exchange_positions"] == 0

    _run([kalshi_markets, game_states], live, dagster_instance)
    for request in _tick(market_settlement_sensor(), live, dagster_instance).run_requests:
        assert settlement_job.execute_in_process(run_config=request.run_config, resources=live,
                                                 instance=dagster_instance).success
    check, metadata = _reconcile(live, dagster_instance)
    assert check.passed and metadata["differences"] == 0, metadata["report"]
    assert metadata["ledger_open_live_positions"] == 0
    assert _rows(rated_warehouse_url, "SELECT count(*) AS n FROM alerts WHERE component = 'reconciliation'") == [
        {"n": 0}]


def test_an_order_placed_outside_precog_fails_reconciliation_halts_entries_and_exits_go_on(
        live, sandbox, rated_warehouse_url, dagster_instance):
    _run([positions], live, dagster_instance)
    opened = _rows(rated_warehouse_url, "SELECT * FROM positions_current ORDER BY edge_id")
    assert len(opened) >= 2
    check, _ = _reconcile(live, dagster_instance)
    assert check.passed

    # Someone buys 5 more contracts of a held side, with the same key, through the exchange's API.
    held = opened[1]
    with live["kalshi"].client() as client:
        response = client.create_order(
            ticker=held["ticker"], side="bid" if held["side"] == "yes" else "ask", count=5,
            price=D("0.99") if held["side"] == "yes" else D("0.01"), time_in_force="immediate_or_cancel",
            client_order_id="placed-by-hand-1")
    assert response.fill_count == 5

    check, metadata = _reconcile(live, dagster_instance)
    expected = f"{held['ticker']} {held['side']} contracts held: exchange {held['quantity'] + 5}, ledger {held['quantity']}"
    assert (check.passed, check.severity) == (False, dg.AssetCheckSeverity.ERROR)
    assert expected in check.description and response.order_id in check.description
    assert held["ticker"] in metadata["report"] and "placed-by-hand-1" in metadata["report"]
    assert metadata["trading_state"].startswith("halted: reconciliation mismatch: ")
    [alert] = _rows(rated_warehouse_url, "SELECT * FROM alerts WHERE component = 'reconciliation'")
    assert alert["severity"] == "critical" and expected in alert["message"] and alert["resolved_at"] is None
    assert any(d["fills"] for d in alert["details"]["differences"])

    # No new entry at the next positions evaluation: the opener stops before looking at edges.
    sent_before = _rows(rated_warehouse_url, "SELECT count(*) AS n FROM entry_orders")
    evaluation = _run([positions], live, dagster_instance)
    entries = evaluation.asset_materializations_for_node("positions")[0].metadata
    assert entries["opened"].value == 0
    assert "halted: reconciliation mismatch" in entries["skipped"].value
    assert _rows(rated_warehouse_url, "SELECT count(*) AS n FROM entry_orders") == sent_before

    # An exit of an existing position still runs, through the exchange.
    _exit_by_stop_loss(sandbox, live, dagster_instance, opened[0])
    [closed] = _rows(rated_warehouse_url, "SELECT status, exit_reason FROM positions_current WHERE position_key = %s",
                     opened[0]["position_key"])
    assert closed == {"status": "closed", "exit_reason": "stop_loss"}


def test_a_second_run_stores_each_fill_once_and_versions_only_what_changed(
        live, rated_warehouse_url, dagster_instance):
    _run([positions], live, dagster_instance)
    first = _run(PORTFOLIO, live, dagster_instance)
    second = _run(PORTFOLIO, live, dagster_instance)
    read = first.asset_materializations_for_node("exchange_fills")[0].metadata
    again = second.asset_materializations_for_node("exchange_fills")[0].metadata
    assert read["fills_read"].value == read["new_fills"].value > 0
    assert (again["fills_read"].value, again["new_fills"].value) == (read["fills_read"].value, 0)
    [counts] = _rows(rated_warehouse_url, "SELECT (SELECT count(*) FROM exchange_fills) AS fills, "
                                          "(SELECT count(DISTINCT fill_id) FROM exchange_fills) AS distinct_fills, "
                                          "(SELECT count(*) FROM exchange_orders) AS order_versions, "
                                          "(SELECT count(*) FROM exchange_positions) AS position_versions, "
                                          "(SELECT count(*) FROM trades) AS trades")
    assert counts["fills"] == counts["distinct_fills"] == read["fills_read"].value
    assert counts["order_versions"] == counts["position_versions"] == counts["trades"]


def test_without_a_key_paper_mode_skips_and_live_mode_names_what_is_missing(warehouse_url, dagster_instance):
    paper = paper_resources(warehouse_url)
    skipped = _run(PORTFOLIO, paper, dagster_instance)
    metadata = skipped.asset_materializations_for_node("exchange_fills")[0].metadata
    assert "without a Kalshi API key" in metadata["skipped"].value
    assert skipped.get_asset_check_evaluations()[0].passed

    live = paper | {"trading": TradingResource(trading_mode="live", kalshi=paper["kalshi"])}
    failed = dg.materialize([exchange_fills], resources=live, instance=dagster_instance, raise_on_error=False)
    assert not failed.success
    [failure] = [e for e in failed.all_events if e.is_step_failure]
    message = failure.step_failure_data.error.message
    assert "KALSHI_API_KEY_ID and KALSHI_PRIVATE_KEY_PATH" in message and "PRECOG_TRADING_MODE=live" in message
    with connect(warehouse_url) as conn:
        assert conn.execute("SELECT count(*) FROM reconciliations").fetchone() == (0,)


def test_the_schedule_runs_every_portfolio_asset_and_the_reconciliation_check():
    from precog_pipelines.definitions import defs

    repository = defs().get_repository_def()
    schedule = repository.get_schedule_def("portfolio_schedule")
    job = repository.get_job(schedule.job_name)
    assert schedule.cron_schedule == "*/5 * * * *"
    assert {key.to_user_string() for key in job.asset_layer.selected_asset_keys} == {
        "exchange_orders", "exchange_fills", "exchange_positions", "exchange_settlements", "reconciliation"}
    assert dg.AssetCheckKey(dg.AssetKey("reconciliation"), "exchange_and_ledger_agree") in job.asset_layer.asset_graph.asset_check_keys
