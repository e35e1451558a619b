"""Partial exits through Dagster (issue 13, item 3): the exit sensor requests position_exit_job,
the book bids for only 40% of the position, the job sells that part and leaves the rest open as a
new version; the sensor asks again for the rest, which the next run sells (or the settlement
closes). Live (signed KalshiExecutor on the sandbox exchange, whose resting-only book is used up
as it fills) and paper (the warehouse's quote, whose size a paper exit takes once)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import ROUND_FLOOR
from decimal import Decimal as D

import dagster as dg
import pytest
from psycopg.rows import dict_row

from precog_pipelines.defs.edges.assets import edges
from precog_pipelines.defs.espn.assets import game_states
from precog_pipelines.defs.kalshi.assets import kalshi_events, kalshi_markets, kalshi_series
from precog_pipelines.defs.portfolio import assets as portfolio
from precog_pipelines.defs.portfolio.checks import exchange_and_ledger_agree as reconciliation_check
from precog_pipelines.defs.trading.assets import positions
from precog_pipelines.defs.trading.jobs import position_exit_job, settlement_job
from precog_pipelines.defs.trading.sensors import market_settlement_sensor, position_exit_sensor
from precog_pipelines.lib.quality.rules import position_exits_add_up
from precog_pipelines.lib.warehouse.server import connect
from precog_pipelines.sandbox import SandboxConfig, SandboxServer
from precog_pipelines_tests.conftest import sandbox_resources
from precog_pipelines_tests.support.ledger_agreement import exchange_and_ledger_agree, paper_ledger_is_whole

pytestmark = pytest.mark.slow
DEEP = D("5000")


@pytest.fixture
def sandbox(kalshi_key):
    """Frozen at a week starting now: the exit sensor's clock is the real one."""
    start = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    with SandboxServer(SandboxConfig(start=start, speed=0, api_keys={kalshi_key.key_id: kalshi_key.public_key})) as server:
        yield server


def _resources(mode: str, warehouse_url, sandbox, kalshi_key, instance) -> dict:
    resources = sandbox_resources(warehouse_url, sandbox, kalshi_key, trading_mode=mode)
    assert dg.materialize([kalshi_series, kalshi_events, kalshi_markets, game_states, edges, positions],
                          resources=resources, instance=instance).success
    return resources


def _rows(warehouse_url: str, query: str, *params) -> list[dict]:
    with connect(warehouse_url) as conn, conn.cursor(row_factory=dict_row) as cursor:
        return cursor.execute(query, params).fetchall()


def _first_open(warehouse_url: str) -> dict:
    return _rows(warehouse_url, "SELECT * FROM positions_current WHERE status = 'open' ORDER BY position_key")[0]


def _bid_under_stop(sandbox, position: dict, size: D, *, resting_only: bool) -> None:
    """The held side bids two cents under the position's stop, ``size`` contracts deep (a
    resting-only book: that size is all there is, and selling into it uses it up)."""
    bid = position["stop_loss_price"] - D("0.02")
    if position["side"] == "yes":
        sandbox.set_quotes(position["ticker"], yes_bid=bid, yes_ask=bid + D("0.02"), yes_bid_size=size,
                           yes_ask_size=DEEP, resting_only=resting_only)
    else:  # a NO bid is a YES ask
        sandbox.set_quotes(position["ticker"], yes_bid=D("1") - bid - D("0.02"), yes_ask=D("1") - bid,
                           yes_bid_size=DEEP, yes_ask_size=size, resting_only=resting_only)


def _exit_requests(resources, instance, key: str) -> list[dg.RunRequest]:
    with dg.build_sensor_context(instance=instance, resources=resources) as context:
        result = position_exit_sensor()(context)
    return [r for r in result.run_requests if r.tags["precog/position"] == key]


def _run_exit(request: dg.RunRequest, resources, instance) -> dg.ExecuteInProcessResult:
    result = position_exit_job.execute_in_process(run_config=request.run_config, resources=resources,
                                                  instance=instance, tags=request.tags)
    assert result.success
    return result


def _exit_materialization(result: dg.ExecuteInProcessResult) -> dict:
    [event] = result.get_asset_materialization_events()
    return {k: v.value for k, v in event.materialization.metadata.items()}


