"""The seasons an evaluation scores: those with closing lines, 1979 to the season in progress."""

from precog_pipelines.core.partitions import nfl_season_partitions

FIRST_SEASON_WITH_LINES = 1979

evaluation_seasons = nfl_season_partitions(FIRST_SEASON_WITH_LINES)
