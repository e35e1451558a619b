"""Invariants of the markets history, checked after every snapshot; they block edges."""

from precog_pipelines.core.checks import rule_checks, scd2_checks
from precog_pipelines.lib.quality import rules
from precog_pipelines.lib.warehouse.tables import MARKETS

market_checks = scd2_checks("kalshi_markets", MARKETS, blocking=True) + rule_checks("kalshi_markets", [
    rules.prices_within_unit_interval, rules.yes_bid_not_above_yes_ask, rules.determined_markets_have_a_result,
    rules.closed_markets_do_not_reopen], blocking=True)
