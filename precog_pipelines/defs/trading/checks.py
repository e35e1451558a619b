"""Invariants of positions, the cash balance and the append-only trading ledger, and the kill
switch's state shown on positions."""

import dagster as dg

from precog_pipelines.core.checks import never_shrinks_checks, rule_checks, scd2_checks
from precog_pipelines.lib.quality import rules
from precog_pipelines.lib.trading.halts import trading_state
from precog_pipelines.lib.warehouse.tables import ACCOUNT_BALANCE, LEDGER_TABLES, POSITIONS, RISK_TABLES
from precog_pipelines.resources.warehouse import WarehouseResource

position_checks = (scd2_checks("positions", POSITIONS, blocking=False)
                   + rule_checks("positions", [rules.every_position_market_exists, rules.position_exits_add_up],
                                 blocking=False)
                   + never_shrinks_checks("positions", LEDGER_TABLES + RISK_TABLES))
# position_exit_sensor reports this check's result with each materialization of position_marks;
# it also runs from the UI, where it tells whether the sensor is marking at all.
mark_checks = rule_checks("position_marks", [rules.every_open_position_is_marked], blocking=False)
balance_checks = (scd2_checks("account_balance", ACCOUNT_BALANCE, blocking=False)
                  + rule_checks("account_balance", [rules.paper_balance_follows_the_ledger], blocking=False))


@dg.asset_check(asset="positions", blocking=False)
def trading_is_not_halted(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """Trading is not halted: the latest trading_halts event is not a halt. While halted (`precog
    trading halt`, or a circuit breaker: order errors, daily loss, reconciliation, stale market
    data) no entry order is sent; this check warns with the reason, who halted and since when,
    until `precog trading resume`."""
    with warehouse.connection() as conn:
        state = trading_state(conn)
    return dg.AssetCheckResult(
        passed=not state.halted,
        severity=dg.AssetCheckSeverity.WARN,
        description=state.describe(),
        metadata={
            "trading_state": state.describe(),
            "source": state.source or "",
            "actor": state.actor or "",
            "since": state.since.isoformat(timespec="seconds") if state.since else "",
            "exits": "blocked" if not state.exits_allowed else "allowed",
        },
    )
