"""Risk limits at each boundary: just under passes, at the limit passes (a maximum is inclusive)
except the daily loss (reached at the limit), just over is refused; and the strategy config that
carries them refuses a bad value naming field and value."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal as D

import pytest

from precog_pipelines.lib.trading.risk import RiskLimits, RiskState, check_entry, daily_loss_reached, day_start
from precog_pipelines.lib.trading.strategy import StrategyConfigError, parse_strategy

LIMITS = RiskLimits(max_daily_loss=D("100.00"), max_open_exposure=D("250.00"), max_game_exposure=D("50.00"),
                    max_series_exposure=D("200.00"), max_contracts_per_order=40, max_orders_per_minute=5)
CALM = RiskState(daily_realized_loss=D("0"), open_exposure=D("0"), game_exposure=D("0"), series_exposure=D("0"),
                 orders_last_minute=0)


def _check(state: RiskState = CALM, quantity: str = "10", cost: str = "5.00"):
    return check_entry(LIMITS, state, D(quantity), D(cost))


@pytest.mark.parametrize(("loss", "refused"), [("99.99", False), ("100.00", True), ("100.01", True)])
def test_daily_loss_is_reached_at_the_limit(loss, refused):
    refusal = _check(RiskState(daily_realized_loss=D(loss)))
    assert daily_loss_reached(LIMITS, D(loss)) is refused
    assert (refusal is not None) is refused
    if refused:
        assert (refusal.limit, refusal.limit_value, refusal.would_be, refusal.unit) == (
            "max_daily_loss", D("100.00"), D(loss), "dollars")


@pytest.mark.parametrize(("exposure", "refused"), [("244.99", False), ("245.00", False), ("245.01", True)])
def test_total_exposure_boundary(exposure, refused):
    # 245 open + a 5-dollar entry: 249.99 under, 250.00 at, 250.01 over the 250 limit.
    refusal = _check(RiskState(open_exposure=D(exposure)))
    assert (refusal is not None) is refused
    if refused:
        assert (refusal.limit, refusal.limit_value, refusal.would_be) == ("max_open_exposure", D("250.00"),
                                                                          D("250.01"))


@pytest.mark.parametrize(("exposure", "refused"), [("44.99", False), ("45.00", False), ("45.01", True)])
def test_game_exposure_boundary(exposure, refused):
    refusal = _check(RiskState(game_exposure=D(exposure)))
    assert (refusal is not None) is refused
    if refused:
        assert (refusal.limit, refusal.would_be, refusal.unit) == ("max_game_exposure", D("50.01"), "dollars")


@pytest.mark.parametrize(("exposure", "refused"), [("194.99", False), ("195.00", False), ("195.01", True)])
def test_series_exposure_boundary(exposure, refused):
    refusal = _check(RiskState(series_exposure=D(exposure)))
    assert (refusal is not None) is refused
    if refused:
        assert (refusal.limit, refusal.would_be) == ("max_series_exposure", D("200.01"))


@pytest.mark.parametrize(("quantity", "refused"), [("39", False), ("40", False), ("41", True)])
def test_contracts_per_order_boundary(quantity, refused):
    refusal = _check(quantity=quantity)
    assert (refusal is not None) is refused
    if refused:
        assert (refusal.limit, refusal.limit_value, refusal.would_be, refusal.unit) == (
            "max_contracts_per_order", D(40), D(41), "contracts")


@pytest.mark.parametrize(("sent", "refused"), [(3, False), (4, False), (5, True)])
def test_orders_per_minute_boundary(sent, refused):
    # ``sent`` orders in the trailing minute: the next one is the 4th, 5th (the limit) or 6th.
    refusal = _check(RiskState(orders_last_minute=sent))
    assert (refusal is not None) is refused
    if refused:
        assert (refusal.limit, refusal.limit_value, refusal.would_be, refusal.unit) == (
            "max_orders_per_minute", D(5), D(6), "orders")


def test_the_daily_loss_is_checked_first_and_a_version_without_limits_has_only_its_exposure_limit():
    everything = RiskState(daily_realized_loss=D("500"), open_exposure=D("500"), orders_last_minute=99)
    assert _check(everything, quantity="1000").limit == "max_daily_loss"
    legacy = RiskLimits(max_open_exposure=D("250.00"))
    unlimited_but_exposure = RiskState(daily_realized_loss=D("10000"), orders_last_minute=10_000)
    assert check_entry(legacy, unlimited_but_exposure, D("100000"), D("250.00")) is None
    assert check_entry(legacy, RiskState(), D("1"), D("250.01")).limit == "max_open_exposure"


def test_the_day_is_the_utc_day():
    late = datetime(2026, 9, 13, 23, 59, tzinfo=timezone.utc)
    assert day_start(late) == datetime(2026, 9, 13, tzinfo=timezone.utc)
    assert day_start(late.astimezone(timezone.max)) == datetime(2026, 9, 13, tzinfo=timezone.utc)


# ---- the config that carries them --------------------------------------------------------------

RISK = {"max_daily_loss": "100.00", "max_open_exposure": "250.00", "max_game_exposure": "50.00",
        "max_series_exposure": "250.00", "max_contracts_per_order": 1000, "max_orders_per_minute": 20}
BASE = {"min_edge": "0.03", "stake_per_trade": "25.00"}


def test_risk_limits_parse_into_decimals_and_integers():
    strategy = parse_strategy(1, "probe", "1.1", BASE | {"risk_limits": RISK})
    assert strategy.limits == RiskLimits(max_daily_loss=D("100.00"), max_open_exposure=D("250.00"),
                                         max_game_exposure=D("50.00"), max_series_exposure=D("250.00"),
                                         max_contracts_per_order=1000, max_orders_per_minute=20)
    assert strategy.max_open_exposure == D("250.00")
    legacy = parse_strategy(1, "probe", "1.0", BASE | {"max_open_exposure": "250.00"})
    assert legacy.limits == RiskLimits(max_open_exposure=D("250.00"))


@pytest.mark.parametrize(("change", "message"), [
    ({"max_daily_loss": "-1"}, "strategy probe v1.1: risk_limits.max_daily_loss '-1' is outside >= 0.01"),
    ({"max_daily_loss": 12.5}, "risk_limits.max_daily_loss 12.5 must be a string or integer, not a float"),
    ({"max_open_exposure": "lots"}, "risk_limits.max_open_exposure 'lots' is not a number"),
    ({"max_game_exposure": None}, "risk_limits.max_game_exposure is missing"),
    ({"max_series_exposure": "0"}, "risk_limits.max_series_exposure '0' is outside >= 0.01"),
    ({"max_contracts_per_order": 0}, "risk_limits.max_contracts_per_order 0 must be an integer >= 1"),
    ({"max_contracts_per_order": "10"}, "risk_limits.max_contracts_per_order '10' must be an integer >= 1"),
    ({"max_orders_per_minute": True}, "risk_limits.max_orders_per_minute True must be an integer >= 1"),
    ({"max_orders_per_minute": None}, "risk_limits.max_orders_per_minute is missing"),
    ({"max_orders_per_second": 5}, "risk_limits.max_orders_per_second is not a strategy field"),
])
def test_bad_risk_limits_name_field_and_value(change, message):
    limits = {k: v for k, v in (RISK | change).items() if v is not None}
    with pytest.raises(StrategyConfigError, match=message):
        parse_strategy(1, "probe", "1.1", BASE | {"risk_limits": limits})


@pytest.mark.parametrize(("config", "message"), [
    (BASE | {"risk_limits": "tight"}, "risk_limits 'tight' must be an object"),
    (BASE | {"max_open_exposure": "9", "risk_limits": RISK}, "max_open_exposure '9' belongs in risk_limits"),
])
def test_risk_limits_must_be_one_object(config, message):
    with pytest.raises(StrategyConfigError, match=message):
        parse_strategy(1, "probe", "1.1", config)
