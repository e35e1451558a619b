"""The arithmetic of partial exits: how the entry fee splits between the parts of a position
sold at different times, so that the parts' P&L adds up to the whole position's, exactly."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from precog_pipelines.lib.trading import pnl


def test_the_fee_shares_of_successive_parts_add_up_to_the_entry_fee():
    held, fee = D("100"), D("1.7500")
    first = pnl.entry_fee_share(fee, held, D("40"))
    second = pnl.entry_fee_share(fee - first, held - D("40"), D("33"))
    last = pnl.entry_fee_share(fee - first - second, held - D("73"), D("27"))
    assert (first, second, last) == (D("0.7000"), D("0.5775"), D("0.4725"))
    assert first + second + last == fee


def test_a_share_that_does_not_divide_evenly_rounds_to_the_hundredth_of_a_cent_and_the_rest_takes_the_remainder():
    # 0.69 x 25 / 40 = 0.43125: half-even to 0.4312; the 15 left carry 0.2588, not 0.25875.
    first = pnl.entry_fee_share(D("0.69"), D("40"), D("25"))
    assert first == D("0.4312")
    assert pnl.entry_fee_share(D("0.69") - first, D("15"), D("15")) == D("0.2588")


def test_parts_sold_at_different_prices_realize_what_the_whole_position_did_to_the_cent():
    entry_price, entry_fee = D("0.57"), D("0.69")
    first_share = pnl.entry_fee_share(entry_fee, D("40"), D("25"))
    first = pnl.exit_pnl(D("25"), entry_price, first_share, D("0.46"), D("0.44"))
    rest = pnl.exit_pnl(D("15"), entry_price, entry_fee - first_share, D("0.50"), D("0.27"))
    assert (first, rest) == (D("-3.6212"), D("-1.5788"))
    # Proceeds 25 x 0.46 + 15 x 0.50, less both exit fees, less 40 x 0.57 and the entry fee.
    assert first + rest == D("19.00") - D("0.71") - D("23.49") == D("-5.20")


def test_a_part_sold_then_the_rest_settled_realizes_the_payout_less_everything_paid():
    share = pnl.entry_fee_share(D("0.69"), D("40"), D("25"))
    sold = pnl.exit_pnl(D("25"), D("0.57"), share, D("0.46"), D("0.44"))
    settled = pnl.settlement_pnl("yes", D("15"), D("0.57"), D("0.69") - share, D("1"))
    assert settled == D("6.1912")
    assert sold + settled == D("11.50") + D("15") - D("0.44") - D("23.49") == D("2.57")


@pytest.mark.parametrize("held,sold", [(D("40"), D("0")), (D("40"), D("41")), (D("40"), D("-1"))])
def test_a_sold_quantity_outside_what_is_held_is_refused_naming_both(held, sold):
    with pytest.raises(ValueError, match=f"sold quantity {sold} must be above 0 and at most the {held} contracts"):
        pnl.entry_fee_share(D("0.69"), held, sold)
