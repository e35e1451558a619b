"""Invariants of the markets history, checked after every snapshot; they block edges."""

from precog_pipelines.core.checks import scd2_checks, sql_check
from precog_pipelines.lib.quality import rules

(markets_one_current_version, markets_validity, markets_no_overlap, markets_no_gaps) = scd2_checks(
    "kalshi_markets", "markets", ("ticker",), blocking=True)

markets_prices_in_unit_interval = sql_check(
    "kalshi_markets", "prices_within_unit_interval", rules.market_price_violations,
    "Every price is between 0 and 1 with at most four decimals.", blocking=True)
markets_bid_not_above_ask = sql_check(
    "kalshi_markets", "yes_bid_not_above_yes_ask", rules.market_crossed_book_violations,
    "No version bids above its resting ask.", blocking=True)
markets_settled_have_result = sql_check(
    "kalshi_markets", "determined_markets_have_a_result", rules.market_result_violations,
    "Determined, amended and finalized markets carry a result.", blocking=True)
markets_do_not_reopen = sql_check(
    "kalshi_markets", "closed_markets_do_not_reopen", rules.market_reopen_violations,
    "A market never trades again after a version showed it closed.", blocking=True)
