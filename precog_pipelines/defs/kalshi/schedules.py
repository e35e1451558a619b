"""When Kalshi data is refreshed."""

import dagster as dg

from precog_pipelines.core.automation import cadence, schedule_status
from precog_pipelines.defs.kalshi.assets import kalshi_events, kalshi_markets, kalshi_series

# Series and events ride along with every market snapshot (three cheap requests): a run loads
# them in dependency order, so a new game's markets never arrive before its event.
kalshi_schedule = dg.ScheduleDefinition(
    name="kalshi_schedule",
    description="Series, events and a market snapshot every 5 minutes (every minute under precog dev).",
    target=[kalshi_series, kalshi_events, kalshi_markets],
    cron_schedule=cadence("*/5 * * * *", "* * * * *"),
    execution_timezone="America/New_York",
    default_status=schedule_status(),
)
