"""The circuit breakers and the kill switch's side effects on the real warehouse: consecutive
order errors (entries and exits together) halt at the limit, a success or a resume starts the
count again; stale market data halts only while positions are open; a halt raises a critical
alert that the resume resolves; a halt that blocks exits stops the exit flow before any order."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal as D

import pytest
from psycopg import errors

from precog_pipelines.lib.trading import ledger
from precog_pipelines.lib.trading.breakers import (
    consecutive_order_errors,
    halt_on_reconciliation_mismatch,
    trip_on_order_errors,
    trip_on_stale_market_data,
)
from precog_pipelines.lib.trading.executors import PaperExecutor
from precog_pipelines.lib.trading.exit_flow import ExitsHalted, exit_position
from precog_pipelines.lib.trading.halts import HALT_FINGERPRINT, halt_trading, resume_trading, trading_state
from precog_pipelines.lib.warehouse.server import connect
from precog_pipelines_tests.support import factories as f


def _entry(conn, edge, outcome: str) -> None:
    """One entry attempt in its own transaction (as the opener records them)."""
    strategy_id = conn.execute("SELECT id FROM strategies WHERE strategy_name = 'default_paper'").fetchone()[0]
    ledger.record_entry_attempt(conn, strategy_id, edge, D("10"), f"entry-{outcome}", "live", outcome,
                                "KalshiRetryError: POST /portfolio/events/orders: HTTP 503" if outcome == "error" else None)
    conn.commit()


def _exit_error(conn, position_key: str) -> None:
    position = ledger.lock_open_position(conn, position_key)
    ledger.record_exit_attempt(conn, position, "stop_loss", "limit", D("0.5500"), "error", None,
                               "KalshiRetryError: connection failed", "run-1")
    conn.commit()


def _open_alerts(conn) -> list[tuple]:
    return conn.execute("SELECT severity, component, message FROM alerts WHERE fingerprint = %s "
                        "AND resolved_at IS NULL", (HALT_FINGERPRINT,)).fetchall()


def test_order_errors_halt_at_the_limit_counting_entries_and_exits_together(warehouse_url):
    with connect(warehouse_url) as conn:
        key = f.paper_position(conn, f.session_start())
        edge = f.edge(conn, ticker="KXNFLGAME-26SEP13DALNYG-DAL", side="no", execution_price=D("0.4500"))
        conn.commit()
        for _ in range(3):
            _entry(conn, edge, "error")
        _entry(conn, edge, "not_filled")  # it reached the exchange: the count starts again
        for _ in range(3):
            _entry(conn, edge, "error")
        _exit_error(conn, key)
        assert consecutive_order_errors(conn) == 4
        assert not trip_on_order_errors(conn, 5, "positions").halted  # just under the limit

        _entry(conn, edge, "error")
        state = trip_on_order_errors(conn, 5, "positions")  # at the limit
        conn.commit()

        assert (state.halted, state.source, state.exits_allowed) == (True, "order_errors", True)
        assert state.reason.startswith("5 consecutive order errors (limit 5); last: KalshiRetryError")
        assert [(s, c) for s, c, _ in _open_alerts(conn)] == [("critical", "trading")]
        assert conn.execute("SELECT details->>'consecutive_errors' FROM trading_halts").fetchone() == ("5",)

        resume_trading(conn, "ops", "exchange is back")
        conn.commit()
        assert consecutive_order_errors(conn) == 0 and _open_alerts(conn) == []
        _entry(conn, edge, "error")
        assert not trip_on_order_errors(conn, 5, "positions").halted  # a resume starts the count again


def _stale_market_world(conn, last_version_at: datetime, with_position: bool) -> None:
    """One open market whose newest version is ``last_version_at`` (and a position on it)."""
    now = datetime.now(timezone.utc)
    f.series(conn)
    f.event(conn)
    f.market_ticker(conn)
    f.market_version(conn, open_time=now - timedelta(days=1), close_time=now + timedelta(days=1),
                     row_start_ts=last_version_at)
    if with_position:
        f.position(conn, opened_at=last_version_at, row_start_ts=last_version_at)
    conn.commit()


@pytest.mark.parametrize(("age_minutes", "with_position", "halts"), [
    (31, True, True),     # over the threshold with a position open
    (29, True, False),    # under it
    (31, False, False),   # stale, but nothing is held: nothing to protect
])
def test_stale_market_data_halts_only_while_positions_are_open(warehouse_url, age_minutes, with_position, halts):
    now = datetime.now(timezone.utc)
    with connect(warehouse_url) as conn:
        _stale_market_world(conn, now - timedelta(minutes=age_minutes), with_position)
        state = trip_on_stale_market_data(conn, now, 30, "position_exit_sensor")
        conn.commit()
        assert state.halted is halts
        if halts:
            assert state.source == "stale_market_data" and state.exits_allowed
            assert state.reason.startswith("market data stalled: no new market version since")
            assert state.reason.endswith("1 position(s) open")
            assert len(_open_alerts(conn)) == 1


def test_reconciliation_halts_through_one_function_and_may_block_exits(warehouse_url):
    with connect(warehouse_url) as conn:
        state = halt_on_reconciliation_mismatch(conn, "2 fills on the exchange are not in trades",
                                                {"missing_fills": 2}, blocks_exits=True)
        conn.commit()
    assert state.describe() == "halted: reconciliation mismatch: 2 fills on the exchange are not in trades"
    assert (state.source, state.actor, state.exits_allowed) == ("reconciliation", "reconciliation", False)


def test_a_halt_blocking_exits_stops_the_exit_flow_before_any_order(warehouse_url):
    clock = lambda: datetime.now(timezone.utc) + timedelta(minutes=10)  # noqa: E731
    with connect(warehouse_url) as conn:
        key = f.paper_position(conn, f.session_start())
        halt_trading(conn, "exchange outage", "manual", "ops", blocks_exits=True)
        conn.commit()
        with pytest.raises(ExitsHalted, match="not sent: halted: exchange outage"):
            exit_position(conn, key, "stop_loss", 3, PaperExecutor(clock), ledger.PAPER_ACCOUNT, "run-1", clock)
        assert conn.execute("SELECT count(*) FROM exit_attempts").fetchone()[0] == 0

        halt_trading(conn, "exchange outage, exits may go", "manual", "ops")  # a halt that lets exits go on
        conn.commit()
        outcome = exit_position(conn, key, "stop_loss", 3, PaperExecutor(clock), ledger.PAPER_ACCOUNT, "run-1", clock)
        assert outcome.status == "exited" and trading_state(conn).halted


def test_entry_attempts_are_append_only_and_prices_exact(warehouse_url):
    with connect(warehouse_url) as conn:
        edge = f.edge(conn)
        conn.commit()
        _entry(conn, edge, "filled")
        with pytest.raises(errors.RestrictViolation, match="entry_attempts is append-only: UPDATE"):
            conn.execute("UPDATE entry_attempts SET outcome = 'error'")
        conn.rollback()
        with pytest.raises(errors.RestrictViolation, match="entry_attempts is append-only: DELETE"):
            conn.execute("DELETE FROM entry_attempts")
        conn.rollback()
        with pytest.raises(errors.CheckViolation, match="price_at_most_4_decimals"):
            ledger.record_entry_attempt(conn, 1, edge | {"execution_price": D("0.12345")}, D("1"), "x", "paper",
                                        "filled")
        conn.rollback()
        with pytest.raises(errors.CheckViolation):  # an error names its cause, and only an error has one
            ledger.record_entry_attempt(conn, 1, edge, D("1"), "x", "paper", "error")
