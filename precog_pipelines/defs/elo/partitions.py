"""Elo's seasons: every NFL season from 1920 to the season in progress."""

from precog_pipelines.core.partitions import nfl_season_partitions

nfl_seasons = nfl_season_partitions(1920)
