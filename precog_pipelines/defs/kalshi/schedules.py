"""When Kalshi data is refreshed."""

import dagster as dg

from precog_pipelines.core.automation import PRODUCTION, REFRESH_MAX_RUNTIME_SECONDS, Automation, refresh_schedule
from precog_pipelines.defs.kalshi.assets import kalshi_events, kalshi_markets, kalshi_series

FULL_CRAWL_TAG = "precog/crawl"

# The same asset with `full_crawl: true`, tagged so the runs list tells a full crawl from a tick.
kalshi_markets_full_crawl_job = dg.define_asset_job(
    "kalshi_markets_full_crawl",
    selection=dg.AssetSelection.assets(kalshi_markets),
    description="Every market of the configured series, settled ones included: catches what the incremental "
                "ticks missed and reports it (metadata missed_by_ticks, a warning alert when nonzero).",
    config={"ops": {"kalshi_markets": {"config": {"full_crawl": True}}}},
    tags={FULL_CRAWL_TAG: "full", "dagster/max_runtime": str(REFRESH_MAX_RUNTIME_SECONDS)},
)


def kalshi_schedule(automation: Automation = PRODUCTION) -> dg.ScheduleDefinition:
    # Series and events ride along with every market snapshot (three cheap requests): a run
    # loads them in dependency order, so a new game's markets never arrive before its event.
    return refresh_schedule(
        automation, "kalshi_schedule",
        "Series, events and an incremental market tick (live markets, and those settled since the last tick) "
        "every 5 minutes (every minute under precog dev).",
        [kalshi_series, kalshi_events, kalshi_markets], "*/5 * * * *", "* * * * *")


def kalshi_full_crawl_schedule(automation: Automation = PRODUCTION) -> dg.ScheduleDefinition:
    # Daily, at a quiet hour (06:30 US-Eastern: no NFL game is on); hourly under precog dev.
    return dg.ScheduleDefinition(
        name="kalshi_markets_full_crawl_schedule", job=kalshi_markets_full_crawl_job,
        description="The daily full crawl of every market of the configured series (kalshi_markets_full_crawl).",
        cron_schedule=automation.cadence("30 6 * * *", "30 * * * *"),
        execution_timezone="America/New_York", default_status=automation.schedule_status,
    )


@dg.definitions
def defs() -> dg.Definitions:
    automation = Automation.from_environment()
    return dg.Definitions(schedules=[kalshi_schedule(automation), kalshi_full_crawl_schedule(automation)],
                          jobs=[kalshi_markets_full_crawl_job])
