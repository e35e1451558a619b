"""Fees, edges, exit rules, price walking and P&L as plain functions."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal as D

import pytest

from precog_pipelines.lib.trading import execution, exits, pnl
from precog_pipelines.lib.trading.edges import Quote, side_edges
from precog_pipelines.lib.trading.fees import taker_fee

NOW = datetime(2026, 9, 13, 17, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("contracts,fill,multiplier,fee", [
    (D("1"), D("0.50"), None, D("0.02")),        # 0.0175 rounds up
    (D("100"), D("0.50"), None, D("1.75")),      # exact
    (D("10"), D("0.57"), D("0.07"), D("0.18")),  # 0.17157 rounds up
    (D("3"), D("0.01"), D("0.07"), D("0.01")),   # 0.002079 rounds up to a cent
    (D("10"), D("0.57"), D("0.035"), D("0.09")), # 0.085785
    (D("10"), D("0.57"), D("0"), D("0.00")),
])
def test_taker_fee_rounds_up_to_the_next_cent(contracts, fill, multiplier, fee):
    assert taker_fee(contracts, fill, multiplier) == fee


@pytest.mark.parametrize("contracts,fill,message", [
    (D("0"), D("0.5"), "contracts 0 must be positive"),
    (D("1"), D("1.5"), "fill price 1.5 is outside 0..1"),
])
def test_taker_fee_rejects_bad_input(contracts, fill, message):
    with pytest.raises(ValueError, match=message):
        taker_fee(contracts, fill)


def test_taker_fee_refuses_floats():
    with pytest.raises(TypeError, match="must be a Decimal"):
        taker_fee(D("1"), 0.5)


QUOTE = Quote(yes_bid=D("0.5500"), yes_ask=D("0.5700"), no_bid=D("0.4300"), no_ask=D("0.4500"),
              yes_bid_size=D("200.00"), yes_ask_size=D("80.00"))


def test_edges_for_both_sides_net_of_fee():
    yes, no = side_edges(D("0.65"), QUOTE, D("0.07"), order_contracts=D("100"))

    # YES: 80 contracts at 0.57 pay 0.07*80*0.57*0.43 = 1.37256 -> 1.38, 0.01725 per contract.
    assert (yes.side, yes.execution_price, yes.available_size) == ("yes", D("0.5700"), D("80.00"))
    assert yes.fee_per_contract == D("0.0173")
    assert yes.edge == D("0.0627")
    assert yes.expected_value_per_dollar == D("0.1068")  # 0.0627 / 0.5873
    # NO: 100 contracts at 0.45 pay 0.07*100*0.45*0.55 = 1.7325 -> 1.74.
    assert (no.side, no.model_probability, no.fee_per_contract) == ("no", D("0.35000000"), D("0.0174"))
    assert no.edge == D("-0.1174")


def test_edge_equals_probability_minus_price_minus_fee():
    for edge in side_edges(D("0.4123"), QUOTE, None, order_contracts=D("1")):
        assert edge.edge == edge.model_probability.quantize(D("0.0001")) - edge.execution_price - edge.fee_per_contract


def test_sides_without_resting_size_are_skipped():
    empty_no = Quote(D("0.0000"), D("0.5700"), D("0.4300"), D("1.0000"), D("0.00"), D("80.00"))
    assert [e.side for e in side_edges(D("0.6"), empty_no, None, D("10"))] == ["yes"]
    empty_book = Quote(D("0.0000"), D("1.0000"), D("0.0000"), D("1.0000"), D("0.00"), D("0.00"))
    assert side_edges(D("0.6"), empty_book, None, D("10")) == []


def test_probability_outside_unit_interval_is_refused():
    with pytest.raises(ValueError, match="model probability 1 is outside"):
        side_edges(D("1"), QUOTE, None, D("10"))


RULES = exits.ExitRules(stop_loss=D("0.10"), profit_target=D("0.15"), trailing_stop_distance=D("0.08"),
                        exit_minutes_before_close=30)


def _position(**overrides) -> exits.OpenPosition:
    stop, target = exits.entry_levels(D("0.57"), RULES)
    values = dict(position_key="p", side="yes", entry_price=D("0.57"), stop_loss_price=stop,
                  target_price=target, trailing_stop_distance=D("0.08"), peak_price=D("0.57"),
                  close_time=NOW + timedelta(hours=3)) | overrides
    return exits.OpenPosition(**values)


def test_entry_levels_are_clamped_to_the_unit_interval():
    assert exits.entry_levels(D("0.57"), RULES) == (D("0.4700"), D("0.7200"))
    assert exits.entry_levels(D("0.05"), RULES)[0] == D("0.0000")
    assert exits.entry_levels(D("0.95"), RULES)[1] == D("1.0000")


@pytest.mark.parametrize("bid,peak,now,rule", [
    (D("0.56"), D("0.57"), NOW, None),
    (D("0.47"), D("0.57"), NOW, "stop_loss"),
    (D("0.72"), D("0.57"), NOW, "profit_target"),
    (D("0.62"), D("0.70"), NOW, "trailing_stop"),
    (D("0.63"), D("0.70"), NOW, None),
    (D("0.58"), D("0.57"), NOW + timedelta(hours=2, minutes=30), "time_exit"),
    (D("0.40"), D("0.70"), NOW + timedelta(hours=2, minutes=45), "stop_loss"),  # stop outranks the rest
])
def test_exit_rules_fire_by_priority(bid, peak, now, rule):
    _, signal = exits.evaluate(_position(peak_price=peak), bid, now, RULES.exit_minutes_before_close)
    assert (signal.rule if signal else None) == rule


def test_peak_is_carried_forward_and_trailing_needs_a_profit_first():
    peak, signal = exits.evaluate(_position(), D("0.66"), NOW, None)
    assert (peak, signal) == (D("0.66"), None)
    # Never above entry: a drop of the trailing distance below entry is the stop's business.
    _, signal = exits.evaluate(_position(stop_loss_price=None), D("0.48"), NOW, None)
    assert signal is None


def test_price_walk_limit_then_one_tick_worse_then_market():
    orders = [execution.exit_order(attempt, D("0.47"), limit_attempts=3) for attempt in (1, 2, 3, 4)]
    assert orders == [execution.ExitOrder("limit", D("0.47")), execution.ExitOrder("limit", D("0.46")),
                      execution.ExitOrder("limit", D("0.45")), execution.ExitOrder("market", None)]
    assert execution.exit_order(5, D("0.01"), limit_attempts=9).limit_price == D("0.01")


def test_paper_fills_need_a_bid_at_or_above_the_limit():
    limit = execution.ExitOrder("limit", D("0.47"))
    assert execution.paper_sell_fill(limit, D("0.48"), D("10")) == D("0.48")
    assert execution.paper_sell_fill(limit, D("0.46"), D("10")) is None
    assert execution.paper_sell_fill(execution.ExitOrder("market", None), D("0.46"), D("10")) == D("0.46")
    assert execution.paper_sell_fill(execution.ExitOrder("market", None), D("0.46"), D("0")) is None


def test_realized_pnl_of_an_exit_and_of_a_settlement():
    assert pnl.exit_pnl(D("10"), D("0.57"), D("0.18"), D("0.47"), D("0.18")) == D("-1.36")
    assert pnl.settlement_pnl("yes", D("10"), D("0.57"), D("0.18"), D("1.0000")) == D("4.12")
    assert pnl.settlement_pnl("no", D("10"), D("0.45"), D("0.18"), D("1.0000")) == D("-4.68")
    assert pnl.settlement_pnl("no", D("10"), D("0.45"), D("0.18"), D("0")) == D("5.32")
    with pytest.raises(ValueError, match="side 'YES'"):
        pnl.settlement_payout_per_contract("YES", D("1"))
