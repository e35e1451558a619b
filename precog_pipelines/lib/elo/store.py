"""The Elo model's tables in the warehouse: model versions, teams, games and rating history.

Everything here runs on the caller's psycopg connection and transaction, so a replay either
stores all of its teams, games and ratings or none of them. Loads are set-based: arrays or
COPY into staging tables, then one statement per table.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date

import psycopg

from precog_pipelines.lib.elo.config import EloConfig
from precog_pipelines.lib.elo.engine import EloState, Game, RatedGame
from precog_pipelines.lib.warehouse.bulk import copy_into_temp

FIVETHIRTYEIGHT = "fivethirtyeight"

# A game counts once it is over. A history-file row (FiveThirtyEight, spreadspoke) is a result
# by construction, and its teams, side and score win over ESPN's for the games it holds. An
# ESPN row counts once its current state is completed and it was played after the files' last
# day (%(files_end)s): before it, the files are the record. Preseason (season_type 1) and
# off-season (4) games do not move Elo ratings. The Elo source and the asset checks share this.
ESPN = "espn"
FINAL_GAMES_SQL = f"""
    SELECT g.id, g.season, g.game_date, g.neutral_site, g.playoff,
           g.home_team_id, g.away_team_id,
           CASE WHEN g.source = '{ESPN}' THEN s.home_score ELSE g.home_score END AS home_score,
           CASE WHEN g.source = '{ESPN}' THEN s.away_score ELSE g.away_score END AS away_score
    FROM games g
    LEFT JOIN game_states_current s ON s.external_game_id = g.external_game_id
    WHERE g.league = %(league)s
      AND (g.source <> '{ESPN}' OR (s.completed AND g.game_date > %(files_end)s))
      AND coalesce(g.season_type, 2) IN (2, 3)
"""


class EloModelNotFound(LookupError):
    """No ``probability_models`` row for the requested Elo model version."""


class TeamCodeConflict(ValueError):
    """A FiveThirtyEight code has no alias but is already another team's code."""


@dataclass(frozen=True)
class EloModel:
    """One ``probability_models`` version of an Elo model."""

    id: int
    name: str
    version: str
    config: EloConfig

    @property
    def label(self) -> str:
        """``elo_nfl v1.0``: how messages and metadata name the version."""
        return f"{self.name} v{self.version}"

    @property
    def key(self) -> str:
        """``elo_nfl:1.0``: how the command line and evaluation tables name the version."""
        return f"{self.name}:{self.version}"


@dataclass(frozen=True, slots=True)
class RecordedGame:
    """A game stored in ``games``, keyed by team ids, ready for the engine."""

    game_id: int
    game: Game[int]


def parse_model_key(key: str) -> tuple[str, str]:
    """``elo_nfl:1.0`` as ``("elo_nfl", "1.0")``; a malformed key is refused naming it."""
    name, colon, version = key.partition(":")
    if not colon or not name or not version:
        raise EloModelNotFound(f"model {key!r} is not NAME:VERSION (for example elo_nfl:1.0)")
    return name, version


# Versions in a stable order: by name, then by version number (1.10 after 1.9).
_ELO_VERSIONS = """
SELECT model_name, model_version FROM probability_models
 WHERE model_type = 'elo' AND league = %(league)s AND (is_active OR NOT %(active_only)s)
 ORDER BY model_name, string_to_array(model_version, '.')::int[]
"""


def elo_models(conn: psycopg.Connection, league: str, *, active_only: bool = False) -> list[EloModel]:
    """Every Elo model version of ``league`` (only the active ones with ``active_only``)."""
    rows = conn.execute(_ELO_VERSIONS, {"league": league, "active_only": active_only}).fetchall()
    return [load_model(conn, name, version) for name, version in rows]


def active_models(conn: psycopg.Connection, league: str) -> list[EloModel]:
    """The versions ``probability_models`` marks active: the ones edges are computed for."""
    models = elo_models(conn, league, active_only=True)
    if not models:
        raise EloModelNotFound(f"probability_models has no active elo model for {league}; "
                               "set is_active on the version to use")
    return models


def load_model(conn: psycopg.Connection, name: str, version: str) -> EloModel:
    """The model version's row with its config validated (errors name the missing key)."""
    row = conn.execute(
        "SELECT id, model_type, config FROM probability_models WHERE model_name = %s AND model_version = %s",
        (name, version),
    ).fetchone()
    if row is None:
        raise EloModelNotFound(f"probability_models has no model {name!r} version {version!r}")
    model_id, model_type, config = row
    if model_type != "elo":
        raise EloModelNotFound(f"probability_models {name} v{version} is a {model_type!r} model, not 'elo'")
    return EloModel(model_id, name, version, EloConfig.from_mapping(config, source=f"{name} v{version}"))


def lock_model_history(conn: psycopg.Connection, model_id: int) -> None:
    """Serialise writers of one model's rating history until the transaction ends."""
    digest = hashlib.sha256(f"precog.elo_rating_history.{model_id}".encode()).digest()
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (int.from_bytes(digest[:8], "big", signed=True),))


