"""Partial exits on the real warehouse with the paper executor: a bid thinner than the position
sells part of it, books one exit row for that part, keeps the rest open as a new version, and
the next exit (or the settlement) books the rest; the position's P&L is exact to the cent."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

import pytest
from psycopg.rows import dict_row

from precog_pipelines.lib.trading import ledger
from precog_pipelines.lib.trading.executors import PaperExecutor
from precog_pipelines.lib.trading.exit_flow import exit_position
from precog_pipelines.lib.trading.risk import realized_loss_today
from precog_pipelines.lib.warehouse.scd2_merge import revise_current
from precog_pipelines.lib.warehouse.server import connect
from precog_pipelines_tests.support import factories as f
from precog_pipelines_tests.support.factories import NOW
from precog_pipelines_tests.support.paper_exits import TICKER, clock

SEED = D("1000")
ENTRY_COST = D("40") * D("0.57") + D("0.69")


def _quote(url: str, yes_bid: str, size: str, minutes: int) -> None:
    """A new market version quoting the held (YES) side: the paper executor's book."""
    with connect(url) as conn:
        revise_current(conn, "markets", {"ticker": TICKER}, {"yes_bid": D(yes_bid), "yes_bid_size": D(size)},
                       f.session_start() + timedelta(minutes=minutes))
        conn.commit()


def _exit(url: str, key: str, run: str):
    with connect(url) as conn:
        return exit_position(conn, key, "stop_loss", 3, PaperExecutor(clock), ledger.PAPER_ACCOUNT, run, clock)


def _rows(url: str, query: str, *params) -> list[dict]:
    with connect(url) as conn, conn.cursor(row_factory=dict_row) as cursor:
        return cursor.execute(query, params).fetchall()


def _balance(url: str) -> D:
    return _rows(url, "SELECT balance FROM account_balance_current WHERE account_key = 'kalshi:paper'")[0]["balance"]


def test_a_thin_bid_sells_part_and_the_next_exit_sells_the_rest(warehouse_url, position_key):
    _quote(warehouse_url, "0.46", "25", minutes=1)

    first = _exit(warehouse_url, position_key, "run-1")

    # 25 sold at the bid; the walk went on for the 15 left (the quote's size was used up) and ended.
    assert (first.status, first.sold, first.remaining, first.fill_price) == (
        "partially_exited", D("25"), D("15"), D("0.4600"))
    assert first.realized_pnl == D("-3.6212")  # 25 x 0.46 - 0.44 fee - (25 x 0.57 + 0.4312 of the entry fee)
    attempts = _rows(warehouse_url, "SELECT attempt_number, limit_price, outcome, filled_quantity FROM exit_attempts "
                                    "ORDER BY attempt_number")
    assert [(a["outcome"], a["filled_quantity"]) for a in attempts] == [
        ("partially_filled", D("25")), ("not_filled", 0), ("not_filled", 0), ("not_filled", 0)]
    assert [a["limit_price"] for a in attempts[:3]] == [D("0.4600"), D("0.4500"), D("0.4400")]
    versions = _rows(warehouse_url, "SELECT status, quantity, entry_fee, realized_pnl FROM positions "
                                    "WHERE position_key = %s ORDER BY id", position_key)
    assert versions == [
        {"status": "open", "quantity": D("40"), "entry_fee": D("0.69"), "realized_pnl": None},
        {"status": "open", "quantity": D("15"), "entry_fee": D("0.2588"), "realized_pnl": None}]
    assert _balance(warehouse_url) == SEED - ENTRY_COST + D("25") * D("0.46") - D("0.44")
    # The daily loss limit counts the part sold at a loss although the position is still open.
    [sold] = _rows(warehouse_url, "SELECT x.exited_at, p.strategy_id FROM position_exits x "
                                  "JOIN positions p ON p.id = x.position_id")
    with connect(warehouse_url) as conn:
        assert realized_loss_today(conn, sold["strategy_id"], sold["exited_at"]) == D("3.6212")

    _quote(warehouse_url, "0.50", "100", minutes=2)
    second = _exit(warehouse_url, position_key, "run-2")

    assert (second.status, second.sold, second.remaining, second.realized_pnl) == (
        "exited", D("15"), D("0"), D("-1.5788"))
    exits = _rows(warehouse_url, "SELECT quantity, exit_price, fee, realized_pnl, attempts FROM position_exits "
                                 "ORDER BY id")
    assert exits == [
        {"quantity": D("25"), "exit_price": D("0.46"), "fee": D("0.44"), "realized_pnl": D("-3.6212"), "attempts": 1},
        {"quantity": D("15"), "exit_price": D("0.50"), "fee": D("0.27"), "realized_pnl": D("-1.5788"), "attempts": 5}]
    [closed] = _rows(warehouse_url, "SELECT * FROM positions_current WHERE position_key = %s", position_key)
    # The closed version is the whole position: all 40 contracts, the whole entry fee, the
    # average exit price and the P&L of both parts: proceeds - exit fees - what was paid.
    assert (closed["status"], closed["quantity"], closed["entry_fee"], closed["exit_price"]) == (
        "closed", D("40"), D("0.69"), D("0.4750"))
    assert closed["realized_pnl"] == D("19.00") - D("0.71") - ENTRY_COST == D("-5.20")
    assert _balance(warehouse_url) == SEED + closed["realized_pnl"]
    trades = _rows(warehouse_url, "SELECT quantity FROM trades WHERE purpose = 'exit' ORDER BY id")
    assert [t["quantity"] for t in trades] == [D("25"), D("15")]


def test_the_settlement_closes_what_a_partial_exit_left(warehouse_url, position_key):
    _quote(warehouse_url, "0.46", "25", minutes=1)
    assert _exit(warehouse_url, position_key, "run-1").status == "partially_exited"

    with connect(warehouse_url) as conn:
        ledger.record_settlement(conn, TICKER, "yes", D("1"), NOW + timedelta(hours=4), None, {"result": "yes"})
        settled = ledger.settle_open_positions(conn, TICKER, D("1"), NOW + timedelta(hours=4),
                                               {"paper": ledger.PAPER_ACCOUNT}, clock())
        conn.commit()

    # The 15 left pay 1 each: 15 - (15 x 0.57 + 0.2588) = 6.1912, plus the -3.6212 of the 25 sold.
    assert settled == [(position_key, D("2.5700"))]
    [position] = _rows(warehouse_url, "SELECT * FROM positions_current WHERE position_key = %s", position_key)
    assert (position["status"], position["quantity"], position["entry_fee"], position["realized_pnl"]) == (
        "settled", D("40"), D("0.69"), D("11.50") + D("15") - D("0.44") - ENTRY_COST)
    assert position["exit_price"] == D("0.6625")  # (25 x 0.46 + 15 x 1) / 40
    assert _balance(warehouse_url) == SEED + D("2.57")
    assert len(_rows(warehouse_url, "SELECT id FROM position_exits")) == 1


def test_an_exit_fill_larger_than_the_position_is_refused_and_books_nothing(warehouse_url, position_key):
    with connect(warehouse_url) as conn:
        position = ledger.lock_open_position(conn, position_key)
        fill = ledger.Fill(D("0.46"), D("41"), D("0.70"), "x-1", None, NOW)
        with pytest.raises(ValueError, match="exit fill of 41 contracts exceeds the 40.00 position"):
            ledger.book_exit_fill(conn, position, "stop_loss", fill, 1, ledger.PAPER_ACCOUNT, clock())
        conn.rollback()
    assert _rows(warehouse_url, "SELECT id FROM position_exits") == []
