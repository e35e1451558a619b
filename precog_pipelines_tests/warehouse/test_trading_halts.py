"""The kill switch's log: the latest event is the state; breakers never overwrite a halt."""

from __future__ import annotations

import pytest

from precog_pipelines.lib.trading.halts import halt_trading, resume_trading, trading_state
from precog_pipelines.lib.warehouse.server import connect


def test_halt_then_resume_is_two_events_and_the_latest_is_the_state(warehouse_url):
    with connect(warehouse_url) as conn:
        assert trading_state(conn).entries_allowed
        halted = halt_trading(conn, "  fat finger  ", "manual", "ops")
        assert (halted.halted, halted.reason, halted.source, halted.exits_allowed) == (True, "fat finger", "manual", True)
        assert halted.describe() == "halted: fat finger"
        assert resume_trading(conn, "ops").entries_allowed
        assert resume_trading(conn, "ops").entries_allowed  # resuming while trading adds nothing
        events = conn.execute("SELECT action, source, actor FROM trading_halts ORDER BY id").fetchall()
    assert events == [("halt", "manual", "ops"), ("resume", "manual", "ops")]


def test_a_breaker_keeps_the_first_reason_and_a_halt_may_block_exits(warehouse_url):
    with connect(warehouse_url) as conn:
        halt_trading(conn, "fills differ from the exchange", "reconciliation", "reconciliation", blocks_exits=True,
                     details={"ticker": "KXNFLGAME-26SEP13DALNYG-DAL"})
        again = halt_trading(conn, "five order errors in a row", "order_errors", "positions")
        assert again.reason == "fills differ from the exchange" and not again.exits_allowed
        assert conn.execute("SELECT count(*) FROM trading_halts").fetchone()[0] == 1


@pytest.mark.parametrize(("reason", "source", "message"), [
    ("why", "gut_feeling", "halt source 'gut_feeling' is not one of manual, reconciliation"),
    ("   ", "manual", "a halt needs a reason"),
])
def test_bad_halts_are_refused(warehouse_url, reason, source, message):
    with connect(warehouse_url) as conn, pytest.raises(ValueError, match=message):
        halt_trading(conn, reason, source, "ops")
