"""The shipped closing lines in the warehouse: one ``closing_lines`` row per game with a line,
linked to its ``games`` row, and the market's home win probability under every version of
the spread-to-probability map (``closing_line_probabilities``).

Each line names its game by date, team1 and team2 exactly as the history files do; the games
are recorded from the files first (the same upsert the Elo replay uses, so a line never waits
for a rating run), and a line that names no game of the files stops the load. Loads are
set-based (COPY into staging, one upsert per table) and idempotent: an unchanged file writes
nothing.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import psycopg

from precog_pipelines.lib.elo.csv_files import ClosingLine
from precog_pipelines.lib.elo.sources import CLOSING_LINES_FILE, GameSource
from precog_pipelines.lib.elo.store import record_historical_games
from precog_pipelines.lib.evaluation.market_model import MarketModel, market_models
from precog_pipelines.lib.warehouse.bulk import copy_into_temp, upsert_staged

LINES_SOURCE = "spreadspoke"
_LINE_COLUMNS = ("game_id", "source", "season", "game_date", "home_team_id", "away_team_id", "home_spread",
                 "over_under")
_PROBABILITY_COLUMNS = ("game_id", "market_model_id", "home_win_probability")


class ClosingLineMismatch(ValueError):
    """A closing line names no game of the history files, or another season than its game."""


@dataclass(frozen=True)
class LinesLoad:
    """What one load found and wrote."""

    lines: int
    inserted: int
    updated: int
    probabilities_written: int
    lines_per_season: dict[int, int]
    market_models: list[MarketModel]


def _check_against_games(lines: list[ClosingLine], games: dict) -> None:
    """Every line must name exactly one game of the files, in the same season."""
    unmatched = [line for line in lines if (line.date, line.team1, line.team2) not in games]
    if unmatched:
        first = unmatched[0]
        raise ClosingLineMismatch(
            f"{CLOSING_LINES_FILE}: {len(unmatched)} line(s) name no game of the history files by date, team1 and "
            f"team2; the first is {first.date} {first.team1}-{first.team2}")
    for line in lines:
        game, _ = games[(line.date, line.team1, line.team2)]
        if game.season != line.season:
            raise ClosingLineMismatch(
                f"{CLOSING_LINES_FILE}: line {line.date} {line.team1}-{line.team2} field 'season' value "
                f"{line.season} differs from its game's season {game.season}")


def load_closing_lines(conn: psycopg.Connection, source: GameSource) -> LinesLoad:
    """Store every shipped line with its game, and its probabilities under every map version
    (the caller commits)."""
    lines = source.closing_lines
    games = {(g.date, g.team1, g.team2): (g, tag) for g, tag in source.sourced_games}
    _check_against_games(lines, games)
    recorded = record_historical_games(conn, source.league, [games[(x.date, x.team1, x.team2)] for x in lines])
    staging = copy_into_temp(conn, "closing_lines", _LINE_COLUMNS, (
        (r.game_id, LINES_SOURCE, x.season, x.date, r.game.team1, r.game.team2, x.home_spread, x.over_under)
        for x, r in zip(lines, recorded, strict=True)))
    written = upsert_staged(conn, "closing_lines", ("game_id",), _LINE_COLUMNS, staging, touch_column="loaded_at")

    models = market_models(conn, source.league)
    staging = copy_into_temp(conn, "closing_line_probabilities", _PROBABILITY_COLUMNS, (
        (r.game_id, model.id, model.home_win_probability(float(x.home_spread)))
        for model in models for x, r in zip(lines, recorded, strict=True)))
    probabilities = upsert_staged(conn, "closing_line_probabilities", ("game_id", "market_model_id"),
                                  _PROBABILITY_COLUMNS, staging, touch_column="computed_at")
    return LinesLoad(
        lines=len(lines), inserted=written.inserted, updated=written.updated,
        probabilities_written=probabilities.inserted + probabilities.updated,
        lines_per_season=dict(sorted(Counter(x.season for x in lines).items())), market_models=models,
    )


def stored_lines(conn: psycopg.Connection, first_season: int, last_season: int) -> int:
    """How many closing lines the warehouse holds for seasons ``first..last``."""
    return conn.execute("SELECT count(*) FROM closing_lines WHERE season BETWEEN %s AND %s",
                        (first_season, last_season)).fetchone()[0]


def shipped_lines(source: GameSource, first_season: int, last_season: int) -> int:
    """How many closing lines the files hold for seasons ``first..last``."""
    return sum(1 for x in source.closing_lines if first_season <= x.season <= last_season)
