"""When Kalshi data is refreshed."""

import dagster as dg

from precog_pipelines.core.automation import PRODUCTION, Automation, refresh_schedule
from precog_pipelines.defs.kalshi.assets import kalshi_events, kalshi_markets, kalshi_series


def kalshi_schedule(automation: Automation = PRODUCTION) -> dg.ScheduleDefinition:
    # Series and events ride along with every market snapshot (three cheap requests): a run
    # loads them in dependency order, so a new game's markets never arrive before its event.
    return refresh_schedule(
        automation, "kalshi_schedule",
        "Series, events and a market snapshot every 5 minutes (every minute under precog dev).",
        [kalshi_series, kalshi_events, kalshi_markets], "*/5 * * * *", "* * * * *")


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(schedules=[kalshi_schedule(Automation.from_environment())])
