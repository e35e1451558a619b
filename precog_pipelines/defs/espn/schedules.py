"""When ESPN game states are refreshed."""

import dagster as dg

from precog_pipelines.core.automation import PRODUCTION, Automation, refresh_schedule
from precog_pipelines.defs.espn.assets import game_states


def game_states_schedule(automation: Automation = PRODUCTION) -> dg.ScheduleDefinition:
    return refresh_schedule(
        automation, "game_states_schedule",
        "The scoreboard every minute on NFL game days (Thursday, Saturday, Sunday, Monday, US Eastern); "
        "every day under precog dev.",
        [game_states], "* * * * 0,1,4,6", "* * * * *")


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(schedules=[game_states_schedule(Automation.from_environment())])
