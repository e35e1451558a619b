"""Exiting a paper position through the real warehouse: walked prices, one booking, safe reruns."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal as D

import pytest

from precog_pipelines.lib.trading import ledger
from precog_pipelines.lib.trading.executors import PaperExecutor
from precog_pipelines.lib.trading.exit_flow import ExitNotFilled, exit_position
from precog_pipelines.lib.warehouse.scd2_merge import revise_current
from precog_pipelines.lib.warehouse.server import connect
from precog_pipelines_tests.support import factories as f
from precog_pipelines_tests.support.paper_exits import TICKER, clock


def _set_bid(url: str, yes_bid: str, size: str) -> None:
    with connect(url) as conn:
        revise_current(conn, "markets", {"ticker": TICKER}, {"yes_bid": D(yes_bid), "yes_bid_size": D(size)},
                       f.session_start() + timedelta(minutes=1))
        conn.commit()


def _exit(url: str, key: str):
    with connect(url) as conn:
        return exit_position(conn, key, "stop_loss", 3, PaperExecutor(clock), ledger.PAPER_ACCOUNT, "run-1", clock)


def test_exit_fills_at_the_bid_and_books_once(warehouse_url, position_key):
    _set_bid(warehouse_url, "0.46", "50")

    first = _exit(warehouse_url, position_key)
    second = _exit(warehouse_url, position_key)

    fee = D("0.70")  # 0.07 * 40 * 0.46 * 0.54 = 0.69552, rounded up
    assert (first.status, first.attempts, first.fill_price) == ("exited", 1, D("0.4600"))
    assert first.realized_pnl == D("40") * D("0.46") - fee - (D("40") * D("0.57") + D("0.69"))
    assert second.status == "already_closed"
    with connect(warehouse_url) as conn:
        assert conn.execute("SELECT count(*) FROM position_exits").fetchone()[0] == 1
        assert conn.execute("SELECT count(*) FROM trades WHERE purpose = 'exit'").fetchone()[0] == 1
        assert conn.execute("SELECT count(*) FROM exit_attempts").fetchone()[0] == 1


def test_unfilled_exit_walks_the_price_then_tries_a_market_order(warehouse_url, position_key):
    _set_bid(warehouse_url, "0.46", "0")

    with pytest.raises(ExitNotFilled, match="did not fill after 3 limit orders and a market order"):
        _exit(warehouse_url, position_key)

    with connect(warehouse_url) as conn:
        attempts = conn.execute("SELECT attempt_number, order_type, limit_price, outcome FROM exit_attempts "
                                "ORDER BY attempt_number").fetchall()
        assert attempts == [(1, "limit", D("0.4600"), "not_filled"), (2, "limit", D("0.4500"), "not_filled"),
                            (3, "limit", D("0.4400"), "not_filled"), (4, "market", None, "not_filled")]
        assert conn.execute("SELECT status FROM positions_current").fetchone() == ("open",)


def test_racing_exits_of_one_position_book_it_once(warehouse_url, position_key):
    _set_bid(warehouse_url, "0.46", "50")
    outcomes, barrier = [], threading.Barrier(2)

    def run() -> None:
        barrier.wait()
        outcomes.append(_exit(warehouse_url, position_key).status)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["already_closed", "exited"]
    with connect(warehouse_url) as conn:
        assert conn.execute("SELECT count(*) FROM position_exits").fetchone()[0] == 1


def test_a_market_that_stopped_trading_is_left_to_settle(warehouse_url, position_key):
    with connect(warehouse_url) as conn:
        revise_current(conn, "markets", {"ticker": TICKER}, {"status": "closed", "yes_bid_size": D("0")},
                       f.session_start() + timedelta(minutes=1))
        conn.commit()

    outcome = _exit(warehouse_url, position_key)

    assert (outcome.status, outcome.attempts) == ("market_closed", 0)
    with connect(warehouse_url) as conn:
        assert conn.execute("SELECT count(*) FROM exit_attempts").fetchone()[0] == 0
        assert conn.execute("SELECT status FROM positions_current").fetchone() == ("open",)
