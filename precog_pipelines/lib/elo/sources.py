"""Where the Elo replay finds final games.

The package ships the NFL history (``precog_pipelines/data/nfl``): FiveThirtyEight's games
1920-2020 and a second file from 2021 to its last date (2025-09-29), each franchise's initial
rating and the season overrides. The files are the record of every game up to and including
their last date; completed ESPN games in the warehouse are the record after it. A game known
to both (same day, same two teams in either order) is one ``games`` row whose teams, side and
result are the files'. So a season may be part files, part ESPN (2025), and no game is ever
read from both sources.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cached_property
from importlib import resources
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


@dataclass(frozen=True)
class GamesFile:
    """One games file of the history and the ``platforms`` id credited for its rows."""

    name: str
    source: str


# In date order; every file uses FiveThirtyEight's franchise codes.
GAMES_FILES = (
    GamesFile("games_1920_2020.csv", "fivethirtyeight"),
    GamesFile("games_2021_2025.csv", "spreadspoke"),
)
HISTORY_SOURCES = tuple(f.source for f in GAMES_FILES)
INITIAL_RATINGS_FILE = "initial_elos.csv"
OVERRIDES_FILE = "season_overrides.csv"
CLOSING_LINES_FILE = "closing_lines_1979_2025.csv"


def shipped_history_dir() -> Path:
    """The NFL files inside the installed package."""
    return Path(str(resources.files("precog_pipelines") / "data" / "nfl"))


@dataclass(frozen=True)
class TeamInputs:
    """The files' initial ratings and season overrides, keyed by ``teams.id``."""

    initial_ratings: dict[int, float]
    overrides: dict[tuple[int, int], float]


class GameSource:
    """Final games by season: the history files through their last date, completed ESPN games
    from the warehouse after it; and the files' initial ratings and season overrides, which
    apply to every season."""

    def __init__(self, history_dir: Path | None = None, league: str = "nfl") -> None:
        """Nothing is read until first use; ``history_dir`` defaults to the shipped files."""
        self.history_dir = history_dir or shipped_history_dir()
        self.league = league

    # Each file is read on first use: a check needing the ratings files skips the games files.
    @cached_property
    def sourced_games(self) -> list[tuple[Game[str], str]]:
        """Every game of the files with the source it is credited to, in date order."""
        return csv_files.read_tagged_game_files([(self.history_dir / f.name, f.source) for f in GAMES_FILES])

    @cached_property
    def games(self) -> list[Game[str]]:
        """Every game of the files, in date order."""
        return [game for game, _ in self.sourced_games]

    @cached_property
    def initial_ratings(self) -> dict[str, float]:
        """Each franchise's first rating, by FiveThirtyEight code."""
        return csv_files.read_initial_ratings(self.history_dir / INITIAL_RATINGS_FILE)

    @cached_property
    def overrides(self) -> dict[tuple[str, int], float]:
        """Season-start ratings replacing the reversion, by (FiveThirtyEight code, season)."""
        return csv_files.read_overrides(self.history_dir / OVERRIDES_FILE)

    @cached_property
    def closing_lines(self) -> list[csv_files.ClosingLine]:
        """The closing point spreads of the history's games (1979 onwards), in file order."""
        return csv_files.read_closing_lines(self.history_dir / CLOSING_LINES_FILE)

    @property
    def files_end(self) -> date:
        """The last day the files cover; ESPN is the source after it."""
        return max((g.date for g in self.games), default=date.min)

    def historical_games(self, first_season: int, last_season: int) -> list[tuple[Game[str], str]]:
        """File games of seasons ``first..last`` with their sources, in date order."""
        return [(g, source) for g, source in self.sourced_games if first_season <= g.season <= last_season]

    def warehouse_games(self, conn: psycopg.Connection, first_season: int, last_season: int) -> list[RecordedGame]:
        """Completed ESPN games of seasons ``first..last`` played after the files' last day."""
        return final_games(conn, self.league, first_season, last_season, self.files_end)

    def seasons_with_games(self, conn: psycopg.Connection, first_season: int, last_season: int) -> set[int]:
        """Seasons in ``first..last`` with at least one final game in either source."""
        seasons = {g.season for g in self.games if first_season <= g.season <= last_season}
        return seasons | seasons_with_final_games(conn, self.league, first_season, last_season, self.files_end)

    def team_inputs(self, conn: psycopg.Connection) -> TeamInputs:
        """Initial ratings and overrides of the franchises the warehouse knows (538 aliases)."""
        ids = fivethirtyeight_team_ids(conn, self.league)
        return TeamInputs(
            initial_ratings={ids[c]: r for c, r in self.initial_ratings.items() if c in ids},
            overrides={(ids[c], s): r for (c, s), r in self.overrides.items() if c in ids},
        )
