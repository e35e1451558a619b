"""The marks writer and the open_positions view on a real warehouse: a mark is stored only when
it changed, the history is append-only, and the view shows each open position's current version
with the latest mark of that version."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

import pytest
from click.testing import CliRunner
from psycopg import errors

from precog_pipelines.cli import precog
from precog_pipelines.lib.trading.marks import Mark, book, open_positions, record_marks
from precog_pipelines.lib.warehouse.scd2_merge import revise_current
from precog_pipelines.lib.warehouse.server import connect
from precog_pipelines_tests.support import factories as f

TICKER = "KXNFLGAME-26SEP13DALNYG-DAL"


@pytest.fixture
def opened(warehouse_url):
    """(position_key, position_id, market_version_id, opened_at) of a paper position: 40 at 0.57."""
    at = f.session_start()
    with connect(warehouse_url) as conn:
        key = f.paper_position(conn, at)
        position_id, market_version_id = conn.execute(
            "SELECT p.id, m.id FROM positions_current p JOIN markets_current m USING (ticker)").fetchone()
    return key, position_id, market_version_id, at


def _mark(opened, mark: str, peak: str, pnl: str, **changes) -> Mark:
    key, position_id, market_version_id, _ = opened
    return Mark(key, changes.get("position_id", position_id), D(mark), D(peak), D(pnl),
                changes.get("market_version_id", market_version_id))


def _marks(conn) -> list[tuple]:
    return conn.execute("SELECT mark_price, peak_price, unrealized_pnl, marked_at FROM position_marks "
                        "ORDER BY id").fetchall()


def test_a_mark_is_stored_only_when_mark_peak_pnl_or_version_changed(warehouse_url, opened):
    at = opened[3] + timedelta(minutes=1)
    with connect(warehouse_url) as conn:
        assert record_marks(conn, [_mark(opened, "0.55", "0.57", "-2.19")], at) == 1
        # The same values again, even read from a newer market version: nothing stored.
        revise_current(conn, "markets", {"ticker": TICKER}, {"yes_ask": D("0.5800")}, at)
        newer_market = conn.execute("SELECT id FROM markets_current").fetchone()[0]
        assert newer_market != opened[2]
        assert record_marks(conn, [_mark(opened, "0.55", "0.57", "-2.19", market_version_id=newer_market)],
                            at + timedelta(seconds=30)) == 0
        assert record_marks(conn, [_mark(opened, "0.62", "0.62", "0.65")], at + timedelta(seconds=60)) == 1
        # Back down: the mark and the P&L change, the peak stays.
        assert record_marks(conn, [_mark(opened, "0.55", "0.62", "-2.19")], at + timedelta(seconds=90)) == 1
        # A new positions version (a partial exit's remaining quantity) is marked even at the same values.
        revised = revise_current(conn, "positions", {"position_key": opened[0]}, {"quantity": D("25")},
                                 at + timedelta(seconds=100))
        new_id = conn.execute("SELECT id FROM positions_current").fetchone()[0]
        assert revised and new_id != opened[1]
        assert record_marks(conn, [_mark(opened, "0.55", "0.62", "-2.19", position_id=new_id)],
                            at + timedelta(seconds=120)) == 1
        assert record_marks(conn, [], at + timedelta(seconds=150)) == 0
        conn.commit()
        assert [r[:3] for r in _marks(conn)] == [(D("0.5500"), D("0.5700"), D("-2.1900")),
                                                 (D("0.6200"), D("0.6200"), D("0.6500")),
                                                 (D("0.5500"), D("0.6200"), D("-2.1900")),
                                                 (D("0.5500"), D("0.6200"), D("-2.1900"))]
        assert _marks(conn)[-1][3] == at + timedelta(seconds=120)


def test_position_marks_is_append_only(db, warehouse_url, opened):
    with connect(warehouse_url) as conn:
        record_marks(conn, [_mark(opened, "0.55", "0.57", "-2.19")], opened[3])
        conn.commit()
    for statement, verb in (("UPDATE position_marks SET mark_price = 0.9", "UPDATE"),
                            ("DELETE FROM position_marks", "DELETE"), ("TRUNCATE position_marks", "TRUNCATE")):
        with pytest.raises(errors.RestrictViolation, match=f"position_marks is append-only: {verb}"):
            db.execute(statement)
    assert _marks(db)[0][:3] == (D("0.5500"), D("0.5700"), D("-2.1900"))


def test_a_mark_with_a_fifth_decimal_is_refused_and_nothing_is_stored(warehouse_url, opened):
    with connect(warehouse_url) as conn:
        with pytest.raises(errors.CheckViolation, match="price_at_most_4_decimals"):
            record_marks(conn, [_mark(opened, "0.55001", "0.57", "-2.19")], opened[3])
    with connect(warehouse_url) as conn:
        assert _marks(conn) == []


def test_open_positions_shows_the_current_version_with_that_versions_latest_mark(warehouse_url, opened):
    key, position_id, _, at = opened
    with connect(warehouse_url) as conn:
        [unmarked] = open_positions(conn)
        assert (unmarked["position_key"], unmarked["mark_price"], unmarked["unrealized_pnl"]) == (key, None, None)
        assert (unmarked["quantity"], unmarked["entry_price"], unmarked["cost"]) == (D("40"), D("0.57"), D("23.49"))
        assert (unmarked["strategy"], unmarked["strategy_version"], unmarked["trading_mode"]) == (
            "default_paper", "1.1", "paper")
        # Opened a minute ahead of the real clock (factories.session_start): the age is the view's now() less that.
        assert unmarked["opened_at"] == at and timedelta(minutes=-2) < unmarked["age"] < timedelta(0)

        record_marks(conn, [_mark(opened, "0.55", "0.57", "-2.19")], at + timedelta(minutes=1))
        record_marks(conn, [_mark(opened, "0.62", "0.62", "0.65")], at + timedelta(minutes=2))
        [marked] = open_positions(conn)
        assert (marked["mark_price"], marked["peak_price"], marked["unrealized_pnl"], marked["marked_at"]) == (
            D("0.62"), D("0.62"), D("0.65"), at + timedelta(minutes=2))
        state = book(conn, "paper")
        assert (state.exposure, state.unrealized_pnl, state.unmarked, state.realized_pnl_to_date, state.by_status) == (
            D("23.49"), D("0.65"), 0, D("0"), {"open": 1, "closed": 0, "settled": 0})
        assert open_positions(conn, "live") == [] and book(conn, "live").exposure == D("0")

        # A partial exit leaves 25 contracts as a new version: the view shows 25, unmarked until the next tick.
        revise_current(conn, "positions", {"position_key": key}, {"quantity": D("25"), "entry_fee": D("0.43")},
                       at + timedelta(minutes=3))
        [partial] = open_positions(conn)
        assert (partial["quantity"], partial["cost"], partial["mark_price"]) == (D("25"), D("14.68"), None)
        assert book(conn, "paper").unmarked == 1

        revise_current(conn, "positions", {"position_key": key}, {
            "status": "closed", "closed_at": at + timedelta(minutes=4), "exit_reason": "manual",
            "exit_price": D("0.62"), "realized_pnl": D("0.40")}, at + timedelta(minutes=4))
        assert open_positions(conn) == []
        assert (book(conn, "paper").realized_pnl_to_date, book(conn, "paper").by_status) == (
            D("0.40"), {"open": 0, "closed": 1, "settled": 0})


def test_the_schema_no_longer_promises_a_version_per_peak(db):
    comment = db.execute("SELECT obj_description('positions'::regclass)").fetchone()[0]
    assert "peak moved" not in comment and "position_marks" in comment


def test_precog_positions_refuses_an_output_folder_that_does_not_exist_in_one_line(warehouse_url, tmp_path):
    result = CliRunner().invoke(precog, ["positions", "--database-url", warehouse_url,
                                         "--output", str(tmp_path / "missing" / "open.jsonl")])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "does not exist" in result.output.splitlines()[-1]
