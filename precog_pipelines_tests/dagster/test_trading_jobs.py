"""The exit and settlement sensors and jobs, and the failure alarm, run through Dagster."""

from __future__ import annotations

import json
from decimal import Decimal as D

import dagster as dg
import pytest

from precog_pipelines.defs.trading.jobs import position_exit_job, settlement_job
from precog_pipelines.defs.trading.sensors import (
    alert_on_run_failure,
    market_settlement_sensor,
    position_exit_sensor,
)
from precog_pipelines.lib.warehouse.server import connect
from precog_pipelines.resources.trading import AlertingResource, TradingResource
from precog_pipelines.resources.warehouse import WarehouseResource
from precog_pipelines_tests.conftest import paper_resources
from precog_pipelines_tests.support import factories as f

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


def test_live_mode_and_prod_must_be_spelled_exactly(resources, dagster_instance):
    config = {"ops": {"settle_market_op": {"config": {"ticker": TICKER}}}}
    run = settlement_job.execute_in_process(run_config=config, raise_on_error=False, instance=dagster_instance,
                                            resources=resources | {"trading": TradingResource(
                                                trading_mode="LIVE", kalshi=resources["kalshi"])})
    assert not run.success
    assert "PRECOG_TRADING_MODE 'LIVE' is not one of paper, live" in str(run.all_events)
