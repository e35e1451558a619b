"""Exit rules of a position, evaluated against the price it could be sold at now."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from precog_pipelines.lib.trading.money import ONE, ZERO, price

# Lower runs first when several rules fire: losses are cut before profits are taken.
RULE_PRIORITY = {"stop_loss": 1, "trailing_stop": 2, "time_exit": 3, "profit_target": 4}


@dataclass(frozen=True)
class ExitRules:
    """A strategy's exit rules, in dollars per contract and minutes."""

    stop_loss: Decimal | None
    profit_target: Decimal | None
    trailing_stop_distance: Decimal | None
    exit_minutes_before_close: int | None


@dataclass(frozen=True)
class OpenPosition:
    position_key: str
    side: str
    entry_price: Decimal
    stop_loss_price: Decimal | None
    target_price: Decimal | None
    trailing_stop_distance: Decimal | None
    peak_price: Decimal | None
    close_time: datetime | None


@dataclass(frozen=True)
class ExitSignal:
    rule: str
    priority: int
    trigger_price: Decimal


def entry_levels(entry_price: Decimal, rules: ExitRules) -> tuple[Decimal | None, Decimal | None]:
    """Stop-loss and profit-target prices fixed when the position opens."""
    stop = None if rules.stop_loss is None else price(max(ZERO, entry_price - rules.stop_loss))
    target = None if rules.profit_target is None else price(min(ONE, entry_price + rules.profit_target))
    return stop, target


def evaluate(
    position: OpenPosition, sell_price: Decimal, now: datetime, exit_minutes_before_close: int | None
) -> tuple[Decimal, ExitSignal | None]:
    """The new peak price and the highest-priority rule that fires at ``sell_price``, if any.

    ``sell_price`` is the bid of the side held: what the position is worth if sold now.
    """
    peak = max(position.peak_price or position.entry_price, sell_price)
    fired: list[ExitSignal] = []
    if position.stop_loss_price is not None and sell_price <= position.stop_loss_price:
        fired.append(ExitSignal("stop_loss", RULE_PRIORITY["stop_loss"], sell_price))
    distance = position.trailing_stop_distance
    # The trailing stop only trails once the position has been in profit.
    if distance is not None and peak > position.entry_price and sell_price <= peak - distance:
        fired.append(ExitSignal("trailing_stop", RULE_PRIORITY["trailing_stop"], sell_price))
    if (
        exit_minutes_before_close is not None
        and position.close_time is not None
        and now >= position.close_time - timedelta(minutes=exit_minutes_before_close)
    ):
        fired.append(ExitSignal("time_exit", RULE_PRIORITY["time_exit"], sell_price))
    if position.target_price is not None and sell_price >= position.target_price:
        fired.append(ExitSignal("profit_target", RULE_PRIORITY["profit_target"], sell_price))
    return peak, min(fired, key=lambda s: s.priority) if fired else None
