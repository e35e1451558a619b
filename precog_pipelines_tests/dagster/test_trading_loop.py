"""The whole trading loop through Dagster, against the sandbox exchange and real PostgreSQL:
markets open, edges appear, positions open, a stop loss exits one, another rides to the end,
the game finishes, the market settles and the P&L is booked, once. On the way, the exit sensor
marks the open positions at their bids, again only where a price moved."""

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
from precog_pipelines.defs.trading.jobs import position_exit_job, settlement_job
from precog_pipelines.defs.trading.sensors import market_settlement_sensor, position_exit_sensor
from precog_pipelines.lib.trading.halts import halt_trading, resume_trading
from precog_pipelines.lib.warehouse.server import connect
from precog_pipelines.resources.trading import TradingResource
from precog_pipelines.sandbox import SandboxConfig, SandboxServer
from precog_pipelines_tests.conftest import sandbox_resources

pytestmark = pytest.mark.slow
INGESTION = [kalshi_series, kalshi_events, kalshi_markets, game_states]


@pytest.fixture
def sandbox(kalshi_key):
    """A frozen sandbox whose week starts now: the exit sensor's clock is the real one, so the
    markets' close times must be real future times for the time exit to stay quiet."""
    start = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    with SandboxServer(SandboxConfig(start=start, speed=0, api_keys={kalshi_key.key_id: kalshi_key.public_key})) as server:
        yield server


@pytest.fixture
def resources(rated_warehouse_url, sandbox, kalshi_key):
    return sandbox_resources(rated_warehouse_url, sandbox, kalshi_key)


def _run(assets, resources, instance) -> dg.ExecuteInProcessResult:
    result = dg.materialize(assets, resources=resources, instance=instance)
    assert result.success
    return result


def _tick(sensor, resources, instance, cursor=None) -> dg.SensorResult:
    with dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources) as context:
        return sensor(context)


def _fall_through_stop(sandbox, position: dict) -> None:
    """Quote the position's market so that the side it holds bids two cents under its stop."""
    bid = position["stop_loss_price"] - D("0.02")
    yes_bid = bid if position["side"] == "yes" else D("1") - bid - D("0.02")
    sandbox.set_quotes(position["ticker"], yes_bid=yes_bid, yes_ask=yes_bid + D("0.02"),
                       yes_bid_size=D("500"), yes_ask_size=D("500"))


def _mark_count(url: str) -> int:
    with connect(url) as conn:
        return conn.execute("SELECT count(*) FROM position_marks").fetchone()[0]


def _rows(conn, query: str, *params) -> list[dict]:
    from psycopg.rows import dict_row

    with conn.cursor(row_factory=dict_row) as cursor:
        return cursor.execute(query, params).fetchall()


