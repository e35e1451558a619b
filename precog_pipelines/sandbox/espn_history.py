"""Past NFL seasons for the sandbox's ESPN scoreboard: the shipped real results of 2021-2025.

ESPN answers ``dates=<season>&seasontype=2&week=N`` (regular season) and ``seasontype=3``
(playoffs: 1 Wild Card, 2 Divisional, 3 Conference, 4 Pro Bowl, 5 Super Bowl) for any past
season. The sandbox does the same from the history files in the package, so a season
backfill runs offline. The files hold each game's day, teams, neutral flag, playoff flag and
final score; what they lack is made up the same way every time and said here:
- the week: regular-season weeks run Tuesday to Monday from the season's opening Thursday;
  playoff rounds count the weeks from the first playoff weekend (the Pro Bowl week is empty);
- the ESPN event id: ``8<season><season type><3-digit index>``, never an id ESPN or the
  simulated week uses;
- the kickoff: 17:00 UTC (noon or 1 pm US-Eastern) on the game's day; quarter scores are
  not known, so ``linescores`` is empty.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache

from precog_pipelines.lib.elo.engine import Game as HistoryGame
from precog_pipelines.lib.elo.sources import GameSource
from precog_pipelines.sandbox.teams import Team, team_for_fivethirtyeight_code

FIRST_SEASON = 2021  # the first season after FiveThirtyEight's files: ESPN-era ids and weeks
REGULAR_SEASON, POSTSEASON = 2, 3
HISTORY_KICKOFF = time(17, 0, tzinfo=UTC)


@dataclass(frozen=True)
class PastGame:
    """One final game of a past season as ESPN's scoreboard shows it."""

    espn_id: str
    season: int
    season_type: int
    week: int
    kickoff: datetime
    home: Team
    away: Team
    home_score: int
    away_score: int
    neutral_site: bool

    @property
    def event_date(self) -> date:
        return self.kickoff.date()


def _tuesday_week(day: date, first_day: date) -> int:
    """Weeks (Tuesday to Monday) from the week holding ``first_day``; 0 for that week."""
    week_start = first_day - timedelta(days=(first_day.weekday() - 1) % 7)
    return (day - week_start).days // 7


def past_games(games: list[HistoryGame[str]], first_season: int = FIRST_SEASON) -> list[PastGame]:
    """The ESPN view of history games of ``first_season`` on."""
    by_season: dict[tuple[int, bool], list[HistoryGame[str]]] = defaultdict(list)
    for game in games:
        if game.season >= first_season:
            by_season[(game.season, game.playoff)].append(game)
    past = []
    for (season, playoff), season_games in sorted(by_season.items()):
        first_day = min(g.date for g in season_games)
        season_type = POSTSEASON if playoff else REGULAR_SEASON
        for index, game in enumerate(sorted(season_games, key=lambda g: g.date)):
            past.append(PastGame(
                espn_id=f"8{season}{season_type}{index:03d}",
                season=season,
                season_type=season_type,
                week=_tuesday_week(game.date, first_day) + 1,
                kickoff=datetime.combine(game.date, HISTORY_KICKOFF),
                home=team_for_fivethirtyeight_code(game.team1),
                away=team_for_fivethirtyeight_code(game.team2),
                home_score=game.score1,
                away_score=game.score2,
                neutral_site=game.neutral,
            ))
    return past


@cache
def shipped_past_games() -> tuple[PastGame, ...]:
    """The shipped results of 2021 on, read once per process."""
    return tuple(past_games(GameSource().games))
