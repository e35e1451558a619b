"""The exit scan on real PostgreSQL: rules fire from market history, peaks survive between scans."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

import pytest

from precog_pipelines.lib.trading.monitor import scan_open_positions
from precog_pipelines.lib.warehouse.scd2_merge import revise_current
from precog_pipelines.lib.warehouse.server import connect
from precog_pipelines_tests.support import factories as f

TICKER = "KXNFLGAME-26SEP13DALNYG-DAL"


@pytest.fixture
def conn(warehouse_url):
    with connect(warehouse_url) as conn:
        f.paper_position(conn, f.session_start())
        yield conn


def _quote(conn, minutes: int, yes_bid: str) -> None:
    bid = D(yes_bid)
    revise_current(conn, "markets", {"ticker": TICKER},
                   {"yes_bid": bid, "yes_ask": bid + D("0.02"), "no_bid": D("0.98") - bid, "no_ask": 1 - bid},
                   f.session_start() + timedelta(minutes=minutes))
    conn.commit()


def _scan(conn, after_id: int = 0, now=f.NOW):
    # The factory market closes two weeks after f.NOW; the time exit fires 30 minutes before.
    return scan_open_positions(conn, now, after_id, 100)


def test_nothing_fires_at_the_entry_price(conn):
    result = _scan(conn)
    assert (result.scanned, result.candidates) == (1, [])


def test_stop_loss_fires_when_the_bid_falls_through_the_stop(conn):
    _quote(conn, 5, "0.46")
    [candidate] = _scan(conn).candidates
    assert (candidate.signal.rule, candidate.signal.trigger_price) == ("stop_loss", D("0.4600"))


def test_trailing_stop_uses_the_peak_from_market_history(conn):
    _quote(conn, 5, "0.75")
    _quote(conn, 10, "0.70")
    assert _scan(conn).candidates == []
    _quote(conn, 15, "0.64")
    [candidate] = _scan(conn).candidates
    assert (candidate.signal.rule, candidate.peak_price) == ("trailing_stop", D("0.7500"))


def test_time_exit_fires_before_close(conn):
    close = conn.execute("SELECT close_time FROM markets_current").fetchone()[0]
    assert _scan(conn, now=close - timedelta(minutes=31)).candidates == []
    assert [c.signal.rule for c in _scan(conn, now=close - timedelta(minutes=30)).candidates] == ["time_exit"]


def test_profit_target_fires_at_the_target(conn):
    _quote(conn, 5, "0.77")
    assert [c.signal.rule for c in _scan(conn).candidates] == ["profit_target"]


def test_closed_market_and_closed_position_are_not_scanned(conn):
    revise_current(conn, "markets", {"ticker": TICKER}, {"status": "closed", "yes_bid": D("0.10")},
                   f.session_start() + timedelta(minutes=5))
    conn.commit()
    assert _scan(conn).scanned == 0


def test_scan_resumes_after_the_last_id(conn):
    first = _scan(conn)
    assert _scan(conn, after_id=first.last_position_id).scanned == 0
