"""Keeping the season in progress rated while games are being played."""

import dagster as dg

from precog_pipelines.core.automation import PRODUCTION, Automation
from precog_pipelines.core.partitions import SEASON_TIMEZONE
from precog_pipelines.defs.elo.jobs import elo_ratings_job
from precog_pipelines.lib.elo.seasons import season_of


def elo_current_season_schedule(automation: Automation = PRODUCTION) -> dg.ScheduleDefinition:
    return dg.schedule(
        name="elo_current_season_schedule",
        job=elo_ratings_job,
        # 06:00 Eastern, after the last night game, every day from September to February.
        cron_schedule="0 6 * 1,2,9-12 *",
        execution_timezone=SEASON_TIMEZONE,
        default_status=automation.schedule_status,
    )(rate_the_season_in_progress)


def rate_the_season_in_progress(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    """Re-rate the season in progress each morning of the NFL season, so the previous day's
    final games are in the ratings (the partition replaces the season's rows, so reruns are safe)."""
    season = season_of(context.scheduled_execution_time.date())
    return dg.RunRequest(partition_key=str(season))


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(schedules=[elo_current_season_schedule(Automation.from_environment())])
