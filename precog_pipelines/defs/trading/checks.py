"""Invariants of positions, the cash balance and the append-only trading ledger."""

from precog_pipelines.core.checks import never_shrinks_check, scd2_checks, sql_check
from precog_pipelines.lib.quality import rules

(positions_one_current_version, positions_validity, positions_no_overlap, positions_no_gaps) = scd2_checks(
    "positions", "positions", ("position_key",), blocking=False)
(balance_one_current_version, balance_validity, balance_no_overlap, balance_no_gaps) = scd2_checks(
    "account_balance", "account_balance", ("account_key",), blocking=False)

position_markets_exist = sql_check(
    "positions", "every_position_market_exists", rules.position_market_violations,
    "Every position's market is in the warehouse.", blocking=False)

trades_never_shrink = never_shrinks_check("positions", "trades")
position_exits_never_shrink = never_shrinks_check("positions", "position_exits")
exit_attempts_never_shrink = never_shrinks_check("positions", "exit_attempts")
settlements_never_shrink = never_shrinks_check("positions", "settlements")
