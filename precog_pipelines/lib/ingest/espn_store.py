"""Storing ESPN scoreboard games: the stable ``games`` row, and ``game_states`` history (SCD2).

``games`` holds what identifies a game (teams, date, season, week, site) plus its final
score once played; ``game_states`` holds one version per change of score, period, clock or
status. A game the history files already hold (no ESPN id yet) is adopted by its day and pair
of teams, in either order, instead of being duplicated; its teams, side and result stay the
files' (they take precedence), and ESPN adds its id, week, season type and kickoff.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from precog_pipelines.lib.espn import EspnParseError, GameState, iter_event_payloads, parse_game_state, season_context
from precog_pipelines.lib.ingest.pipeline import Ingestion, LoadResult
from precog_pipelines.lib.ingest.rejects import Reject, text_problem
from precog_pipelines.lib.quality.gx_suites import scoreboard_game_record
from precog_pipelines.lib.warehouse.bulk import copy_into_temp, upsert_staged
from precog_pipelines.lib.warehouse.scd2_merge import merge_snapshot
from precog_pipelines.lib.warehouse.tables import GAME_STATES

LEAGUE = "nfl"
ESPN = "espn"
POSTSEASON = 3
GAME_COLUMNS = (
    "external_game_id", "league", "source", "season", "season_type", "week", "game_date", "kickoff_ts",
    "home_team_id", "away_team_id", "neutral_site", "playoff", "home_score", "away_score",
)


def espn_team_ids(conn: psycopg.Connection) -> dict[int, int]:
    """ESPN team id -> our team id, for the parser's team mapping."""
    return dict(conn.execute("SELECT espn_team_id, id FROM teams WHERE league = %s AND espn_team_id IS NOT NULL",
                             (LEAGUE,)).fetchall())


def _missing(state: GameState) -> str | None:
    for field in ("season_year", "game_date", "home_team_id", "away_team_id"):
        if getattr(state, field) is None:
            return f"{field} is missing, so the game cannot be identified"
    return text_problem("display_clock", state.display_clock)


def _payload(state: GameState) -> dict:
    return {"espn_game_id": state.espn_game_id, "home_espn_team_id": state.home_espn_team_id,
            "away_espn_team_id": state.away_espn_team_id, "state": state.state, "status_name": state.status_name}


def _game_row(state: GameState) -> tuple:
    final = state.is_final
    return (
        state.espn_game_id, LEAGUE, ESPN, state.season_year, state.season_type, state.week, state.game_date,
        state.kickoff, state.home_team_id, state.away_team_id, state.neutral_site,
        state.season_type == POSTSEASON, state.home_score if final else None, state.away_score if final else None,
    )


def _state_row(state: GameState) -> tuple:
    values: Mapping[str, object] = {
        "external_game_id": state.espn_game_id, "state": state.state, "status_name": state.status_name,
        "completed": state.completed, "home_score": state.home_score, "away_score": state.away_score,
        "period": state.period, "clock_seconds": state.clock_seconds, "display_clock": state.display_clock,
        "situation": Jsonb(state.situation) if state.situation is not None else None,
    }
    return tuple(values[column] for column in GAME_STATES.columns)


def load_scoreboard(conn: psycopg.Connection, states: Sequence[GameState], observed_at: datetime) -> LoadResult:
    """Upsert the games and version their states (one state per game): ``written`` is the
    ``game_states`` merge, ``related["games"]`` the ``games`` upsert."""
    kept, rejects = [], []
    for state in states:
        problem = _missing(state)
        if problem:
            rejects.append(Reject(state.espn_game_id, problem, _payload(state)))
        else:
            kept.append(state)

    staging = copy_into_temp(conn, "games", GAME_COLUMNS, (_game_row(s) for s in kept))
    # The same game may already be known from the history files, maybe with the other team
    # designated home (a neutral site): adopt it by day and pair of teams.
    conn.execute(
        f"UPDATE games g SET external_game_id = s.external_game_id, updated_at = now() FROM {staging} s "
        "WHERE g.external_game_id IS NULL AND g.league = s.league AND g.game_date = s.game_date "
        "AND least(g.home_team_id, g.away_team_id) = least(s.home_team_id, s.away_team_id) "
        "AND greatest(g.home_team_id, g.away_team_id) = greatest(s.home_team_id, s.away_team_id)"
    )
    # The files take precedence for the games they hold: ESPN adds its week, season type and
    # kickoff, and keeps the files' source, season, teams, side and result.
    conn.execute(
        f"UPDATE {staging} s SET source = g.source, season = g.season, home_team_id = g.home_team_id, "
        "away_team_id = g.away_team_id, neutral_site = g.neutral_site, playoff = g.playoff, "
        "home_score = g.home_score, away_score = g.away_score "
        f"FROM games g WHERE g.external_game_id = s.external_game_id AND g.source <> '{ESPN}'"
    )
    games = upsert_staged(conn, "games", ("external_game_id",), GAME_COLUMNS, staging)
    versions = merge_snapshot(conn, GAME_STATES, [_state_row(s) for s in kept], observed_at)
    return LoadResult(versions, rejects, related={"games": games})


def game_state_ingestion(teams: Mapping[int, int]) -> Ingestion[GameState]:
    """ESPN scoreboard events as the ingestion pipeline runs them; ``teams`` maps ESPN team ids
    to ours (:func:`espn_team_ids`)."""
    return Ingestion(
        platform="espn", entity="game_state", suite="espn_scoreboard_games", key_field="id",
        parse=lambda raw: parse_game_state(raw, teams), parse_errors=(EspnParseError,), store=load_scoreboard,
        contract_record=scoreboard_game_record)


def scoreboard_events(boards: Sequence[Any]) -> list[Any]:
    """The events of one or more scoreboards, each carrying its season and week: ESPN puts
    them on every event, and only the board's top level says them for an event that lacks them."""
    events = []
    for board in boards:
        context = season_context(board)
        for event in iter_event_payloads(board):
            missing = {k: v for k, v in context.items() if isinstance(event, dict) and k not in event}
            events.append({**event, **missing} if missing else event)
    return events
