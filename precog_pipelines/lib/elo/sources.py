"""Where the Elo replay finds final games.

FiveThirtyEight's files hold every game up to the last season they cover (2020 in the shared
data); the warehouse holds later seasons, written by the ESPN ingestion as ``games`` rows whose
current ``game_states`` version is completed. One cut-over season separates the two, so a
season is never read from both. The files also hold each franchise's initial rating and the
season overrides, which apply whatever the source of the games.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import psycopg

from precog_pipelines.lib.elo import csv_files
from precog_pipelines.lib.elo.engine import Game
from precog_pipelines.lib.elo.store import (
    RecordedGame,
    final_games,
    fivethirtyeight_team_ids,
    seasons_with_final_games,
)
from precog_pipelines.lib.settings import shared_dir

GAMES_FILE = "games_1920_2020.csv"
INITIAL_RATINGS_FILE = "initial_elos.csv"
OVERRIDES_FILE = "season_overrides.csv"


def default_history_dir() -> Path:
    """``<shared>/data/nfl``: the team's copy of FiveThirtyEight's NFL files."""
    return shared_dir() / "data" / "nfl"


@dataclass(frozen=True)
class TeamInputs:
    """The files' initial ratings and season overrides, keyed by ``teams.id``."""

    initial_ratings: dict[int, float]
    overrides: dict[tuple[int, int], float]


class GameSource:
    """Final games by season: the files up to ``history_last_season``, the warehouse after;
    and the files' initial ratings and season overrides, which apply to every season.

    ``history_last_season`` defaults to the last season in the games file.
    """

    def __init__(self, history_dir: Path, history_last_season: int | None = None, league: str = "nfl") -> None:
        """Nothing is read until first use."""
        self.history_dir = history_dir
        self._history_last_season = history_last_season
        self.league = league

    # Each file is read on first use: a check needing the ratings files skips the games file.
    @cached_property
    def games(self) -> list[Game[str]]:
        """The games file, in date order."""
        return csv_files.read_games(self.history_dir / GAMES_FILE)

    @cached_property
    def initial_ratings(self) -> dict[str, float]:
        """Each franchise's first rating, by FiveThirtyEight code."""
        return csv_files.read_initial_ratings(self.history_dir / INITIAL_RATINGS_FILE)

    @cached_property
    def overrides(self) -> dict[tuple[str, int], float]:
        """Season-start ratings replacing the reversion, by (FiveThirtyEight code, season)."""
        return csv_files.read_overrides(self.history_dir / OVERRIDES_FILE)

    @property
    def history_last_season(self) -> int:
        """The last season read from the files; later seasons come from the warehouse."""
        if self._history_last_season is not None:
            return self._history_last_season
        return max((g.season for g in self.games), default=0)

    def historical_games(self, first_season: int, last_season: int) -> list[Game[str]]:
        """File games of seasons ``first..last`` that the files are the source for."""
        last_season = min(last_season, self.history_last_season)
        return [g for g in self.games if first_season <= g.season <= last_season]

    def warehouse_games(self, conn: psycopg.Connection, first_season: int, last_season: int) -> list[RecordedGame]:
        """Final warehouse games of seasons ``first..last`` that the warehouse is the source for."""
        first_season = max(first_season, self.history_last_season + 1)
        if first_season > last_season:
            return []
        return final_games(conn, self.league, first_season, last_season)

    def seasons_with_games(self, conn: psycopg.Connection, first_season: int, last_season: int) -> set[int]:
        """Seasons in ``first..last`` with at least one final game in their source."""
        boundary = self.history_last_season
        seasons = {g.season for g in self.games if first_season <= g.season <= min(last_season, boundary)}
        if last_season > boundary:
            seasons |= seasons_with_final_games(conn, self.league, max(first_season, boundary + 1), last_season)
        return seasons

    def team_inputs(self, conn: psycopg.Connection) -> TeamInputs:
        """Initial ratings and overrides of the franchises the warehouse knows (538 aliases)."""
        ids = fivethirtyeight_team_ids(conn, self.league)
        return TeamInputs(
            initial_ratings={ids[c]: r for c, r in self.initial_ratings.items() if c in ids},
            overrides={(ids[c], s): r for (c, s), r in self.overrides.items() if c in ids},
        )
