"""Rating a range of seasons into the warehouse, in one transaction.

The range starts from the ratings stored at the end of the previous season, replays every
final game of the range in date order, and replaces the range's rows of
``elo_rating_history``. Seasons before the range that have games but no ratings stop the run:
replaying from a hole would store ratings that depend on missing games.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import psycopg

from precog_pipelines.lib.elo.chain import chain_breaks
from precog_pipelines.lib.elo.config import EloConfigError
from precog_pipelines.lib.elo.csv_files import CsvInputError
from precog_pipelines.lib.elo.engine import EloReplayError, EloState, RatedGame, replay
from precog_pipelines.lib.elo.seasons import describe_seasons
from precog_pipelines.lib.elo.sources import GameSource
from precog_pipelines.lib.elo.store import (
    EloModel,
    EloModelNotFound,
    TeamCodeConflict,
    load_model,
    lock_model_history,
    rated_seasons,
    record_historical_games,
    replace_ratings,
    state_before,
)
from precog_pipelines.lib.elo.store import update_current_ratings as store_current_ratings

# The schema's bounds on games.season: "every season" means this range.
EARLIEST_SEASON, LATEST_SEASON = 1869, 2200
# Writing this many rating rows (a few seasons) changes the tables' statistics materially.
BULK_ROWS = 5_000


class UnratedEarlierSeasons(RuntimeError):
    """Seasons before the requested range have games but no ratings yet."""


# Errors a person fixes (data, configuration, order of runs) rather than bugs; each message
# names what is wrong.
ELO_INPUT_ERRORS: tuple[type[Exception], ...] = (
    UnratedEarlierSeasons, CsvInputError, EloConfigError, EloModelNotFound, EloReplayError, TeamCodeConflict,
)


@dataclass(frozen=True)
class RatingRun:
    """What one range replay did, for metadata and benchmarks."""

    model: EloModel
    first_season: int
    last_season: int
    rated: Sequence[RatedGame[int]]
    current_ratings_updated: int
    seasons_needing_rerun: Sequence[int]
    engine_seconds: float
    file_seconds: float
    database_seconds: float


def rate_seasons(
    conn: psycopg.Connection,
    source: GameSource,
    model_name: str,
    model_version: str,
    first_season: int,
    last_season: int,
    *,
    update_current_ratings: bool = True,
) -> RatingRun:
    """Replay seasons ``first..last`` and store their ratings (the caller commits).

    ``teams.current_elo_rating`` holds one version's ratings: pass ``update_current_ratings=False``
    when rating any other version (a second active one, or a candidate being evaluated).
    """
    started = time.perf_counter()
    # Read the files first, so that their time is not counted as database time.
    _ = source.games, source.initial_ratings, source.overrides
    file_seconds = time.perf_counter() - started

    model = load_model(conn, model_name, model_version)
    lock_model_history(conn, model.id)
    earlier = source.seasons_with_games(conn, EARLIEST_SEASON, first_season - 1)
    unrated = sorted(earlier - rated_seasons(conn, model.id))
    if unrated:
        raise UnratedEarlierSeasons(
            f"seasons before {first_season} have games but no {model.label} ratings: {describe_seasons(unrated)}; "
            f"rate from season {unrated[0]} first (a backfill of {unrated[0]}..{last_season} does it in one run)"
        )
    state: EloState[int] = state_before(conn, model.id, first_season)
    recorded = record_historical_games(conn, source.league, source.historical_games(first_season, last_season))
    recorded += source.warehouse_games(conn, first_season, last_season)
    inputs = source.team_inputs(conn)  # after recording, so that new franchises have ids

    engine_started = time.perf_counter()
    rated = replay(
        [r.game for r in recorded], model.config,
        initial_ratings=inputs.initial_ratings, overrides=inputs.overrides, state=state,
    )
    engine_seconds = time.perf_counter() - engine_started

    rows_written = replace_ratings(conn, model.id, first_season, last_season, [r.game_id for r in recorded], rated)
    if rows_written >= BULK_ROWS:
        # Fresh statistics, or the planner takes a bulk-loaded table for an empty one and the
        # asset checks that follow take seconds instead of milliseconds.
        conn.execute("ANALYZE games, elo_rating_history")
    is_latest = not source.seasons_with_games(conn, last_season + 1, LATEST_SEASON)
    current_updated = store_current_ratings(conn, state) if is_latest and update_current_ratings else 0
    later_breaks = chain_breaks(
        conn, model.id, model.config, inputs.initial_ratings, inputs.overrides, last_season + 1, LATEST_SEASON
    )
    # Later seasons were replayed from the ratings this run replaced; from the first one that
    # no longer follows, every rated season needs a rerun.
    needing_rerun = []
    if later_breaks:
        first_break = min(b.season for b in later_breaks)
        needing_rerun = sorted(s for s in rated_seasons(conn, model.id) if s >= first_break)
    total = time.perf_counter() - started
    return RatingRun(
        model=model,
        first_season=first_season,
        last_season=last_season,
        rated=rated,
        current_ratings_updated=current_updated,
        seasons_needing_rerun=needing_rerun,
        engine_seconds=engine_seconds,
        file_seconds=file_seconds,
        database_seconds=total - engine_seconds - file_seconds,
    )