def test_edge_to_position_to_exit_and_settlement(resources, dagster_instance, rated_warehouse_url, sandbox):
    world = {g["event_ticker"]: g for g in sandbox.describe_world()["games"]}

    # Before any kickoff: markets open, edges appear, positions open (one per game).
    first = _run(INGESTION + [edges, positions], resources, dagster_instance)
    with connect(rated_warehouse_url) as conn:
        edge_count = conn.execute("SELECT count(*) FROM edges_current WHERE edge > 0").fetchone()[0]
        opened = _rows(conn, "SELECT p.*, t.event_ticker FROM positions_current p "
                             "JOIN market_tickers t USING (ticker) ORDER BY p.edge_id")
    assert edge_count > 0
    assert len(opened) >= 2
    assert len({p["event_ticker"] for p in opened}) == len(opened)
    stopped, riding = opened[0], opened[1]

    # A run that opens nothing describes the book under the same keys as one that opened positions.
    first_metadata = first.asset_materializations_for_node("positions")[0].metadata
    again = _run([positions], resources, dagster_instance).asset_materializations_for_node("positions")[0].metadata
    assert (first_metadata["opened"].value, again["opened"].value) == (len(opened), 0)
    assert set(again) == set(first_metadata)
    assert again["open_positions"].value == len(opened) and again["exposure"].value == float(
        sum(p["quantity"] * p["entry_price"] + p["entry_fee"] for p in opened))

    # The exit sensor marks every open position at its bid once, then only what the market moved.
    marks = _tick(position_exit_sensor(), resources, dagster_instance)
    assert marks.run_requests == [] and _mark_count(rated_warehouse_url) == len(opened)
    _tick(position_exit_sensor(), resources, dagster_instance, marks.cursor)
    assert _mark_count(rated_warehouse_url) == len(opened)
    listed = CliRunner().invoke(precog, ["positions", "--database-url", rated_warehouse_url])
    assert listed.exit_code == 0 and all(p["position_key"] in listed.output for p in opened)
    assert "not marked yet" not in listed.output

    # The price falls through one position's stop: the exit sensor fires once, the job exits once.
    _fall_through_stop(sandbox, stopped)
    _run([kalshi_markets], resources, dagster_instance)
    tick = _tick(position_exit_sensor(), resources, dagster_instance)
    assert _mark_count(rated_warehouse_url) == len(opened) + 1
    with connect(rated_warehouse_url) as conn:
        assert conn.execute("SELECT position_key, mark_price FROM position_marks ORDER BY id DESC LIMIT 1").fetchone() == (
            stopped["position_key"], stopped["stop_loss_price"] - D("0.02"))
    [request] = tick.run_requests
    assert request.run_key == f"exit:{stopped['position_key']}:stop_loss"
    for _ in range(2):
        assert position_exit_job.execute_in_process(run_config=request.run_config, resources=resources,
                                                    instance=dagster_instance).success
    assert _tick(position_exit_sensor(), resources, dagster_instance, tick.cursor).run_requests == []

    # Every game finishes and its markets settle; the settlement sensor fires once per market held.
    sandbox.clear_quotes()
    finalized = max(g["finalized_at"] for g in world.values() if g["finalized_at"])
    sandbox.set_time(datetime.fromisoformat(finalized.replace("Z", "+00:00")) + timedelta(minutes=1))
    _run([kalshi_markets, game_states], resources, dagster_instance)
    settle = _tick(market_settlement_sensor(), resources, dagster_instance)
    held = sorted(p["ticker"] for p in opened[1:])
    assert sorted(r.run_key for r in settle.run_requests) == [f"settle:{t}" for t in held]
    for request in settle.run_requests * 2:  # every settlement run twice: booked once
        assert settlement_job.execute_in_process(run_config=request.run_config, resources=resources,
                                                 instance=dagster_instance).success
    assert _tick(market_settlement_sensor(), resources, dagster_instance, settle.cursor).run_requests == []

    with connect(rated_warehouse_url) as conn:
        final = {p["position_key"]: p for p in _rows(conn, "SELECT * FROM positions_current")}
        count = lambda table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: E731
        exit_row = _rows(conn, "SELECT * FROM position_exits")
        balance = conn.execute("SELECT balance FROM account_balance_current "
                               "WHERE account_key = 'kalshi:paper'").fetchone()[0]
        entries = count("trades WHERE purpose = 'entry'")
        assert (entries, count("trades WHERE purpose = 'exit'")) == (len(opened), 1)
        assert (count("position_exits"), count("exit_attempts"), count("settlements")) == (1, 1, len(held))
        assert count("positions") == 2 * len(opened)  # each position: opened, then closed once
        assert count("account_balance") == 1 + len(opened) + 1 + len(held)

    assert final[stopped["position_key"]]["status"] == "closed"
    assert final[stopped["position_key"]]["exit_reason"] == "stop_loss"
    assert exit_row[0]["exit_price"] == stopped["stop_loss_price"] - D("0.02")
    for position in opened[1:]:
        game = world[position["event_ticker"]]
        won = (position["ticker"] == game["markets"][game["winner"]]) == (position["side"] == "yes")
        payout = position["quantity"] * (1 if won else 0)
        cost = position["quantity"] * position["entry_price"] + position["entry_fee"]
        assert (final[position["position_key"]]["status"], final[position["position_key"]]["realized_pnl"]) == (
            "settled", payout - cost)
    assert balance == D("1000") + sum(p["realized_pnl"] for p in final.values())
    assert riding["position_key"] in final


def test_live_mode_trades_through_the_exchange(resources, dagster_instance, rated_warehouse_url, sandbox,
                                               kalshi_key):
    live = resources | {"trading": TradingResource(trading_mode="live", kalshi=resources["kalshi"])}
    _run(INGESTION + [edges, positions], live, dagster_instance)
    with connect(rated_warehouse_url) as conn:
        opened = _rows(conn, "SELECT * FROM positions_current ORDER BY edge_id")
        entry_orders = _rows(conn, "SELECT external_order_id, client_order_id FROM trades")
    assert opened and {p["trading_mode"] for p in opened} == {"live"}
    assert all(t["external_order_id"].startswith("sbx-") for t in entry_orders)

    _fall_through_stop(sandbox, opened[0])
    _run([kalshi_markets], live, dagster_instance)
    [request] = _tick(position_exit_sensor(), live, dagster_instance).run_requests
    assert position_exit_job.execute_in_process(run_config=request.run_config, resources=live,
                                                instance=dagster_instance).success

    with resources["kalshi"].client() as client:
        fills = list(client.iter_fills())
    with connect(rated_warehouse_url) as conn:
        exit_trade = _rows(conn, "SELECT * FROM trades WHERE purpose = 'exit'")[0]
        demo = conn.execute("SELECT balance FROM account_balance_current WHERE account_key = 'kalshi:demo'").fetchone()
        paper = conn.execute("SELECT count(*) FROM account_balance WHERE account_key = 'kalshi:paper'").fetchone()
    assert len(fills) == len(opened) + 1
    assert exit_trade["external_order_id"].startswith("sbx-") and exit_trade["book_side"] in ("bid", "ask")
    assert demo is not None and paper == (1,)  # live trading never touches the paper account


def test_no_entry_while_halted_and_entries_again_after_resume(resources, dagster_instance, rated_warehouse_url):
    with connect(rated_warehouse_url) as conn:
        halt_trading(conn, "testing the kill switch", "manual", "tester")
    _run(INGESTION + [edges], resources, dagster_instance)
    halted = _run([positions], resources, dagster_instance)

    metadata = halted.asset_materializations_for_node("positions")[0].metadata
    assert metadata["opened"].value == 0
    assert "halted: testing the kill switch" in metadata["skipped"].value
    with connect(rated_warehouse_url) as conn:
        assert conn.execute("SELECT count(*) FROM positions").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM edges_current WHERE edge > 0").fetchone()[0] > 0
        resume_trading(conn, "tester")
    resumed = _run([positions], resources, dagster_instance)
    assert resumed.asset_materializations_for_node("positions")[0].metadata["opened"].value >= 2
