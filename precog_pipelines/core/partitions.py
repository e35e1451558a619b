"""NFL seasons as partitions: one per year, from a first season to the season in progress."""

from datetime import datetime

import dagster as dg

from precog_pipelines.lib.elo.seasons import SEASON_START_MONTH

SEASON_TIMEZONE = "America/New_York"


def nfl_season_partitions(first_season: int) -> dg.TimeWindowPartitionsDefinition:
    """A season's window runs from 1 March to the next 1 March (US Eastern, the zone game
    dates use), so January playoff games fall in the previous year's season. end_offset=1 adds
    the season in progress, which an ordinary time window would leave out until it ended.
    Every definition built here shares its windows, so a partition of one maps to the same
    season of another."""
    return dg.TimeWindowPartitionsDefinition(
        start=datetime(first_season, SEASON_START_MONTH, 1),
        cron_schedule=f"0 0 1 {SEASON_START_MONTH} *",
        fmt="%Y",
        timezone=SEASON_TIMEZONE,
        end_offset=1,
    )


def season_range(key_range: dg.PartitionKeyRange) -> tuple[int, int]:
    """The first and last season of a partition key range."""
    return int(key_range.start), int(key_range.end)
