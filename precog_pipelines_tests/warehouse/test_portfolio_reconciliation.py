"""The exchange tables (lib/portfolio/store.py) and the reconciliation (lib/portfolio/
reconciliation.py) on real PostgreSQL, called directly: fills and settlements stored once,
orders and positions versioned, and every kind of difference found, confirmed when it should
be (an order placed outside Precog at once, a timing difference only when it persists) and acted
on (critical alert and halt in live mode, a warning in paper mode)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

import pytest

from precog_pipelines.lib.kalshi.models import Fill, MarketPosition, Order, Settlement
from precog_pipelines.lib.portfolio.reconciliation import act_on, find_differences, reconcile, report_markdown
from precog_pipelines.lib.portfolio.store import store_fills, store_orders, store_positions, store_settlements
from precog_pipelines.lib.trading.halts import trading_state
from precog_pipelines.lib.warehouse.server import connect
from precog_pipelines_tests.support import factories as f

ACCOUNT = "kalshi:demo"
TICKER = "KXNFLGAME-26SEP13DALNYG-DAL"
OTHER = "KXNFLGAME-26SEP13DALNYG-NYG"


@pytest.fixture
def db(warehouse_url):
    """A connection in one transaction (the staged loads need one), rolled back at the end."""
    with connect(warehouse_url) as conn:
        yield conn
        conn.rollback()


def _order(order_id: str, client_order_id: str, count: str, *, ticker: str = TICKER, status: str = "executed") -> Order:
    return Order(order_id, client_order_id, ticker, "yes", "bid", "limit", status, D("0.57"), D("0.43"), D(count),
                 D(0), D(count), D(count) * D("0.57"), D(0), D("0.18"), D(0), f.NOW, f.NOW)


def _fill(fill_id: str, order_id: str, count: str, *, ticker: str = TICKER) -> Fill:
    return Fill(fill_id, order_id, ticker, "yes", "bid", D(count), D("0.57"), D("0.43"), True, D("0.18"), f.NOW)


def _held(ticker: str, position: str) -> MarketPosition:
    return MarketPosition(ticker, D(position), D("5.70"), D("5.70"), D(0), D("0.18"), f.NOW)


def _settled(ticker: str, yes: str, no: str = "0") -> Settlement:
    return Settlement(ticker, "KXNFLGAME-26SEP13DALNYG", "yes", D(yes), D(no), D("5.70"), D(0), D(yes), D(1), D(0),
                      f.NOW)


def _exchange(db, *, orders=(), fills=(), held=(), settled=(), at=f.NOW) -> None:
    store_orders(db, ACCOUNT, orders, at)
    store_fills(db, ACCOUNT, fills)
    store_positions(db, ACCOUNT, held, at)
    store_settlements(db, ACCOUNT, settled)


def _live_position(db, quantity: str = "10", *, order_id: str = "sbx-1", client_order_id: str = "entry-1",
                   status: str = "open") -> int:
    """A live position the ledger opened through Precog: its entry order recorded before the send."""
    edge = f.edge(db)
    extra = ({"closed_at": f.NOW, "exit_reason": "settlement", "realized_pnl": D("4.12")}
             if status != "open" else {})
    position_id = f.position(db, trading_mode="live", quantity=D(quantity), edge_id=edge["id"], status=status, **extra)
    strategy_id = db.execute("SELECT strategy_id FROM positions WHERE id = %s", (position_id,)).fetchone()[0]
    f.insert(db, "entry_orders", {"strategy_id": strategy_id, "edge_id": edge["id"], "ticker": TICKER, "side": "yes",
                                  "trading_mode": "live", "quantity": D(quantity), "limit_price": D("0.57"),
                                  "client_order_id": client_order_id, "sent_at": f.NOW})
    f.trade(db, position_id, trading_mode="live", quantity=D(quantity), client_order_id=client_order_id,
            external_order_id=order_id)
    return position_id


def test_fills_and_settlements_are_stored_once_however_often_they_are_read(db):
    fills = [_fill("fill-1", "sbx-1", "4"), _fill("fill-2", "sbx-1", "6")]
    assert store_fills(db, ACCOUNT, fills) == (2, 2)
    assert store_settlements(db, ACCOUNT, [_settled(TICKER, "10")]) == (1, 1)
    assert store_fills(db, ACCOUNT, fills + [_fill("fill-3", "sbx-2", "1")]) == (3, 1)
    assert store_settlements(db, ACCOUNT, [_settled(TICKER, "10")]) == (1, 0)
    assert db.execute("SELECT count(*), count(DISTINCT fill_id) FROM exchange_fills").fetchone() == (3, 3)
    assert db.execute("SELECT count(*), sum(revenue) FROM exchange_settlements").fetchone() == (1, D("10.0000"))


def test_orders_get_a_version_when_they_fill_and_positions_are_retired_when_gone(db):
    store_orders(db, ACCOUNT, [_order("sbx-1", "c-1", "0", status="resting")], f.NOW)
    store_positions(db, ACCOUNT, [_held(TICKER, "10"), _held(OTHER, "-5")], f.NOW)
    later = f.NOW + timedelta(minutes=5)
    merged = store_orders(db, ACCOUNT, [_order("sbx-1", "c-1", "10")], later)
    positions = store_positions(db, ACCOUNT, [_held(TICKER, "10")], later)
    assert (merged.closed, merged.inserted) == (1, 1)
    assert (positions.inserted, positions.retired) == (0, 1)
    assert db.execute("SELECT status, fill_count FROM exchange_orders WHERE row_current_ind").fetchall() == [
        ("executed", D("10.00"))]
    assert db.execute("SELECT ticker FROM exchange_positions WHERE row_current_ind").fetchall() == [(TICKER,)]


def test_an_account_that_matches_the_ledger_reconciles(db):
    _live_position(db)
    _exchange(db, orders=[_order("sbx-1", "entry-1", "10")], fills=[_fill("fill-1", "sbx-1", "10")],
              held=[_held(TICKER, "10")])
    result = reconcile(db, ACCOUNT, "live")
    assert result.passed and result.differences == ()
    assert "agree" in report_markdown(result)


def test_an_order_placed_outside_precog_fails_at_once_naming_the_ticker_and_both_numbers(db):
    _live_position(db)
    _exchange(db, orders=[_order("sbx-1", "entry-1", "10"), _order("sbx-9", "by-hand", "5")],
              fills=[_fill("fill-1", "sbx-1", "10"), _fill("fill-9", "sbx-9", "5")], held=[_held(TICKER, "15")])
    result = reconcile(db, ACCOUNT, "live")
    alert, state = act_on(db, result)
    assert not result.passed
    holdings = next(d for d in result.confirmed if d.kind == "holdings")
    assert (holdings.ticker, holdings.key, holdings.exchange, holdings.ledger) == (TICKER, "yes", D(15), D(10))
    assert holdings.foreign_orders == ("sbx-9",)
    assert {fill["fill_id"] for fill in holdings.fills} == {"fill-1", "fill-9"}
    assert {(d.kind, d.key) for d in result.confirmed} == {("holdings", "yes"), ("order_fills", "sbx-9")}
    assert f"{TICKER} yes contracts held: exchange 15.00, ledger 10.00" in alert.message
    assert alert.severity == "critical" and alert.component == "reconciliation"
    assert state.halted and state.source == "reconciliation" and state.exits_allowed
    assert "fill-9" in report_markdown(result) and "MISMATCH" in report_markdown(result)
    assert db.execute("SELECT passed, confirmed FROM reconciliations").fetchall() == [(False, 2)]


def test_a_fill_the_ledger_has_not_booked_yet_fails_only_when_the_next_run_still_sees_it(db):
    """An order Precog recorded and sent, filled on the exchange, read before the ledger stored
    its trade: the difference is seen once and not confirmed; it fails the run after only if it
    is still there."""
    _live_position(db)
    edge_id = db.execute("SELECT edge_id FROM positions").fetchone()[0]
    strategy_id = db.execute("SELECT strategy_id FROM positions").fetchone()[0]
    f.market_ticker(db, ticker=OTHER)
    f.insert(db, "entry_orders", {"strategy_id": strategy_id, "edge_id": edge_id, "ticker": OTHER, "side": "yes",
                                  "trading_mode": "live", "quantity": D(3), "limit_price": D("0.40"),
                                  "client_order_id": "entry-2", "sent_at": f.NOW})
    _exchange(db, orders=[_order("sbx-1", "entry-1", "10"), _order("sbx-2", "entry-2", "3", ticker=OTHER)],
              fills=[_fill("fill-1", "sbx-1", "10"), _fill("fill-2", "sbx-2", "3", ticker=OTHER)],
              held=[_held(TICKER, "10"), _held(OTHER, "3")])
    first = reconcile(db, ACCOUNT, "live")
    assert act_on(db, first) == (None, None)
    assert first.passed and {(d.kind, d.ticker) for d in first.differences} == {
        ("holdings", OTHER), ("order_fills", OTHER)}
    assert "seen once" in report_markdown(first)
    second = reconcile(db, ACCOUNT, "live")
    act_on(db, second)
    assert not second.passed and len(second.confirmed) == 2
    assert trading_state(db).halted


def test_a_difference_gone_by_the_next_run_never_fails(db):
    _live_position(db)
    _exchange(db, orders=[_order("sbx-1", "entry-1", "10")], fills=[_fill("fill-1", "sbx-1", "10")],
              held=[_held(TICKER, "4")], at=f.NOW)
    assert reconcile(db, ACCOUNT, "live").passed
    _exchange(db, held=[_held(TICKER, "10")], at=f.NOW + timedelta(minutes=2))
    second = reconcile(db, ACCOUNT, "live")
    assert second.passed and second.differences == ()
    assert not trading_state(db).halted


def test_settled_contracts_count_on_both_sides_before_and_after_the_ledger_books_them(db):
    position_id = _live_position(db)
    # The exchange paid the market out: no position left, a settlement instead. The ledger's
    # settlement job has not run yet: its position is still open.
    _exchange(db, orders=[_order("sbx-1", "entry-1", "10")], fills=[_fill("fill-1", "sbx-1", "10")],
              settled=[_settled(TICKER, "10")])
    assert find_differences(db, ACCOUNT) == []
    db.execute("UPDATE positions SET row_current_ind = false, row_end_ts = %s WHERE id = %s",
               (f.NOW + timedelta(minutes=1), position_id))
    f.position(db, trading_mode="live", quantity=D(10), status="settled", closed_at=f.NOW, exit_reason="settlement",
               realized_pnl=D("4.12"), strategy_id=db.execute("SELECT strategy_id FROM positions").fetchone()[0],
               row_start_ts=f.NOW + timedelta(minutes=1))
    f.insert(db, "settlements", {"ticker": TICKER, "market_result": "yes", "settlement_value": D(1),
                                 "settled_at": f.NOW, "raw_response": "{}"})
    assert find_differences(db, ACCOUNT) == []
    # A settlement value that disagrees is named.
    db.execute("INSERT INTO exchange_settlements (account_key, ticker, event_ticker, market_result, yes_count, "
               "no_count, yes_total_cost, no_total_cost, revenue, value, fee_cost, settled_time) VALUES "
               "('kalshi:prod', %s, 'E', 'no', 10, 0, 0, 0, 0, 0, 0, now())", (TICKER,))
    [value] = find_differences(db, "kalshi:prod")[-1:]
    assert (value.kind, value.exchange, value.ledger) == ("settlement_value", D(0), D(1))


def test_paper_mode_only_warns_and_keeps_trading(db):
    _exchange(db, orders=[_order("sbx-9", "by-hand", "5")], fills=[_fill("fill-9", "sbx-9", "5")],
              held=[_held(TICKER, "5")])
    result = reconcile(db, ACCOUNT, "paper")
    alert, state = act_on(db, result)
    assert not result.passed and alert.severity == "warning" and state is None
    assert not trading_state(db).halted


def test_a_passing_run_resolves_the_mismatch_alert_but_trading_stays_halted(db):
    _exchange(db, orders=[_order("sbx-9", "by-hand", "5")], fills=[_fill("fill-9", "sbx-9", "5")],
              held=[_held(TICKER, "5")])
    act_on(db, reconcile(db, ACCOUNT, "live"))
    _live_position(db, "5", order_id="sbx-9", client_order_id="by-hand")
    result = reconcile(db, ACCOUNT, "live")
    act_on(db, result)
    assert result.passed
    assert db.execute("SELECT count(*) FROM alerts WHERE component = 'reconciliation' AND resolved_at IS NULL"
                      ).fetchone() == (0,)
    assert trading_state(db).halted  # only a person resumes


@pytest.mark.parametrize("table", ["exchange_fills", "exchange_settlements", "reconciliations"])
def test_the_exchange_logs_are_append_only(db, table):
    store_fills(db, ACCOUNT, [_fill("fill-1", "sbx-1", "1")])
    store_settlements(db, ACCOUNT, [_settled(TICKER, "1")])
    reconcile(db, ACCOUNT, "paper")
    with pytest.raises(Exception, match="append-only"):
        db.execute(f"DELETE FROM {table}")