def _position_pnl_from_trades(warehouse_url: str, key: str, settled_payout: D = D(0)) -> D:
    """What the position made, from its trades alone: exit proceeds less exit fees, plus a
    settlement payout, less what the entry cost (price and fee)."""
    [row] = _rows(warehouse_url,
                  "SELECT sum(CASE WHEN purpose = 'exit' THEN quantity * price - fee "
                  "ELSE -(quantity * price + fee) END) AS flow FROM trades WHERE position_key = %s", key)
    return row["flow"] + settled_payout


def _sell_part_then_check(mode: str, resources, warehouse_url, sandbox, instance) -> tuple[dict, D, D]:
    """First exit run: the book bids for 40% of the position. Returns (position, part, rest)."""
    position = _first_open(warehouse_url)
    key, held = position["position_key"], position["quantity"]
    part = (held * D("0.4")).quantize(D(1), rounding=ROUND_FLOOR)
    _bid_under_stop(sandbox, position, part, resting_only=True)
    assert dg.materialize([kalshi_markets], resources=resources, instance=instance).success

    [request] = _exit_requests(resources, instance, key)
    assert request.run_key == f"exit:{key}:stop_loss"
    metadata = _exit_materialization(_run_exit(request, resources, instance))

    rest = held - part
    assert (metadata["status"], D(metadata["contracts_sold"]), D(metadata["contracts_left"])) == (
        "partially_exited", part, rest)
    [first_exit] = _rows(warehouse_url, "SELECT * FROM position_exits WHERE position_key = %s", key)
    assert first_exit["quantity"] == part
    versions = _rows(warehouse_url, "SELECT status, quantity, entry_fee, row_current_ind FROM positions "
                                    "WHERE position_key = %s ORDER BY id", key)
    assert [(v["status"], v["quantity"], v["row_current_ind"]) for v in versions] == [
        ("open", held, False), ("open", rest, True)]
    # The part sold carries its share of the entry fee (to the hundredth of a cent); the rest keeps the remainder.
    fee_share = (position["entry_fee"] * part / held).quantize(D("0.0001"))
    assert versions[1]["entry_fee"] == position["entry_fee"] - fee_share
    assert first_exit["realized_pnl"] == (part * first_exit["exit_price"] - first_exit["fee"]
                                          - (part * position["entry_price"] + fee_share))
    outcomes = [a["outcome"] for a in _rows(warehouse_url, "SELECT outcome FROM exit_attempts WHERE position_key = %s "
                                                           "ORDER BY attempt_number", key)]
    assert outcomes[0] == "partially_filled" and set(outcomes[1:]) == {"not_filled"}
    with connect(warehouse_url) as conn:
        assert position_exits_add_up(conn).passed
    if mode == "live":
        state = exchange_and_ledger_agree(resources, warehouse_url)
        assert abs(state["held"][position["ticker"]]) == rest
    else:
        paper_ledger_is_whole(warehouse_url)
    return position, part, rest


@pytest.mark.parametrize("mode", ["live", "paper"])
def test_an_exit_fills_40_percent_then_the_rest(mode, rated_warehouse_url, sandbox, kalshi_key, dagster_instance):
    resources = _resources(mode, rated_warehouse_url, sandbox, kalshi_key, dagster_instance)
    position, part, rest = _sell_part_then_check(mode, resources, rated_warehouse_url, sandbox, dagster_instance)
    key = position["position_key"]

    # The book fills up again; the rule still fires: the sensor asks for the rest under a new key.
    _bid_under_stop(sandbox, position, DEEP, resting_only=False)
    assert dg.materialize([kalshi_markets], resources=resources, instance=dagster_instance).success
    [request] = _exit_requests(resources, dagster_instance, key)
    rest_text = f"{rest.normalize():f}"
    assert request.run_key == f"exit:{key}:stop_loss:{rest_text}left"
    assert request.tags["precog/exit_quantity"] == rest_text
    metadata = _exit_materialization(_run_exit(request, resources, dagster_instance))
    assert (metadata["status"], D(metadata["contracts_sold"]), D(metadata["contracts_left"])) == ("exited", rest, 0)

    exits = _rows(rated_warehouse_url, "SELECT quantity, realized_pnl FROM position_exits WHERE position_key = %s "
                                       "ORDER BY id", key)
    assert [e["quantity"] for e in exits] == [part, rest]
    [closed] = _rows(rated_warehouse_url, "SELECT * FROM positions_current WHERE position_key = %s", key)
    assert (closed["status"], closed["quantity"], closed["entry_fee"]) == (
        "closed", position["quantity"], position["entry_fee"])
    # The position's P&L is its exit rows' and what its trades say, to the cent.
    assert closed["realized_pnl"] == sum(e["realized_pnl"] for e in exits)
    assert closed["realized_pnl"] == _position_pnl_from_trades(rated_warehouse_url, key)
    assert _exit_requests(resources, dagster_instance, key) == []
    with connect(rated_warehouse_url) as conn:
        assert position_exits_add_up(conn).passed
    if mode == "live":
        assert position["ticker"] not in exchange_and_ledger_agree(resources, rated_warehouse_url)["held"]
    else:
        paper_ledger_is_whole(rated_warehouse_url)


