"""Unrealized P&L of a mark and a position's age, as plain functions, to the cent."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

import pytest

from precog_pipelines.lib.trading import pnl
from precog_pipelines.lib.trading.fees import taker_fee
from precog_pipelines.lib.trading.marks import describe_age

# The sandbox's paper position: 40 contracts bought at 0.57 with a 0.69 taker fee (cost 23.49).
QUANTITY, ENTRY, ENTRY_FEE = D("40"), D("0.57"), D("0.69")


@pytest.mark.parametrize("mark,multiplier,expected", [
    (D("0.62"), D("0.07"), D("0.65")),    # 24.80 - 0.66 (0.65968 up) - 23.49
    (D("0.55"), D("0.07"), D("-2.19")),   # 22.00 - 0.70 (0.693 up) - 23.49
    (D("0.45"), None, D("-6.19")),        # the default multiplier: 18.00 - 0.70 - 23.49
    (D("0.57"), D("0.07"), D("-1.38")),   # flat price: the round trip's two fees, 0.69 + 0.69
    (D("0.62"), D("0"), D("1.31")),       # no taker fee: only the entry fee is lost
    (D("1"), D("0.07"), D("16.51")),      # no fee at 1: what a won settlement books
    (D("0"), D("0.07"), D("-23.49")),     # no bid at all: everything paid is lost
])
def test_unrealized_pnl_is_a_taker_sale_at_the_mark_net_of_both_fees(mark, multiplier, expected):
    assert pnl.unrealized_pnl(QUANTITY, ENTRY, ENTRY_FEE, mark, multiplier) == expected


def test_unrealized_pnl_at_the_mark_is_what_an_exit_there_would_realize():
    for mark in (D("0.3100"), D("0.5750"), D("0.9900")):
        fee = taker_fee(QUANTITY, mark)
        assert pnl.unrealized_pnl(QUANTITY, ENTRY, ENTRY_FEE, mark, None) == pnl.exit_pnl(
            QUANTITY, ENTRY, ENTRY_FEE, mark, fee)


def test_unrealized_pnl_at_one_equals_the_settlement_pnl_of_a_win():
    assert pnl.unrealized_pnl(QUANTITY, ENTRY, ENTRY_FEE, D("1"), None) == pnl.settlement_pnl(
        "yes", QUANTITY, ENTRY, ENTRY_FEE, D("1"))


def test_unrealized_pnl_stays_exact_with_fractional_contracts():
    # 12.5 x 0.4321 = 5.40125 exactly, less the sale's fee (0.2147... up to 0.22) and the cost 5.22
    assert pnl.unrealized_pnl(D("12.50"), D("0.4000"), D("0.22"), D("0.4321"), None) == D("-0.03875")


@pytest.mark.parametrize("mark,error", [(D("1.01"), ValueError), (0.5, TypeError)])
def test_unrealized_pnl_refuses_a_mark_outside_0_1_or_a_float(mark, error):
    with pytest.raises(error, match="fill price"):
        pnl.unrealized_pnl(QUANTITY, ENTRY, ENTRY_FEE, mark, None)


@pytest.mark.parametrize("age,text", [
    (timedelta(seconds=59), "0m"),
    (timedelta(minutes=7, seconds=30), "7m"),
    (timedelta(hours=2, minutes=5), "2h 05m"),
    (timedelta(days=3, hours=4, minutes=59), "3d 4h"),
])
def test_age_reads_at_a_glance(age, text):
    assert describe_age(age) == text
