"""When ESPN game states are refreshed."""

import dagster as dg

from precog_pipelines.core.automation import cadence, schedule_status
from precog_pipelines.defs.espn.assets import game_states

game_states_schedule = dg.ScheduleDefinition(
    name="game_states_schedule",
    description="The scoreboard every minute on NFL game days (Thursday, Saturday, Sunday, Monday, US "
                "Eastern); every day under precog dev.",
    target=[game_states],
    cron_schedule=cadence("* * * * 0,1,4,6", "* * * * *"),
    execution_timezone="America/New_York",
    default_status=schedule_status(),
)
