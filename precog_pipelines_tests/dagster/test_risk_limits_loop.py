"""Risk limits through Dagster on the sandbox exchange: a strategy driven into each limit gets a
`risk_refusals` row and a warning alert for the refused entry, and the exchange never sees its
order; reaching the daily loss limit halts trading, and exits still run at the limit."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal as D

import dagster as dg
import pytest
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from precog_pipelines.defs.edges.assets import edges
from precog_pipelines.defs.espn.assets import game_states
from precog_pipelines.defs.kalshi.assets import kalshi_events, kalshi_markets, kalshi_series
from precog_pipelines.defs.trading.assets import positions
from precog_pipelines.defs.trading.jobs import position_exit_job
from precog_pipelines.defs.trading.sensors import position_exit_sensor
from precog_pipelines.lib.trading.halts import trading_state
from precog_pipelines.lib.warehouse.server import connect
from precog_pipelines.resources.trading import TradingResource
from precog_pipelines.sandbox import SandboxConfig, SandboxServer
from precog_pipelines_tests.conftest import sandbox_resources

pytestmark = pytest.mark.slow
INGESTION = [kalshi_series, kalshi_events, kalshi_markets, game_states]
STRATEGY = "risky"
# Limits none of the runs below comes near; each test tightens one.
LOOSE = {"max_daily_loss": "1000.00", "max_open_exposure": "250.00", "max_game_exposure": "250.00",
         "max_series_exposure": "250.00", "max_contracts_per_order": 100000, "max_orders_per_minute": 1000}


@pytest.fixture
def sandbox(kalshi_key):
    """A frozen sandbox whose week starts now (the exit sensor's clock is the real one)."""
    start = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    with SandboxServer(SandboxConfig(start=start, speed=0, api_keys={kalshi_key.key_id: kalshi_key.public_key})) as server:
        yield server


def _resources(url, sandbox, kalshi_key, mode: str) -> dict:
    resources = sandbox_resources(url, sandbox, kalshi_key)
    return resources | {"trading": TradingResource(trading_mode=mode, kalshi=resources["kalshi"])}


def _strategy(url: str, **limits: object) -> None:
    config = {"min_edge": "0.03", "stake_per_trade": "25.00",
              "exit_rules": {"stop_loss": "0.10", "profit_target": "0.20", "exit_minutes_before_close": 30},
              "risk_limits": LOOSE | limits}
    with connect(url) as conn:
        conn.execute("INSERT INTO strategies (strategy_name, strategy_version, config) VALUES (%s, '1.0', %s)",
                     (STRATEGY, Jsonb(config)))


def _materialize(assets, resources, instance) -> dg.ExecuteInProcessResult:
    config = {"ops": {"positions": {"config": {"strategy": STRATEGY}}}} if positions in assets else None
    result = dg.materialize(assets, resources=resources, instance=instance, run_config=config)
    assert result.success
    return result


def _rows(url: str, query: str, *params) -> list[dict]:
    with connect(url) as conn, conn.cursor(row_factory=dict_row) as cursor:
        return cursor.execute(query, params).fetchall()


def _exchange_orders(resources) -> dict[str, str]:
    """Client order id -> action of every order the sandbox exchange received."""
    with resources["kalshi"].client() as client:
        return {order.client_order_id: order.book_side for order in client.iter_orders()}


@pytest.mark.parametrize(("mode", "limit", "value", "opened"), [
    ("live", "max_contracts_per_order", 1, 0),
    ("paper", "max_contracts_per_order", 1, 0),
    ("live", "max_game_exposure", "10.00", 0),
    ("live", "max_orders_per_minute", 1, 1),
    ("live", "max_open_exposure", "30.00", 1),
    ("live", "max_series_exposure", "30.00", 1),
])
def test_each_limit_refuses_the_entry_with_a_row_an_alert_and_no_order(
        rated_warehouse_url, sandbox, kalshi_key, dagster_instance, mode, limit, value, opened):
    url = rated_warehouse_url
    resources = _resources(url, sandbox, kalshi_key, mode)
    _strategy(url, **{limit: value})
    result = _materialize(INGESTION + [edges, positions], resources, dagster_instance)

    refusals = _rows(url, "SELECT * FROM risk_refusals ORDER BY id")
    alerts = _rows(url, "SELECT * FROM alerts WHERE component = 'trading.risk'")
    held = _rows(url, "SELECT * FROM positions_current WHERE status = 'open'")
    sent = _rows(url, "SELECT client_order_id FROM entry_orders")
    assert len(held) == opened
    assert refusals and {r["limit_name"] for r in refusals} == {limit}
    for row in refusals:
        assert row["limit_value"] == D(str(value)) and row["would_be_value"] > row["limit_value"]
        assert row["trading_mode"] == mode and row["edge_id"] is not None and f"{limit} {value}" in row["message"]
    [alert] = alerts
    assert (alert["severity"], alert["occurrence_count"], alert["details"]["limit"]) == (
        "warning", len(refusals), limit)
    # Told once to the shipped routing's warning channels (repeats within the window are counted).
    assert _rows(url, "SELECT channel, state FROM alert_deliveries WHERE alert_id = %s ORDER BY channel",
                 alert["id"]) == [{"channel": "alerts_file", "state": "delivered"},
                                  {"channel": "log", "state": "delivered"}]
    metadata = result.asset_materializations_for_node("positions")[0].metadata
    assert f"risk limit: {limit}" in metadata["skipped"].value and limit in metadata["risk_refusals"].value

    # The exchange saw exactly the orders the limits let through, and none for a refused edge.
    at_exchange = _exchange_orders(resources)
    refused_ids = {f"entry-{STRATEGY}-1.0-edge{r['edge_id']}" for r in refusals}
    assert set(at_exchange) == ({s["client_order_id"] for s in sent} if mode == "live" else set())
    assert not refused_ids & set(at_exchange) and len(sent) == opened


def test_the_daily_loss_limit_halts_entries_and_exits_still_run(rated_warehouse_url, sandbox, kalshi_key,
                                                                 dagster_instance):
    url = rated_warehouse_url
    resources = _resources(url, sandbox, kalshi_key, "live")
    # Any realized loss reaches a one-cent daily limit; two positions fit the exposure limit.
    _strategy(url, max_daily_loss="0.01", max_open_exposure="60.00")
    _materialize(INGESTION + [edges, positions], resources, dagster_instance)
    opened = _rows(url, "SELECT * FROM positions_current WHERE status = 'open' ORDER BY edge_id")
    assert len(opened) == 2 and trading_state_of(url).entries_allowed

    # A stop loss realizes a loss: the exit runs although it takes the strategy to its limit.
    _exit_through_stop(resources, dagster_instance, sandbox, opened[0])
    [closed] = _rows(url, "SELECT * FROM positions_current WHERE position_key = %s", opened[0]["position_key"])
    assert closed["status"] == "closed" and closed["realized_pnl"] < 0
    orders_before = _exchange_orders(resources)

    # The next positions run refuses the entry, halts trading and sends nothing.
    result = _materialize([edges, positions], resources, dagster_instance)
    state = trading_state_of(url)
    assert (state.halted, state.source, state.actor) == (True, "daily_loss", "risk_limits")
    assert state.reason.startswith(f"daily loss limit reached: {STRATEGY} v1.0 lost {-closed['realized_pnl']}")
    [refusal] = _rows(url, "SELECT * FROM risk_refusals WHERE limit_name = 'max_daily_loss'")
    assert (refusal["limit_value"], refusal["would_be_value"], refusal["unit"]) == (
        D("0.01"), -closed["realized_pnl"], "dollars")
    [alert] = _rows(url, "SELECT * FROM alerts WHERE component = 'trading.risk' "
                         "AND details->>'limit' = 'max_daily_loss'")
    assert alert["severity"] == "warning"
    assert result.asset_materializations_for_node("positions")[0].metadata["opened"].value == 0
    assert _exchange_orders(resources) == orders_before

    # Halted at the limit, the other position still exits through its stop, at the exchange.
    _exit_through_stop(resources, dagster_instance, sandbox, opened[1])
    [second] = _rows(url, "SELECT * FROM positions_current WHERE position_key = %s", opened[1]["position_key"])
    assert second["status"] == "closed" and len(_exchange_orders(resources)) == len(orders_before) + 1

    # Until a person resumes, later runs skip as halted and add no refusal.
    later = _materialize([positions], resources, dagster_instance)
    assert "halted: daily loss limit reached" in later.asset_materializations_for_node("positions")[0].metadata[
        "skipped"].value
    assert len(_rows(url, "SELECT * FROM risk_refusals WHERE limit_name = 'max_daily_loss'")) == 1


def trading_state_of(url: str):
    with connect(url) as conn:
        return trading_state(conn)


def _exit_through_stop(resources, instance, sandbox, position: dict) -> None:
    """Quote the position's market two cents under its stop, then let the exit sensor and job run."""
    bid = position["stop_loss_price"] - D("0.02")
    yes_bid = bid if position["side"] == "yes" else D("1") - bid - D("0.02")
    sandbox.set_quotes(position["ticker"], yes_bid=yes_bid, yes_ask=yes_bid + D("0.02"),
                       yes_bid_size=D("500"), yes_ask_size=D("500"))
    _materialize([kalshi_markets], resources, instance)
    with dg.build_sensor_context(instance=instance, resources=resources) as context:
        requests = [r for r in position_exit_sensor()(context).run_requests
                    if r.run_key.startswith(f"exit:{position['position_key']}:")]
    [request] = requests
    assert position_exit_job.execute_in_process(run_config=request.run_config, resources=resources,
                                                instance=instance).success
