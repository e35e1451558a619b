"""When the exchange account is read and reconciled."""

import dagster as dg

from precog_pipelines.core.automation import PRODUCTION, Automation, refresh_schedule
from precog_pipelines.defs.portfolio.assets import (
    exchange_fills,
    exchange_orders,
    exchange_positions,
    exchange_settlements,
    reconciliation,
)


def portfolio_schedule(automation: Automation = PRODUCTION) -> dg.ScheduleDefinition:
    # Every few minutes in paper mode too: under `precog dev` the sandbox's account is read with
    # the sandbox key, and reconciliation must keep passing through the whole week.
    return refresh_schedule(
        automation, "portfolio_schedule",
        "The exchange account (orders, fills, positions, settlements) and its reconciliation with the ledger "
        "every 5 minutes (every 2 minutes under precog dev).",
        [exchange_orders, exchange_fills, exchange_positions, exchange_settlements, reconciliation],
        "*/5 * * * *", "*/2 * * * *")


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(schedules=[portfolio_schedule(Automation.from_environment())])
