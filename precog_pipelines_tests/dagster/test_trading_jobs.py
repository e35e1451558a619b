"""The exit and settlement sensors and jobs, and the failure alarm, run through Dagster."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal as D

import dagster as dg
import pytest

from precog_pipelines.defs.trading.assets import account_balance, positions
from precog_pipelines.defs.trading.checks import balance_checks
from precog_pipelines.defs.trading.jobs import position_exit_job, settlement_job
from precog_pipelines.defs.trading.sensors import (
    alert_on_run_failure,
    market_settlement_sensor,
    position_exit_sensor,
)
from precog_pipelines.lib.trading.ledger import adjust_balance
from precog_pipelines.lib.warehouse.server import connect
from precog_pipelines.resources.trading import AlertingResource, TradingResource
from precog_pipelines.resources.warehouse import WarehouseResource
from precog_pipelines_tests.conftest import paper_resources
from precog_pipelines_tests.support import factories as f
from precog_pipelines_tests.support.elo import materialize_seasons

TICKER = "KXNFLGAME-26SEP13DALNYG-DAL"


@pytest.fixture
def resources(warehouse_url):
    return paper_resources(warehouse_url)


@pytest.fixture
def position_key(warehouse_url):
    return f.open_paper_position(warehouse_url)


_quote = f.requote


def _tick(sensor, resources, instance, cursor=None):
    with dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources) as context:
        return sensor(context)


def test_exit_sensor_requests_the_exit_job_once_and_the_job_exits_once(warehouse_url, resources, position_key,
                                                                        dagster_instance):
    first = _tick(position_exit_sensor(), resources, dagster_instance)
    assert first.run_requests == [] and "1 open position(s) checked" in first.skip_reason.skip_message
    _quote(warehouse_url, yes_bid=D("0.4500"))

    result = _tick(position_exit_sensor(), resources, dagster_instance, first.cursor)

    [request] = result.run_requests
    assert request.run_key == f"exit:{position_key}:stop_loss"
    assert request.tags["dagster/priority"] == "9"
    assert json.loads(result.cursor) == {"after_position_id": 0}
    for _ in range(2):
        run = position_exit_job.execute_in_process(run_config=request.run_config, resources=resources,
                                                   instance=dagster_instance)
        assert run.success
    with connect(warehouse_url) as conn:
        assert conn.execute("SELECT status, exit_reason, exit_price FROM positions_current").fetchone() == (
            "closed", "stop_loss", D("0.4500"))
        assert conn.execute("SELECT count(*) FROM position_exits").fetchone()[0] == 1
    materializations = dagster_instance.fetch_materializations(dg.AssetKey("positions"), limit=10).records
    assert any(m.asset_materialization.metadata["position_key"].value == position_key for m in materializations)
    assert _tick(position_exit_sensor(), resources, dagster_instance, result.cursor).run_requests == []


def test_settlement_sensor_requests_once_per_market_and_the_job_books_pnl(warehouse_url, resources, position_key,
                                                                          dagster_instance):
    first = _tick(market_settlement_sensor(), resources, dagster_instance)
    assert first.run_requests == []
    _quote(warehouse_url, status="determined", result="yes", settlement_value=D("1.0000"))

    result = _tick(market_settlement_sensor(), resources, dagster_instance, first.cursor)

    [request] = result.run_requests
    assert request.run_key == f"settle:{TICKER}"
    for _ in range(2):
        assert settlement_job.execute_in_process(run_config=request.run_config, resources=resources,
                                                 instance=dagster_instance).success
    with connect(warehouse_url) as conn:
        assert conn.execute("SELECT status, realized_pnl FROM positions_current").fetchone() == (
            "settled", D("40") - D("22.80") - D("0.69"))
        assert conn.execute("SELECT count(*) FROM settlements").fetchone()[0] == 1
        assert conn.execute("SELECT balance FROM account_balance_current").fetchone()[0] == D("1016.51")
    assert _tick(market_settlement_sensor(), resources, dagster_instance, result.cursor).run_requests == []


def test_a_failed_exit_is_requested_again_under_a_new_run_key(warehouse_url, resources, position_key,
                                                            private_dagster_instance):
    """Finding 1: an exit whose run failed for a transient reason (the warehouse unreachable) is
    requested again by position_exit_sensor while its rule still fires, as exit:<key>:<rule>#2;
    the rerun exits once (before: the spent run key was never requested again)."""
    instance = private_dagster_instance
    _quote(warehouse_url, yes_bid=D("0.4500"))
    [request] = _tick(position_exit_sensor(), resources, instance).run_requests
    unreachable = resources | {"warehouse": WarehouseResource(database_url="postgresql://postgres@127.0.0.1:1/x")}
    assert not position_exit_job.execute_in_process(run_config=request.run_config, resources=unreachable,
                                                    instance=instance, tags=request.tags,
                                                    raise_on_error=False).success

    [retry] = _tick(position_exit_sensor(), resources, instance).run_requests

    assert retry.run_key == f"exit:{position_key}:stop_loss#2" and retry.tags == request.tags
    assert position_exit_job.execute_in_process(run_config=retry.run_config, resources=resources,
                                                instance=instance, tags=retry.tags).success
    with connect(warehouse_url) as conn:
        assert conn.execute("SELECT count(*) FROM position_exits").fetchone()[0] == 1
    assert _tick(position_exit_sensor(), resources, instance).run_requests == []


def test_failed_run_raises_one_deduplicated_alert_and_posts_it(warehouse_url, resources, dagster_instance,
                                                               webhook):  # noqa: F811
    url, receiver = webhook
    resources = resources | {"alerting": AlertingResource(webhook_url=url)}
    config = {"ops": {"exit_position_op": {"config": {"position_key": "nope", "rule": "stop_loss", "priority": 1}}}}

    for _ in range(2):
        run = position_exit_job.execute_in_process(run_config=config, resources=resources,
                                                   instance=dagster_instance, raise_on_error=False)
        assert not run.success
        failure = next(e for e in run.all_events if e.event_type == dg.DagsterEventType.RUN_FAILURE)
        with dg.build_run_status_sensor_context(
            sensor_name="alert_on_run_failure", dagster_event=failure, dagster_instance=dagster_instance,
            dagster_run=run.dagster_run, resources=resources,
        ) as context:
            alert_on_run_failure()(context.for_run_failure())

    with connect(warehouse_url) as conn:
        rows = conn.execute("SELECT severity, component, message, occurrence_count FROM alerts").fetchall()
    assert len(rows) == 1
    severity, component, message, count = rows[0]
    assert (severity, component, count) == ("error", "position_exit_job", 2)
    assert "position_key 'nope' does not exist" in message
    # The repeat is counted on the row; within the routing's deduplication window it is not posted again.
    assert [r["occurrences"] for r in receiver.received] == [1]


def test_a_failed_elo_run_alert_names_the_assets_that_now_wait_for_it(warehouse_url, resources,
                                                                      dagster_instance):
    """Rating the current season on an empty warehouse fails (its predecessors were never
    rated): the alert says which automated assets wait until ratings succeed."""
    from precog_pipelines.definitions import defs

    repository = defs().get_repository_def()
    season = int(repository.assets_defs_by_key[dg.AssetKey("elo_ratings")].partitions_def.get_last_partition_key())
    run = materialize_seasons(warehouse_url, dagster_instance, season)
    assert not run.success
    failure = next(e for e in run.all_events if e.event_type == dg.DagsterEventType.RUN_FAILURE)
    with dg.build_run_status_sensor_context(
        sensor_name="alert_on_run_failure", dagster_event=failure, dagster_instance=dagster_instance,
        dagster_run=run.dagster_run, resources=resources, repository_def=repository,
    ) as context:
        alert_on_run_failure()(context.for_run_failure())

    with connect(warehouse_url) as conn:
        [(message,)] = conn.execute("SELECT message FROM alerts").fetchall()
    assert message.startswith("elo_ratings: ")
    assert message.endswith(" Waiting until it succeeds: account_balance, edges, positions."), message


def test_live_mode_and_prod_must_be_spelled_exactly(resources, dagster_instance):
    config = {"ops": {"settle_market_op": {"config": {"ticker": TICKER}}}}
    run = settlement_job.execute_in_process(run_config=config, raise_on_error=False, instance=dagster_instance,
                                            resources=resources | {"trading": TradingResource(
                                                trading_mode="LIVE", kalshi=resources["kalshi"])})
    assert not run.success
    assert "PRECOG_TRADING_MODE 'LIVE' is not one of paper, live" in str(run.all_events)


def _balance_requested(resources, instance, cursor=None) -> tuple[bool, object]:
    result = dg.evaluate_automation_conditions(
        defs=dg.Definitions(assets=[positions, account_balance], resources=resources), instance=instance,
        asset_selection=dg.AssetSelection.assets("account_balance"), cursor=cursor)
    return dg.AssetKey("account_balance") in {r.key for r in result.results if r.true_subset.size}, result.cursor


def _materialize_balance(resources, instance) -> dg.ExecuteInProcessResult:
    return dg.materialize([account_balance, *balance_checks], resources=resources, instance=instance)


def test_account_balance_follows_each_exit_and_settlement_and_its_checks_hold(
        warehouse_url, resources, position_key, dagster_instance):
    """account_balance is downstream of positions: an exit (or settlement) job's positions
    materialization requests it; its materialization shows the balance the exit left and its
    checks (SCD2 invariants, the paper balance equal to the ledger's sum) pass."""
    requested, cursor = _balance_requested(resources, dagster_instance)
    assert not requested, "nothing traded through Dagster yet: positions was never materialized"
    _quote(warehouse_url, yes_bid=D("0.4500"))
    request = _tick(position_exit_sensor(), resources, dagster_instance,
                    _tick(position_exit_sensor(), resources, dagster_instance).cursor).run_requests[0]
    assert position_exit_job.execute_in_process(run_config=request.run_config, resources=resources,
                                                instance=dagster_instance).success

    requested, cursor = _balance_requested(resources, dagster_instance, cursor)
    assert requested
    result = _materialize_balance(resources, dagster_instance)
    assert result.success
    [materialization] = result.asset_materializations_for_node("account_balance")
    with connect(warehouse_url) as conn:
        stored = conn.execute("SELECT balance FROM account_balance_current").fetchone()[0]
    assert materialization.metadata["balance_exact"].value == str(stored)
    assert materialization.metadata["balance"].value == float(stored)
    assert stored == D("1000") - D("22.80") - D("0.69") + D("18.00") - materialization_fee(warehouse_url)
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks["paper_balance_follows_the_ledger"] and all(checks.values()), checks
    assert not _balance_requested(resources, dagster_instance, cursor)[0], "requested again with nothing new"


def materialization_fee(warehouse_url) -> D:
    with connect(warehouse_url) as conn:
        return conn.execute("SELECT fee FROM trades WHERE purpose = 'exit'").fetchone()[0]


def test_a_balance_that_left_the_ledger_fails_its_check_naming_both_amounts(warehouse_url, resources,
                                                                            position_key, dagster_instance):
    with connect(warehouse_url) as conn:
        adjust_balance(conn, "kalshi:paper", D("0.01"), "trade", datetime.now(timezone.utc))
        conn.commit()
    result = _materialize_balance(resources, dagster_instance)
    [failed] = [e for e in result.get_asset_check_evaluations() if e.check_name == "paper_balance_follows_the_ledger"]
    assert not failed.passed
    text = str(failed.metadata)
    assert "kalshi:paper" in text and "976.52" in text and "976.51" in text, text
