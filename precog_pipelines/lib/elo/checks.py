"""Invariants of ``elo_rating_history``, as queries finding the rows that break them.

Each function covers one model's rows for seasons ``first..last`` and returns the project's
one rule result, :class:`~precog_pipelines.lib.quality.violations.Violations` (passed when it
found nothing).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import psycopg
from psycopg import sql

from precog_pipelines.lib.elo.store import FINAL_GAMES_SQL
from precog_pipelines.lib.quality.violations import Violations, find_violations

ZERO_SUM_TOLERANCE = 1e-6
RATING_BOUNDS = (1000.0, 2100.0)
BRIER_CEILING = 0.25


def unbalanced_games(conn: psycopg.Connection, model_id: int, first: int, last: int) -> Violations:
    """Games (``game_id``, net change) whose two teams' rating changes do not cancel."""
    return find_violations(conn, sql.SQL(
        """
        SELECT game_id, sum(rating_after - rating_before) AS net_change
        FROM elo_rating_history
        WHERE model_id = %(model)s AND season BETWEEN %(first)s AND %(last)s
        GROUP BY game_id
        HAVING abs(sum(rating_after - rating_before)) > %(tolerance)s
        ORDER BY game_id
        """), {"model": model_id, "first": first, "last": last, "tolerance": ZERO_SUM_TOLERANCE})


def games_not_rated_once_per_team(
    conn: psycopg.Connection, league: str, model_id: int, first: int, last: int, files_end: date
) -> Violations:
    """Final games (ESPN's counted after ``files_end``) lacking a row for either team, and rows
    that do not match their game (a team that did not play it, a wrong side, opponent or
    season), as ``(game_id, problem)``.

    Two rows for one team and game cannot exist: a unique key on the table forbids them.
    """
    params = {"league": league, "model": model_id, "first": first, "last": last, "files_end": files_end}
    return find_violations(conn, sql.SQL(
        f"""
        SELECT f.id AS game_id, 'no row for ' || side.name || ' team ' || side.team_id AS problem
        FROM ({FINAL_GAMES_SQL}) f
        CROSS JOIN LATERAL (VALUES ('home', f.home_team_id), ('away', f.away_team_id)) AS side (name, team_id)
        WHERE f.season BETWEEN %(first)s AND %(last)s
          AND NOT EXISTS (SELECT 1 FROM elo_rating_history r
                          WHERE r.model_id = %(model)s AND r.game_id = f.id AND r.team_id = side.team_id)
        UNION ALL
        SELECT r.game_id, 'row ' || r.id || ' for team ' || r.team_id || ' does not match its game'
        FROM elo_rating_history r
        JOIN games g ON g.id = r.game_id
        WHERE r.model_id = %(model)s AND r.season BETWEEN %(first)s AND %(last)s
          AND (r.season <> g.season
               OR (r.team_id, r.opponent_team_id, r.is_home)
                  NOT IN ((g.home_team_id, g.away_team_id, true), (g.away_team_id, g.home_team_id, false)))
        ORDER BY 1, 2
        """), params)


def ratings_out_of_bounds(conn: psycopg.Connection, model_id: int, first: int, last: int) -> Violations:
    """Ratings (``game_id, team_id, rating_before, rating_after``) outside ``RATING_BOUNDS``."""
    low, high = RATING_BOUNDS
    return find_violations(conn, sql.SQL(
        """
        SELECT game_id, team_id, rating_before, rating_after
        FROM elo_rating_history
        WHERE model_id = %(model)s AND season BETWEEN %(first)s AND %(last)s
          AND (rating_before NOT BETWEEN %(low)s AND %(high)s OR rating_after NOT BETWEEN %(low)s AND %(high)s)
        ORDER BY game_date, game_id, team_id
        """), {"model": model_id, "first": first, "last": last, "low": low, "high": high})


@dataclass(frozen=True)
class SeasonBrier:
    """One season's count of games and Brier score."""

    season: int
    games: int
    brier_score: float


def season_brier_scores(conn: psycopg.Connection, model_id: int, first: int, last: int) -> list[SeasonBrier]:
    """Each season's Brier score of the stored home win probabilities (ties count 0.5)."""
    rows = conn.execute(
        """
        SELECT season, count(*),
               avg((win_probability - CASE WHEN points_for > points_against THEN 1.0
                                           WHEN points_for < points_against THEN 0.0
                                           ELSE 0.5 END) ^ 2)
        FROM elo_rating_history
        WHERE model_id = %s AND season BETWEEN %s AND %s AND is_home
        GROUP BY season ORDER BY season
        """,
        (model_id, first, last),
    ).fetchall()
    return [SeasonBrier(season, games, float(brier)) for season, games, brier in rows]