def test_the_settlement_closes_the_contracts_a_partial_exit_left(rated_warehouse_url, sandbox, kalshi_key,
                                                                  dagster_instance):
    resources = _resources("live", rated_warehouse_url, sandbox, kalshi_key, dagster_instance)
    position, part, rest = _sell_part_then_check("live", resources, rated_warehouse_url, sandbox, dagster_instance)
    key, ticker = position["position_key"], position["ticker"]

    # The game ends and the market settles before any further exit.
    sandbox.clear_quotes()
    game = next(g for g in sandbox.describe_world()["games"] if ticker.startswith(g["event_ticker"]))
    sandbox.set_time(datetime.fromisoformat(game["finalized_at"].replace("Z", "+00:00")) + timedelta(minutes=1))
    assert dg.materialize([kalshi_markets, game_states], resources=resources, instance=dagster_instance).success
    with dg.build_sensor_context(instance=dagster_instance, resources=resources) as context:
        requests = market_settlement_sensor()(context).run_requests
    assert ticker in {r.tags["precog/ticker"] for r in requests}
    for request in requests:  # other games may have finished by then too: the exchange settled them all
        assert settlement_job.execute_in_process(run_config=request.run_config, resources=resources,
                                                 instance=dagster_instance).success

    [settled] = _rows(rated_warehouse_url, "SELECT * FROM positions_current WHERE position_key = %s", key)
    [market] = _rows(rated_warehouse_url, "SELECT settlement_value FROM settlements WHERE ticker = %s", ticker)
    per_contract = market["settlement_value"] if position["side"] == "yes" else 1 - market["settlement_value"]
    assert (settled["status"], settled["quantity"]) == ("settled", position["quantity"])
    [exit_row] = _rows(rated_warehouse_url, "SELECT realized_pnl FROM position_exits WHERE position_key = %s", key)
    # The settlement paid the rest, and only the rest: the P&L is the trades' flow plus that payout.
    assert settled["realized_pnl"] == _position_pnl_from_trades(rated_warehouse_url, key, rest * per_contract)
    assert settled["realized_pnl"] - exit_row["realized_pnl"] == (
        rest * per_contract - rest * position["entry_price"]
        - (position["entry_fee"] - _fee_share_of(rated_warehouse_url, key)))
    with resources["kalshi"].client() as client:
        exchange = [s for s in client.iter_settlement_payloads(ticker=ticker)]
    [record] = exchange
    assert D(record["yes_count_fp"] if position["side"] == "yes" else record["no_count_fp"]) == rest
    # The portfolio run reconciles: the exchange settled the rest, the ledger's settled version
    # holds the whole position and its exit rows the part sold before.
    reconciled = dg.materialize([portfolio.exchange_orders, portfolio.exchange_fills, portfolio.exchange_positions,
                                 portfolio.exchange_settlements, portfolio.reconciliation, reconciliation_check],
                                resources=resources, instance=dagster_instance, raise_on_error=False)
    [check] = reconciled.get_asset_check_evaluations()
    assert check.passed, check.metadata
    assert ticker not in exchange_and_ledger_agree(resources, rated_warehouse_url)["held"]
    with connect(rated_warehouse_url) as conn:
        assert position_exits_add_up(conn).passed


def _fee_share_of(warehouse_url: str, key: str) -> D:
    """The entry fee the exited part carried: the first version's fee less the second's."""
    fees = [r["entry_fee"] for r in _rows(warehouse_url, "SELECT entry_fee FROM positions WHERE position_key = %s "
                                                         "ORDER BY id LIMIT 2", key)]
    return fees[0] - fees[1]