def fivethirtyeight_team_ids(conn: psycopg.Connection, league: str) -> dict[str, int]:
    """FiveThirtyEight code -> ``teams.id``, only through ``team_aliases`` (538's OAK is our LV)."""
    rows = conn.execute(
        "SELECT alias_code, team_id FROM team_aliases WHERE league = %s AND source = %s",
        (league, FIVETHIRTYEIGHT),
    ).fetchall()
    return dict(rows)


def register_fivethirtyeight_teams(conn: psycopg.Connection, league: str, codes: Iterable[str]) -> dict[str, int]:
    """Add each code without a FiveThirtyEight alias as an inactive historical team plus its
    alias; return the full code -> team id map."""
    codes = sorted(set(codes))
    params = {"league": league, "source": FIVETHIRTYEIGHT, "codes": codes}
    taken = conn.execute(
        """
        SELECT c.code FROM unnest(%(codes)s::text[]) AS c (code)
        JOIN teams t ON t.league = %(league)s AND t.team_code = c.code
        WHERE NOT EXISTS (SELECT 1 FROM team_aliases a
                          WHERE a.league = %(league)s AND a.source = %(source)s AND a.alias_code = c.code)
        """,
        params,
    ).fetchall()
    if taken:
        names = ", ".join(code for (code,) in taken)
        raise TeamCodeConflict(
            f"FiveThirtyEight team code(s) {names} have no {FIVETHIRTYEIGHT} alias, but teams already uses "
            "them for another franchise; add the right team_aliases row before replaying"
        )
    conn.execute(
        """
        WITH added AS (
            INSERT INTO teams (league, team_code, team_name, is_active)
            SELECT %(league)s, c.code, NULL, false FROM unnest(%(codes)s::text[]) AS c (code)
            WHERE NOT EXISTS (SELECT 1 FROM team_aliases a
                              WHERE a.league = %(league)s AND a.source = %(source)s AND a.alias_code = c.code)
            RETURNING id, team_code
        )
        INSERT INTO team_aliases (league, source, alias_code, team_id)
        SELECT %(league)s, %(source)s, team_code, id FROM added
        """,
        params,
    )
    return fivethirtyeight_team_ids(conn, league)


_GAME_COLUMNS = ("source", "season", "game_date", "neutral_site", "playoff", "home_team_id", "away_team_id",
                 "home_score", "away_score")


def record_historical_games(
    conn: psycopg.Connection, league: str, games: Sequence[tuple[Game[str], str]]
) -> list[RecordedGame]:
    """Store history-file games, each with its source, in ``games`` (new teams included) and
    return them by team id, in the given order.

    A game is identified by its day and its two teams in either order. The files take
    precedence: a row ESPN wrote first (same game, maybe the other team designated home) takes
    the file's source, teams, side and result and keeps its ESPN id; a row a file wrote before
    is corrected in place.
    """
    if not games:
        return []
    team_ids = register_fivethirtyeight_teams(conn, league, {t for g, _ in games for t in (g.team1, g.team2)})
    by_id = [
        (Game(g.date, g.season, g.neutral, g.playoff, team_ids[g.team1], team_ids[g.team2], g.score1, g.score2),
         source)
        for g, source in games
    ]
    staging = copy_into_temp(
        conn, "games", _GAME_COLUMNS,
        ((source, g.season, g.date, g.neutral, g.playoff, g.team1, g.team2, g.score1, g.score2)
         for g, source in by_id),
    )
    kept = [c for c in _GAME_COLUMNS if c != "game_date"]
    conn.execute(
        f"""
        INSERT INTO games AS t (league, {", ".join(_GAME_COLUMNS)})
        SELECT %(league)s, {", ".join(_GAME_COLUMNS)} FROM {staging}
        ON CONFLICT (league, game_date, least(home_team_id, away_team_id), greatest(home_team_id, away_team_id))
        DO UPDATE SET {", ".join(f"{c} = EXCLUDED.{c}" for c in kept)}, updated_at = now()
            WHERE ({", ".join(f"t.{c}" for c in kept)}) IS DISTINCT FROM ({", ".join(f"EXCLUDED.{c}" for c in kept)})
        """,
        {"league": league},
    )
    ids = dict(
        ((d, h, a), i)
        for i, d, h, a in conn.execute(
            f"""
            SELECT g.id, g.game_date, g.home_team_id, g.away_team_id FROM {staging} s
            JOIN games g ON g.league = %s AND g.game_date = s.game_date
                        AND g.home_team_id = s.home_team_id AND g.away_team_id = s.away_team_id
            """,
            (league,),
        )
    )
    return [RecordedGame(ids[(g.date, g.team1, g.team2)], g) for g, _ in by_id]


