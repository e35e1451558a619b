"""Whether stored ratings still follow from each other, game after game and season after season.

Each pre-game rating must equal the team's previous post-game rating, reverted toward the mean
at a new season (or set by an override), or its initial rating at its first game. Re-rating a
season with different results breaks this at the next season each team plays: that is how the
warehouse shows which later seasons need a rerun.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import psycopg

from precog_pipelines.lib.elo.config import EloConfig
from precog_pipelines.lib.elo.engine import season_start_rating

CHAIN_TOLERANCE = 1e-6


@dataclass(frozen=True, slots=True)
class ChainBreak:
    """A pre-game rating that does not follow from the team's previous one."""

    team_id: int
    season: int
    game_date: date
    stored: float
    expected: float


def chain_breaks(
    conn: psycopg.Connection,
    model_id: int,
    config: EloConfig,
    initial_ratings: Mapping[int, float],
    overrides: Mapping[tuple[int, int], float],
    first_season: int,
    last_season: int,
) -> list[ChainBreak]:
    """Breaks among the model's rows of seasons ``first..last``, in date order."""
    rows = conn.execute(
        """
        SELECT team_id, season, game_date, rating_before, previous_after, previous_season
        FROM (
            SELECT team_id, season, game_date, rating_before,
                   lag(rating_after) OVER team_games AS previous_after,
                   lag(season) OVER team_games AS previous_season
            FROM elo_rating_history
            WHERE model_id = %s AND season <= %s
            WINDOW team_games AS (PARTITION BY team_id ORDER BY game_date, id)
        ) chained
        WHERE season >= %s
        ORDER BY game_date, team_id
        """,
        (model_id, last_season, first_season),
    ).fetchall()
    breaks = []
    for team_id, season, game_date, stored, previous_after, previous_season in rows:
        if previous_season is None:
            expected = initial_ratings.get(team_id, config.new_team_rating)
        elif previous_season < season:
            expected = overrides.get((team_id, season))
            if expected is None:
                expected = season_start_rating(config, previous_after)
        else:
            expected = previous_after
        if abs(stored - expected) > CHAIN_TOLERANCE:
            breaks.append(ChainBreak(team_id, season, game_date, stored, expected))
    return breaks
