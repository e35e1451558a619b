"""Recording entries, exits and settlements on real PostgreSQL: once, even when repeated or raced."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from decimal import Decimal as D

import pytest
from psycopg.rows import dict_row

from precog_pipelines.lib.trading import ledger
from precog_pipelines.lib.trading.strategy import StrategyConfigError, parse_strategy
from precog_pipelines.lib.warehouse.server import connect
from precog_pipelines_tests.support import factories as f
from precog_pipelines_tests.support.factories import NOW

ACCOUNTS = {"paper": ledger.PAPER_ACCOUNT}
# Ledger versions must start after the paper account's initial balance, seeded at migration time.


def at(**delta) -> datetime:
    return f.session_start() + timedelta(**delta)


def _strategy(conn):
    # The version the positions asset trades: 1.1 (with risk limits) since sql/0070.
    row = conn.execute("SELECT id, strategy_name, strategy_version, config FROM strategies "
                       "WHERE strategy_name = 'default_paper' AND is_active").fetchone()
    return parse_strategy(*row)


def _fill(price: str, quantity: str = "40.00", fee: str = "0.69", order: str = "o-1", minutes: int = 0):
    return ledger.Fill(price=D(price), quantity=D(quantity), fee=D(fee), client_order_id=order,
                       external_order_id=None, executed_at=NOW + timedelta(minutes=minutes))


def _balance(conn) -> D:
    return conn.execute("SELECT balance FROM account_balance_current WHERE account_key = 'kalshi:paper'").fetchone()[0]


@pytest.fixture
def opened(warehouse_url):
    """A paper position opened from one edge; yields (url, position_key)."""
    with connect(warehouse_url) as conn:
        edge = f.edge(conn)
        key = ledger.open_position(conn, _strategy(conn), edge, _fill("0.57"), "paper", ledger.PAPER_ACCOUNT,
                                   at(seconds=1))
        conn.commit()
    return warehouse_url, key


def test_default_strategy_parses_into_decimals(db):
    strategy = _strategy(db)
    assert (strategy.min_edge, strategy.stake_per_trade, strategy.max_open_exposure) == (
        D("0.03"), D("25.00"), D("250.00"))
    assert strategy.exit_rules.stop_loss == D("0.10") and strategy.limit_attempts == 3


@pytest.mark.parametrize("config,message", [
    ({"stake_per_trade": "1", "max_open_exposure": "1"}, "min_edge is missing"),
    ({"min_edge": "abc", "stake_per_trade": "1", "max_open_exposure": "1"}, "min_edge 'abc' is not a number"),
    ({"min_edge": 0.05, "stake_per_trade": "1", "max_open_exposure": "1"}, "min_edge 0.05 must be a string"),
    ({"min_edge": "1.5", "stake_per_trade": "1", "max_open_exposure": "1"}, "min_edge '1.5' is outside 0..1"),
    ({"min_edge": "0.1", "stake_per_trade": "1", "max_open_exposure": "1", "exit_rules": {"limit_attempts": 0}},
     "limit_attempts 0 must be an integer >= 1"),
])
def test_bad_strategy_config_names_field_and_value(config, message):
    with pytest.raises(StrategyConfigError, match=message):
        parse_strategy(1, "probe", "1.0", config)


def test_entry_records_position_trade_and_cash(opened):
    url, key = opened
    with connect(url) as conn:
        position = conn.execute(
            "SELECT status, quantity, entry_price, entry_fee, stop_loss_price, target_price, peak_price "
            "FROM positions_current WHERE position_key = %s", (key,)).fetchone()
        trade = conn.execute("SELECT purpose, side, action, book_side, quantity, price, fee FROM trades").fetchone()
        assert position == ("open", D("40.00"), D("0.5700"), D("0.6900"), D("0.4700"), D("0.7700"), D("0.5700"))
        assert trade == ("entry", "yes", "buy", "bid", D("40.00"), D("0.5700"), D("0.6900"))
        assert _balance(conn) == D("1000") - D("22.80") - D("0.69")


def test_opening_from_the_same_edge_twice_writes_nothing(opened):
    url, key = opened
    with connect(url) as conn:
        with conn.cursor(row_factory=dict_row) as cursor:
            edge = cursor.execute("SELECT * FROM edges").fetchone()
        again = ledger.open_position(conn, _strategy(conn), edge, _fill("0.57", order="o-2"), "paper",
                                     ledger.PAPER_ACCOUNT, at(seconds=2))
        conn.commit()
        assert again is None
        assert conn.execute("SELECT count(*) FROM trades").fetchone()[0] == 1


def test_exit_books_trade_exit_row_closed_version_and_cash(opened):
    url, key = opened
    with connect(url) as conn:
        position = ledger.lock_open_position(conn, key)
        attempt = ledger.record_exit_attempt(conn, position, "stop_loss", "limit", D("0.46"), "filled",
                                             _fill("0.46", fee="0.70", order="x-1", minutes=5), None, "run-1")
        realized = ledger.book_exit_fill(conn, position, "stop_loss", _fill("0.46", fee="0.70", order="x-1",
                                                                            minutes=5), attempt,
                                         ledger.PAPER_ACCOUNT, at(minutes=5)).position_realized_pnl
        conn.commit()

        assert realized == D("40") * D("0.46") - D("0.70") - (D("40") * D("0.57") + D("0.69"))
        assert conn.execute("SELECT status, exit_reason, realized_pnl FROM positions_current").fetchone() == (
            "closed", "stop_loss", realized)
        assert conn.execute("SELECT count(*) FROM positions WHERE position_key = %s", (key,)).fetchone()[0] == 2
        assert conn.execute("SELECT exit_reason, attempts FROM position_exits").fetchone() == ("stop_loss", 1)
        assert _balance(conn) == D("1000") + realized
        assert ledger.lock_open_position(conn, key) is None


def test_settlement_closes_open_positions_once(opened):
    url, key = opened

    def settle() -> list:
        with connect(url) as conn:
            ledger.record_settlement(conn, "KXNFLGAME-26SEP13DALNYG-DAL", "yes", D("1.0000"),
                                     NOW + timedelta(hours=4), None, {"result": "yes"})
            settled = ledger.settle_open_positions(conn, "KXNFLGAME-26SEP13DALNYG-DAL", D("1.0000"),
                                                   NOW + timedelta(hours=4), ACCOUNTS, at(hours=5))
            conn.commit()
            return settled

    first, second = settle(), settle()

    assert first == [(key, D("40") - D("22.80") - D("0.69"))] and second == []
    with connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM settlements").fetchone()[0] == 1
        assert conn.execute("SELECT status, exit_reason FROM positions_current").fetchone() == (
            "settled", "settlement")
        assert _balance(conn) == D("1000") + first[0][1]


def test_racing_exit_and_settlement_book_the_position_once(opened):
    url, key = opened
    barrier, outcomes = threading.Barrier(2), {}

    def exit_it() -> None:
        with connect(url) as conn:
            barrier.wait()
            position = ledger.lock_open_position(conn, key)
            if position is not None:
                fill = _fill("0.46", fee="0.70", order="x-1", minutes=5)
                ledger.book_exit_fill(conn, position, "stop_loss", fill, 1, ledger.PAPER_ACCOUNT, at(minutes=5))
            outcomes["exit"] = position is not None
            conn.commit()

    def settle_it() -> None:
        with connect(url) as conn:
            barrier.wait()
            outcomes["settle"] = bool(ledger.settle_open_positions(
                conn, "KXNFLGAME-26SEP13DALNYG-DAL", D("0"), NOW + timedelta(hours=4), ACCOUNTS,
                at(hours=5)))
            conn.commit()

    threads = [threading.Thread(target=exit_it), threading.Thread(target=settle_it)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes.values()) == [False, True]
    with connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM positions_current WHERE status <> 'open'").fetchone()[0] == 1
        assert conn.execute("SELECT count(*) FROM account_balance").fetchone()[0] == 3


def test_a_balance_change_stamped_before_the_current_version_follows_it(opened):
    """Finding 1 (the CheckViolation): a job that waited on the balance behind a job stamped later
    (its clock was read first) versions the balance just after that one, adding to it, instead of
    closing the current version before it started."""
    url, _ = opened
    with connect(url) as conn:
        before = _balance(conn)
        later = ledger.adjust_balance(conn, ledger.PAPER_ACCOUNT, D("10"), "settlement", at(hours=2))
        earlier = ledger.adjust_balance(conn, ledger.PAPER_ACCOUNT, D("5"), "settlement", at(hours=1))
        conn.commit()
        history = conn.execute("SELECT balance, row_start_ts, row_end_ts FROM account_balance "
                               "WHERE account_key = 'kalshi:paper' ORDER BY id DESC LIMIT 2").fetchall()
    assert (later, earlier) == (before + D("10"), before + D("15"))
    [(_, newest_start, newest_end), (_, previous_start, previous_end)] = history
    assert newest_end is None and previous_end == newest_start > previous_start