def final_games(
    conn: psycopg.Connection, league: str, first_season: int, last_season: int, files_end: date
) -> list[RecordedGame]:
    """Completed ESPN games of seasons ``first..last`` played after ``files_end``, in date order."""
    rows = conn.execute(
        f"""
        SELECT id, season, game_date, neutral_site, playoff, home_team_id, away_team_id, home_score, away_score
        FROM ({FINAL_GAMES_SQL}) f
        WHERE season BETWEEN %(first)s AND %(last)s AND game_date > %(files_end)s
        ORDER BY game_date, id
        """,
        {"league": league, "first": first_season, "last": last_season, "files_end": files_end},
    ).fetchall()
    return [RecordedGame(r[0], Game(r[2], r[1], r[3], r[4], r[5], r[6], r[7], r[8])) for r in rows]


def seasons_with_final_games(
    conn: psycopg.Connection, league: str, first_season: int, last_season: int, files_end: date
) -> set[int]:
    """Seasons in ``first..last`` with a completed ESPN game played after ``files_end``."""
    rows = conn.execute(
        f"SELECT DISTINCT season FROM ({FINAL_GAMES_SQL}) f "
        "WHERE season BETWEEN %(first)s AND %(last)s AND game_date > %(files_end)s",
        {"league": league, "first": first_season, "last": last_season, "files_end": files_end},
    ).fetchall()
    return {season for (season,) in rows}


def rated_seasons(conn: psycopg.Connection, model_id: int) -> set[int]:
    """Seasons that have rating rows under the model."""
    rows = conn.execute("SELECT DISTINCT season FROM elo_rating_history WHERE model_id = %s", (model_id,))
    return {season for (season,) in rows.fetchall()}


def state_before(conn: psycopg.Connection, model_id: int, season: int) -> EloState[int]:
    """Every team's rating after its last game before ``season``, with that game's season."""
    rows = conn.execute(
        """
        SELECT DISTINCT ON (team_id) team_id, rating_after, season
        FROM elo_rating_history
        WHERE model_id = %s AND season < %s
        ORDER BY team_id, game_date DESC, id DESC
        """,
        (model_id, season),
    ).fetchall()
    state: EloState[int] = EloState()
    for team_id, rating, last_season in rows:
        state.set(team_id, rating, last_season)
    return state


_RATING_COLUMNS = (
    "model_id", "game_id", "team_id", "opponent_team_id", "season", "game_date", "is_home",
    "points_for", "points_against", "rating_before", "rating_after", "win_probability",
)
# Binary COPY sends doubles as their 8 bytes: exact, and cheaper than formatting text.
_RATING_TYPES = ("int4", "int8", "int4", "int4", "int4", "date", "bool", "int4", "int4", "float8", "float8", "float8")


def _rating_rows(model_id: int, game_ids: Sequence[int], rated: Sequence[RatedGame[int]]) -> Iterator[tuple]:
    """Two ``_RATING_COLUMNS`` rows per game: the home team's, then the away team's."""
    for game_id, r in zip(game_ids, rated, strict=True):
        g = r.game
        yield (model_id, game_id, g.team1, g.team2, g.season, g.date, True,
               g.score1, g.score2, r.elo1_pre, r.elo1_post, r.prob1)
        yield (model_id, game_id, g.team2, g.team1, g.season, g.date, False,
               g.score2, g.score1, r.elo2_pre, r.elo2_post, 1.0 - r.prob1)


def replace_ratings(
    conn: psycopg.Connection,
    model_id: int,
    first_season: int,
    last_season: int,
    game_ids: Sequence[int],
    rated: Sequence[RatedGame[int]],
) -> int:
    """Replace the model's rows for seasons ``first..last`` with two rows per rated game."""
    conn.execute(
        "DELETE FROM elo_rating_history WHERE model_id = %s AND season BETWEEN %s AND %s",
        (model_id, first_season, last_season),
    )
    with conn.cursor() as cursor, cursor.copy(
        f"COPY elo_rating_history ({', '.join(_RATING_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
    ) as copy:
        copy.set_types(_RATING_TYPES)
        for row in _rating_rows(model_id, game_ids, rated):
            copy.write_row(row)
    return 2 * len(rated)


def update_current_ratings(conn: psycopg.Connection, state: EloState[int]) -> int:
    """Set ``teams.current_elo_rating`` to each team's rating after its latest game."""
    team_ids = list(state.ratings)
    result = conn.execute(
        """
        UPDATE teams t
        SET current_elo_rating = v.rating, current_elo_updated_at = now(), updated_at = now()
        FROM unnest(%s::integer[], %s::double precision[]) AS v (team_id, rating)
        WHERE t.id = v.team_id
        """,
        (team_ids, [state.ratings[t] for t in team_ids]),
    )
    return result.rowcount


def team_codes(conn: psycopg.Connection, team_ids: Iterable[int]) -> dict[int, str]:
    """``teams.team_code`` by id, for display."""
    rows = conn.execute("SELECT id, team_code FROM teams WHERE id = ANY(%s)", (list(set(team_ids)),))
    return dict(rows.fetchall())
