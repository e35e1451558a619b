"""Invariants of positions, the cash balance and the append-only trading ledger."""

from precog_pipelines.core.checks import never_shrinks_checks, rule_checks, scd2_checks
from precog_pipelines.lib.quality import rules
from precog_pipelines.lib.warehouse.tables import ACCOUNT_BALANCE, LEDGER_TABLES, POSITIONS, RISK_TABLES

position_checks = (scd2_checks("positions", POSITIONS, blocking=False)
                   + rule_checks("positions", [rules.every_position_market_exists], blocking=False)
                   + never_shrinks_checks("positions", LEDGER_TABLES + RISK_TABLES))
balance_checks = scd2_checks("account_balance", ACCOUNT_BALANCE, blocking=False)
