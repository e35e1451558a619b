"""The reconciliation verdict, and the invariants of the exchange tables."""

import dagster as dg

from precog_pipelines.core.checks import never_shrinks_checks, scd2_checks
from precog_pipelines.lib.portfolio.reconciliation import report_markdown, run_reconciliation
from precog_pipelines.lib.warehouse.tables import (
    EXCHANGE_FILLS,
    EXCHANGE_ORDERS,
    EXCHANGE_POSITIONS,
    EXCHANGE_SETTLEMENTS,
    RECONCILIATIONS,
)
from precog_pipelines.resources.warehouse import WarehouseResource

exchange_table_checks = (scd2_checks("exchange_orders", EXCHANGE_ORDERS, blocking=False)
                         + scd2_checks("exchange_positions", EXCHANGE_POSITIONS, blocking=False)
                         + never_shrinks_checks("exchange_fills", [EXCHANGE_FILLS])
                         + never_shrinks_checks("exchange_settlements", [EXCHANGE_SETTLEMENTS])
                         + never_shrinks_checks("reconciliation", [RECONCILIATIONS]))


@dg.asset_check(asset="reconciliation", blocking=True)
def exchange_and_ledger_agree(context: dg.AssetCheckExecutionContext,
                              warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """The exchange account and the ledger agree: no confirmed difference in contracts held per
    market and side, contracts filled per exchange order, or contracts settled. Fails (error in
    live mode, warning in paper mode) with a markdown report naming each ticker, the exchange's
    and the ledger's numbers and the exchange fills behind them."""
    with warehouse.connection() as conn:
        result = run_reconciliation(conn, context.run.run_id)
    if result is None:
        return dg.AssetCheckResult(passed=True, description="nothing reconciled in this run (no exchange account)")
    return dg.AssetCheckResult(
        passed=result.passed,
        severity=dg.AssetCheckSeverity.ERROR if result.trading_mode == "live" else dg.AssetCheckSeverity.WARN,
        description=result.summary()[:1000],
        metadata={"report": dg.MetadataValue.md(report_markdown(result)), "account": result.account_key,
                  "confirmed_differences": len(result.confirmed), "differences": len(result.differences)},
    )
