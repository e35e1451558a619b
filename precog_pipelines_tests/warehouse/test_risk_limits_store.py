"""What the risk limits read and write on real PostgreSQL: the day's realized loss (UTC day, net,
this strategy only), the trailing minute of entry orders, the default strategy's limits, and the
append-only logs."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal as D

import pytest
from psycopg import errors

from precog_pipelines.lib.trading.risk import RiskLimits, orders_in_last_minute, realized_loss_today, record_entry_order
from precog_pipelines.lib.trading.strategy import load_strategy
from precog_pipelines_tests.support import factories as f

NOON = datetime(2026, 9, 13, 12, 0, tzinfo=timezone.utc)


def _closed(db, key: str, strategy_id: int, pnl: str, closed_at: datetime) -> None:
    f.position(db, position_key=key, strategy_id=strategy_id, status="closed", exit_reason="stop_loss",
               realized_pnl=D(pnl), closed_at=closed_at, exit_price=D("0.40"))


def test_the_daily_loss_is_the_net_realized_loss_of_this_strategy_since_midnight_utc(db):
    f.market(db)
    mine, other = f.strategy(db), f.strategy(db, strategy_name="other")
    _closed(db, "yesterday", mine, "-50.00", datetime(2026, 9, 12, 23, 59, 59, tzinfo=timezone.utc))
    _closed(db, "midnight", mine, "-10.00", datetime(2026, 9, 13, 0, 0, tzinfo=timezone.utc))
    _closed(db, "morning", mine, "-7.50", NOON - timedelta(hours=2))
    _closed(db, "gain", mine, "2.50", NOON - timedelta(hours=1))
    _closed(db, "later", mine, "-99.00", NOON + timedelta(seconds=1))
    _closed(db, "theirs", other, "-80.00", NOON - timedelta(hours=1))
    f.position(db, position_key="still-open", strategy_id=mine)
    assert realized_loss_today(db, mine, NOON) == D("15.00")
    assert realized_loss_today(db, other, NOON) == D("80.00")
    _closed(db, "big-gain", mine, "40.00", NOON - timedelta(minutes=1))
    assert realized_loss_today(db, mine, NOON) == D("0")  # a net gain is no loss


def test_orders_count_over_the_trailing_sixty_seconds(db):
    edge = f.edge(db)
    strategy = f.strategy(db)
    for seconds in (60, 59.999, 30, 0):
        record_entry_order(db, strategy, edge, D("10"), f"o-{seconds}", "paper", NOON - timedelta(seconds=seconds))
    record_entry_order(db, strategy, edge, D("10"), "o-future", "paper", NOON + timedelta(seconds=1))
    assert orders_in_last_minute(db, strategy, NOON) == 3


def test_the_default_strategy_trades_version_1_1_with_its_limits(db):
    strategy = load_strategy(db, name="default_paper")
    assert (strategy.version, strategy.max_open_exposure) == ("1.1", D("250.00"))
    assert strategy.limits == RiskLimits(max_daily_loss=D("100.00"), max_open_exposure=D("250.00"),
                                         max_game_exposure=D("50.00"), max_series_exposure=D("250.00"),
                                         max_contracts_per_order=1000, max_orders_per_minute=20)
    old = load_strategy(db, name="default_paper", version="1.0")
    assert old.risk_limits is None and old.limits == RiskLimits(max_open_exposure=D("250.00"))
    assert db.execute("SELECT is_active FROM strategies WHERE strategy_name = 'default_paper' "
                      "ORDER BY strategy_version").fetchall() == [(False,), (True,)]


@pytest.mark.parametrize("table", ["entry_orders", "risk_refusals"])
def test_risk_logs_are_append_only(db, table):
    edge = f.edge(db)
    strategy = f.strategy(db)
    record_entry_order(db, strategy, edge, D("10"), "o-1", "paper", NOON)
    db.execute("INSERT INTO risk_refusals (strategy_id, edge_id, ticker, side, trading_mode, limit_name, unit, "
               "limit_value, would_be_value, quantity, price, message, refused_at) VALUES "
               "(%s, %s, %s, 'yes', 'paper', 'max_open_exposure', 'dollars', 250, 250.01, 10, 0.57, 'm', %s)",
               (strategy, edge["id"], edge["ticker"], NOON))
    with pytest.raises(errors.RestrictViolation, match=f"{table} is append-only: UPDATE"):
        db.execute(f"UPDATE {table} SET recorded_at = recorded_at")
    with pytest.raises(errors.RestrictViolation, match=f"{table} is append-only: DELETE"):
        db.execute(f"DELETE FROM {table}")
    with pytest.raises(errors.RestrictViolation, match=f"{table} is append-only: TRUNCATE"):
        db.execute(f"TRUNCATE {table}")


def test_a_refusal_names_a_known_limit_and_an_exact_price(db):
    edge = f.edge(db)
    strategy = f.strategy(db)
    insert = ("INSERT INTO risk_refusals (strategy_id, edge_id, ticker, trading_mode, limit_name, unit, limit_value, "
              "would_be_value, price, message, refused_at) VALUES (%s, %s, %s, 'paper', %s, 'dollars', 1, 2, %s, 'm', %s)")
    with pytest.raises(errors.CheckViolation):
        db.execute(insert, (strategy, edge["id"], edge["ticker"], "max_vibes", D("0.5"), NOON))
    with pytest.raises(errors.CheckViolation):
        db.execute(insert, (strategy, edge["id"], edge["ticker"], "max_open_exposure", D("0.12345"), NOON))
