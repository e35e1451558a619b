"""An order is sent at most once (issue 13, item 0), live against the sandbox exchange (signed
KalshiExecutor): the positions asset (entries) and position_exit_job (exits) are run in a forked
process that SIGKILLs itself at one point of an order's life (the inert hook of
lib/trading/kill_points.py, named by PRECOG_TEST_KILL_AT):

- ``*_before_send``: the order is recorded (committed) and not yet sent;
- ``*_after_send``: the exchange has the order (and filled it), its outcome is not stored;
- ``*_after_store``: the outcome (and the position opened or closed) is committed.

The job is then run again, unkilled, and the exchange's own order, fill and position lists
(signed GET /portfolio/orders, /fills, /positions) must agree with the ledger, with no client
order id sent twice and every recorded order given exactly one outcome."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import dagster as dg
import pytest

from precog_pipelines.defs.edges.assets import edges
from precog_pipelines.defs.espn.assets import game_states
from precog_pipelines.defs.kalshi.assets import kalshi_events, kalshi_markets, kalshi_series
from precog_pipelines.defs.trading.assets import positions
from precog_pipelines.defs.trading.jobs import position_exit_job
from precog_pipelines.lib.warehouse.server import connect
from precog_pipelines.sandbox import SandboxConfig, SandboxServer
from precog_pipelines_tests.conftest import sandbox_resources
from precog_pipelines_tests.support.kill import killed_at
from precog_pipelines_tests.support.ledger_agreement import exchange_and_ledger_agree, paper_ledger_is_whole

pytestmark = pytest.mark.slow
POINTS = ("before_send", "after_send", "after_store")


@pytest.fixture
def sandbox(kalshi_key):
    start = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    with SandboxServer(SandboxConfig(start=start, speed=0, api_keys={kalshi_key.key_id: kalshi_key.public_key})) as server:
        yield server


@pytest.fixture
def live(rated_warehouse_url, sandbox, kalshi_key, dagster_instance):
    resources = sandbox_resources(rated_warehouse_url, sandbox, kalshi_key, trading_mode="live")
    assert dg.materialize([kalshi_series, kalshi_events, kalshi_markets, game_states, edges], resources=resources,
                          instance=dagster_instance).success
    return resources




@pytest.mark.parametrize("point", POINTS)
def test_a_live_entry_killed_at_each_point_is_booked_once(point, live, rated_warehouse_url, dagster_instance):
    killed_at(f"entry_{point}", lambda: dg.materialize([positions], resources=live))
    with connect(rated_warehouse_url) as conn:
        [(killed,)] = conn.execute("SELECT client_order_id FROM entry_orders").fetchall()
        attempts_before = conn.execute("SELECT count(*) FROM entry_attempts").fetchone()[0]
    assert attempts_before == (1 if point == "after_store" else 0)

    assert dg.materialize([positions], resources=live, instance=dagster_instance).success

    state = exchange_and_ledger_agree(live, rated_warehouse_url)
    with connect(rated_warehouse_url) as conn:
        outcome = conn.execute("SELECT outcome FROM entry_attempts WHERE client_order_id = %s", (killed,)).fetchall()
        opened = conn.execute("SELECT count(*) FROM positions WHERE row_current_ind AND status = 'open'").fetchone()[0]
    on_exchange = [order for order in state["orders"] if order.client_order_id == killed]
    if point == "before_send":
        # Never sent: recovery finds it unknown to the exchange and books it unfilled; it is not sent again.
        assert on_exchange == [] and outcome == [("not_filled",)]
    else:
        # Sent and filled: booked once from the exchange's record (after_send) or by the killed run.
        assert len(on_exchange) == 1 and outcome == [("filled",)] and killed in state["trades"]
    assert opened >= 1


@pytest.mark.parametrize("point", POINTS)
def test_a_live_exit_killed_at_each_point_is_booked_once(point, live, rated_warehouse_url, dagster_instance, sandbox):
    assert dg.materialize([positions], resources=live, instance=dagster_instance).success
    with connect(rated_warehouse_url) as conn:
        key, ticker, side = conn.execute("SELECT position_key, ticker, side FROM positions_current "
                                         "WHERE status = 'open' ORDER BY position_key LIMIT 1").fetchone()
    # The held side bids 0.50, deep enough to take the whole position at the first limit.
    yes_bid = Decimal("0.50") if side == "yes" else Decimal("0.48")
    sandbox.set_quotes(ticker, yes_bid=yes_bid, yes_ask=yes_bid + Decimal("0.02"), yes_bid_size="500",
                       yes_ask_size="500")
    run_config = {"ops": {"exit_position_op": {"config": {"position_key": key, "rule": "time_exit", "priority": 3}}}}

    killed_at(f"exit_{point}", lambda: position_exit_job.execute_in_process(run_config=run_config, resources=live))
    assert position_exit_job.execute_in_process(run_config=run_config, resources=live,
                                                instance=dagster_instance).success

    state = exchange_and_ledger_agree(live, rated_warehouse_url)
    with connect(rated_warehouse_url) as conn:
        status = conn.execute("SELECT status FROM positions_current WHERE position_key = %s", (key,)).fetchone()[0]
        exit_orders = [row[0] for row in conn.execute(
            "SELECT client_order_id FROM exit_orders WHERE position_key = %s ORDER BY id", (key,))]
        outcomes = [row[0] for row in conn.execute(
            "SELECT outcome FROM exit_attempts WHERE position_key = %s ORDER BY attempt_number", (key,))]
        exits = conn.execute("SELECT count(*) FROM position_exits WHERE position_key = %s", (key,)).fetchone()[0]
    sells = [order for order in state["orders"] if order.ticker == ticker and order.client_order_id.startswith("exit-")]
    assert status == "closed" and exits == 1
    assert len(sells) == 1, [order.client_order_id for order in sells]  # one sell reached the exchange
    if point == "before_send":
        # The recorded order never left: booked not_filled, and the rerun's own order sold.
        assert len(exit_orders) == 2 and outcomes == ["not_filled", "filled"]
        assert sells[0].client_order_id == exit_orders[1]
    else:
        assert len(exit_orders) == 1 and outcomes == ["filled"] and sells[0].client_order_id == exit_orders[0]
    assert ticker not in state["held"]


# ---- paper: the ledger is the whole account ------------------------------------------------------


@pytest.fixture
def paper(rated_warehouse_url, sandbox, kalshi_key, dagster_instance):
    resources = sandbox_resources(rated_warehouse_url, sandbox, kalshi_key)
    assert dg.materialize([kalshi_series, kalshi_events, kalshi_markets, game_states, edges], resources=resources,
                          instance=dagster_instance).success
    return resources


@pytest.mark.parametrize("point", POINTS)
def test_a_paper_entry_killed_at_each_point_is_booked_once(point, paper, rated_warehouse_url, dagster_instance):
    killed_at(f"entry_{point}", lambda: dg.materialize([positions], resources=paper))
    with connect(rated_warehouse_url) as conn:
        [(killed,)] = conn.execute("SELECT client_order_id FROM entry_orders").fetchall()

    assert dg.materialize([positions], resources=paper, instance=dagster_instance).success

    paper_ledger_is_whole(rated_warehouse_url)
    with connect(rated_warehouse_url) as conn:
        outcome = conn.execute("SELECT outcome FROM entry_attempts WHERE client_order_id = %s", (killed,)).fetchall()
    # A paper fill lost with its process never happened: booked unfilled, and not ordered again.
    assert outcome == ([("filled",)] if point == "after_store" else [("not_filled",)])


@pytest.mark.parametrize("point", POINTS)
def test_a_paper_exit_killed_at_each_point_is_booked_once(point, paper, rated_warehouse_url, dagster_instance,
                                                          sandbox):
    assert dg.materialize([positions], resources=paper, instance=dagster_instance).success
    with connect(rated_warehouse_url) as conn:
        key, ticker, side = conn.execute("SELECT position_key, ticker, side FROM positions_current "
                                         "WHERE status = 'open' ORDER BY position_key LIMIT 1").fetchone()
    yes_bid = Decimal("0.50") if side == "yes" else Decimal("0.48")
    sandbox.set_quotes(ticker, yes_bid=yes_bid, yes_ask=yes_bid + Decimal("0.02"), yes_bid_size="500",
                       yes_ask_size="500")
    assert dg.materialize([kalshi_markets], resources=paper, instance=dagster_instance).success
    run_config = {"ops": {"exit_position_op": {"config": {"position_key": key, "rule": "time_exit", "priority": 3}}}}

    killed_at(f"exit_{point}", lambda: position_exit_job.execute_in_process(run_config=run_config, resources=paper))
    assert position_exit_job.execute_in_process(run_config=run_config, resources=paper,
                                                instance=dagster_instance).success

    paper_ledger_is_whole(rated_warehouse_url)
    with connect(rated_warehouse_url) as conn:
        status = conn.execute("SELECT status FROM positions_current WHERE position_key = %s", (key,)).fetchone()[0]
        outcomes = [row[0] for row in conn.execute(
            "SELECT outcome FROM exit_attempts WHERE position_key = %s ORDER BY attempt_number", (key,))]
        exits = conn.execute("SELECT count(*) FROM position_exits WHERE position_key = %s", (key,)).fetchone()[0]
    assert status == "closed" and exits == 1
    assert outcomes == (["filled"] if point == "after_store" else ["not_filled", "filled"])


def test_a_live_exit_killed_after_a_partial_fill_books_the_part_and_sells_the_rest(live, rated_warehouse_url,
                                                                                  dagster_instance, sandbox):
    """Recovery of a partial fill (issue 13, item 3): the killed run's order sold 40% (the book had
    no more); the rerun books that part from the exchange's record and sells the rest itself."""
    assert dg.materialize([positions], resources=live, instance=dagster_instance).success
    with connect(rated_warehouse_url) as conn:
        key, ticker, side, held = conn.execute("SELECT position_key, ticker, side, quantity FROM positions_current "
                                               "WHERE status = 'open' ORDER BY position_key LIMIT 1").fetchone()
    part = (held * Decimal("0.4")).quantize(Decimal(1))
    yes_bid = Decimal("0.50") if side == "yes" else Decimal("0.48")
    thin = {"yes_bid_size": part, "yes_ask_size": "500"} if side == "yes" else {"yes_bid_size": "500",
                                                                                 "yes_ask_size": part}
    sandbox.set_quotes(ticker, yes_bid=yes_bid, yes_ask=yes_bid + Decimal("0.02"), resting_only=True, **thin)
    run_config = {"ops": {"exit_position_op": {"config": {"position_key": key, "rule": "time_exit", "priority": 3}}}}

    killed_at("exit_after_send", lambda: position_exit_job.execute_in_process(run_config=run_config, resources=live))
    sandbox.set_quotes(ticker, yes_bid=yes_bid, yes_ask=yes_bid + Decimal("0.02"), yes_bid_size="500",
                       yes_ask_size="500")
    assert position_exit_job.execute_in_process(run_config=run_config, resources=live,
                                                instance=dagster_instance).success

    state = exchange_and_ledger_agree(live, rated_warehouse_url)
    with connect(rated_warehouse_url) as conn:
        outcomes = conn.execute("SELECT outcome, filled_quantity FROM exit_attempts WHERE position_key = %s "
                                "ORDER BY attempt_number", (key,)).fetchall()
        exits = conn.execute("SELECT quantity, realized_pnl FROM position_exits WHERE position_key = %s ORDER BY id",
                             (key,)).fetchall()
        status, realized = conn.execute("SELECT status, realized_pnl FROM positions_current WHERE position_key = %s",
                                        (key,)).fetchone()
    assert outcomes == [("partially_filled", part), ("filled", held - part)]
    assert [quantity for quantity, _ in exits] == [part, held - part]
    assert status == "closed" and realized == sum(pnl for _, pnl in exits)
    sells = [order for order in state["orders"] if order.ticker == ticker and order.client_order_id.startswith("exit-")]
    assert sorted(order.fill_count for order in sells) == sorted([part, held - part])
    assert ticker not in state["held"]
