"""Marks through Dagster: each position_exit_sensor evaluation marks the open positions at the
bid of the side held and stores a mark only when it changed; `open_positions` and
`precog positions` show the latest one, and the sensor reports position_marks materialized with the
book and the result of its check; an exit at the mark realizes exactly the unrealized P&L
marked; every materialization of `positions` carries the book's state under the same keys."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal as D

import dagster as dg
from click.testing import CliRunner

from precog_pipelines.cli import precog
from precog_pipelines.defs.trading.checks import mark_checks
from precog_pipelines.defs.trading.jobs import position_exit_job, settlement_job
from precog_pipelines.defs.trading.sensors import position_exit_sensor
from precog_pipelines.lib.trading.halts import halt_trading
from precog_pipelines.lib.warehouse.server import connect
from precog_pipelines_tests.conftest import paper_resources
from precog_pipelines_tests.support import factories as f
from precog_pipelines_tests.support.warehouse_checks import execute_checks

TICKER = "KXNFLGAME-26SEP13DALNYG-DAL"
BOOK_KEYS = {"open_positions", "open_positions_table", "unmarked_positions", "exposure", "unrealized_pnl",
             "realized_pnl_to_date", "positions_by_status"}


def _tick(resources, instance, cursor=None) -> dg.SensorResult:
    with dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources) as context:
        return position_exit_sensor()(context)


def _marks(url: str) -> list[tuple]:
    with connect(url) as conn:
        return conn.execute("SELECT position_key, mark_price, peak_price, unrealized_pnl FROM position_marks "
                            "ORDER BY id").fetchall()


def test_the_exit_sensor_marks_on_change_and_an_exit_at_the_mark_realizes_it(warehouse_url, dagster_instance, tmp_path):
    resources = paper_resources(warehouse_url)
    # The factories' paper position: yes, 40 at 0.57 with a 0.69 fee, on a market bidding 0.55.
    position_key = f.open_paper_position(warehouse_url)
    first = _tick(resources, dagster_instance)
    assert first.run_requests == []
    assert _marks(warehouse_url) == [(position_key, D("0.55"), D("0.57"), D("-2.19"))]
    # The tick reports position_marks materialized, with the book as marked: the page shows it.
    reported, checked = first.asset_events
    assert reported.asset_key == dg.AssetKey("position_marks")
    assert (checked.asset_key, checked.check_name, checked.passed) == (
        dg.AssetKey("position_marks"), "every_open_position_is_marked", True)
    assert BOOK_KEYS <= set(reported.metadata) and reported.metadata["marks_changed"].value == 1
    assert (reported.metadata["unrealized_pnl"].value, reported.metadata["unmarked_positions"].value) == (-2.19, 0)
    assert f"| {position_key} | {TICKER} | yes | 40.00 | 0.5700 | 0.5500 | -2.1900 | 0m |" in (
        reported.metadata["open_positions_table"].value)

    # No price change (and a change the holder's bid does not see): nothing more is stored or reported.
    assert _tick(resources, dagster_instance, first.cursor).asset_events == []
    f.requote(warehouse_url, yes_ask=D("0.5800"))
    assert _tick(resources, dagster_instance, first.cursor).asset_events == []
    assert len(_marks(warehouse_url)) == 1

    f.requote(warehouse_url, yes_bid=D("0.6200"))
    assert _tick(resources, dagster_instance, first.cursor).run_requests == []
    assert _marks(warehouse_url)[1:] == [(position_key, D("0.62"), D("0.62"), D("0.65"))]

    cli = CliRunner().invoke(precog, ["positions", "--database-url", warehouse_url,
                                      "--output", str(tmp_path / "open.jsonl")])
    assert cli.exit_code == 0, cli.output
    [line] = [row for row in cli.output.splitlines() if row.startswith(position_key)]
    assert line.split()[1:9] == [TICKER, "yes", "40.00", "0.5700", "0.6200", "0.6200", "$0.65", "$23.49"]
    assert "1 open position(s), cost $23.49, unrealized P&L $0.65" in cli.output
    [written] = [json.loads(row) for row in (tmp_path / "open.jsonl").read_text().splitlines()]
    assert (written["position_key"], written["mark_price"], written["unrealized_pnl"], written["cost"]) == (
        position_key, "0.6200", "0.6500", "23.490000")

    # Through the stop: the sensor marks the fall and asks for the exit, which fills at that bid.
    f.requote(warehouse_url, yes_bid=D("0.4500"))
    [request] = _tick(resources, dagster_instance, first.cursor).run_requests
    assert _marks(warehouse_url)[-1] == (position_key, D("0.45"), D("0.62"), D("-6.19"))
    run = position_exit_job.execute_in_process(run_config=request.run_config, resources=resources,
                                               instance=dagster_instance)
    assert run.success
    with connect(warehouse_url) as conn:
        assert conn.execute("SELECT realized_pnl FROM positions_current").fetchone()[0] == D("-6.19")
    metadata = run.asset_materializations_for_node("exit_position_op")[0].metadata
    assert BOOK_KEYS <= set(metadata)
    assert (metadata["open_positions"].value, metadata["exposure"].value, metadata["unrealized_pnl"].value,
            metadata["realized_pnl_to_date"].value, metadata["exit_realized_pnl"].value) == (0, 0.0, 0.0, -6.19, "-6.190000")
    assert "| closed | 1 |" in metadata["positions_by_status"].value

    # Nothing open: nothing to mark, and `precog positions` says so.
    _tick(resources, dagster_instance, first.cursor)
    assert len(_marks(warehouse_url)) == 3
    assert CliRunner().invoke(precog, ["positions", "--database-url", warehouse_url]).output == "no open positions\n"


def test_positions_are_marked_while_a_halt_blocks_exits(warehouse_url, dagster_instance):
    resources, position_key = paper_resources(warehouse_url), f.open_paper_position(warehouse_url)
    with connect(warehouse_url) as conn:
        halt_trading(conn, "exchange outage", "manual", "tester", blocks_exits=True)
        conn.commit()
    f.requote(warehouse_url, yes_bid=D("0.4500"))

    held = _tick(resources, dagster_instance)

    assert held.run_requests == [] and held.skip_reason.skip_message.startswith("halted: exchange outage")
    assert _marks(warehouse_url) == [(position_key, D("0.45"), D("0.57"), D("-6.19"))]


def test_marks_that_cannot_be_stored_raise_an_alert_and_the_exit_is_still_requested(warehouse_url, dagster_instance):
    resources, position_key = paper_resources(warehouse_url), f.open_paper_position(warehouse_url)
    with connect(warehouse_url) as conn:
        # A fault in the warehouse itself, not in our code: every insert into position_marks fails.
        conn.execute("CREATE FUNCTION refuse_marks() RETURNS trigger LANGUAGE plpgsql AS "
                     "$$ BEGIN RAISE EXCEPTION 'disk full (injected)'; END $$")
        conn.execute("CREATE TRIGGER refuse_marks BEFORE INSERT ON position_marks "
                     "FOR EACH ROW EXECUTE FUNCTION refuse_marks()")
        conn.commit()
    f.requote(warehouse_url, yes_bid=D("0.4500"))

    [request] = _tick(resources, dagster_instance).run_requests

    assert request.run_key == f"exit:{position_key}:stop_loss"
    assert _marks(warehouse_url) == []
    with connect(warehouse_url) as conn:
        assert conn.execute("SELECT severity, component, message FROM alerts").fetchall() == [
            ("error", "position_exit_sensor", "position marks not recorded: RaiseException: disk full (injected)")]


def test_a_settlement_reports_the_book_under_the_same_keys_as_an_exit(warehouse_url, dagster_instance):
    resources = paper_resources(warehouse_url)
    f.open_paper_position(warehouse_url)
    f.requote(warehouse_url, status="determined", result="yes", settlement_value=D("1.0000"))

    run = settlement_job.execute_in_process(run_config={"ops": {"settle_market_op": {"config": {"ticker": TICKER}}}},
                                            resources=resources, instance=dagster_instance)

    metadata = run.asset_materializations_for_node("settle_market_op")[0].metadata
    assert BOOK_KEYS <= set(metadata)
    assert (metadata["open_positions"].value, metadata["realized_pnl_to_date"].value,
            metadata["settlement_realized_pnl"].value) == (0, 16.51, "16.510000")
    assert "| settled | 1 |" in metadata["positions_by_status"].value


def _run_marks_check(url: str, instance: dg.DagsterInstance) -> dg.AssetCheckEvaluation:
    # Launched as the UI's "Execute" on the check launches it: position_marks is no run's asset.
    [evaluation] = execute_checks(url, instance, list(mark_checks))
    return evaluation


def test_an_open_position_left_unmarked_fails_the_marks_check_until_the_sensor_marks_it(warehouse_url, dagster_instance):
    resources = paper_resources(warehouse_url)
    with connect(warehouse_url) as conn:
        # Opened ten minutes ago and never marked: what a stopped position_exit_sensor leaves.
        position_key = f.paper_position(conn, datetime.now(timezone.utc) - timedelta(minutes=10))
    unmarked = _run_marks_check(warehouse_url, dagster_instance)
    assert (unmarked.check_name, unmarked.passed, unmarked.metadata["violations"].value) == (
        "every_open_position_is_marked", False, 1)
    assert position_key in unmarked.metadata["examples"].value

    reported = _tick(resources, dagster_instance).asset_events[1]
    assert (reported.check_name, reported.passed) == ("every_open_position_is_marked", True)
    assert _run_marks_check(warehouse_url, dagster_instance).passed
