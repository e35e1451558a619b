"""Evaluating seasons: every chosen model version and the market, scored on the same games.

The caller passes one connection and commits. ``prepare`` makes sure what the scores need is
stored (the shipped lines, each version's ratings); ``evaluate`` reads and scores; ``store``
replaces the seasons' rows of ``model_evaluations``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import psycopg
from psycopg.types.json import Jsonb

from precog_pipelines.lib.elo.rating_run import EARLIEST_SEASON, LATEST_SEASON, rate_seasons
from precog_pipelines.lib.elo.sources import GameSource
from precog_pipelines.lib.elo.store import EloModel, elo_models, load_model, parse_model_key, rated_seasons
from precog_pipelines.lib.evaluation.closing_lines import LinesLoad, load_closing_lines, shipped_lines, stored_lines
from precog_pipelines.lib.evaluation.forecasts import MARKET, GameForecast, MissingForecasts, read_forecasts
from precog_pipelines.lib.evaluation.market_model import MarketModel, load_market_model
from precog_pipelines.lib.evaluation.scoring import Score, difference, score


@dataclass(frozen=True)
class SourceScores:
    """One season's (or a range's) scores: the market's, then each model version's."""

    season: int | None  # None for a range's totals
    scores: dict[str, Score]  # source ('market' or NAME:VERSION) -> score

    @property
    def market(self) -> Score:
        return self.scores[MARKET]

    @property
    def games(self) -> int:
        return self.market.games


@dataclass(frozen=True)
class Evaluation:
    market: MarketModel
    models: list[EloModel]
    first_season: int
    last_season: int
    seasons: list[SourceScores]
    totals: SourceScores

    @property
    def sources(self) -> list[str]:
        return [MARKET, *(model.key for model in self.models)]


@dataclass(frozen=True)
class Preparation:
    lines_loaded: LinesLoad | None
    models_rated: list[str]


def ensure_lines(conn: psycopg.Connection, source: GameSource, first: int, last: int, *,
                 load: bool = True) -> LinesLoad | None:
    """Load the shipped lines when the warehouse holds fewer for the seasons than the files
    (with ``load`` off, say so instead)."""
    stored, shipped = stored_lines(conn, first, last), shipped_lines(source, first, last)
    if stored >= shipped:
        return None
    if not load:
        raise MissingForecasts(f"closing_lines holds {stored:,} of the {shipped:,} shipped lines of seasons "
                               f"{first}..{last}; materialize closing_lines first")
    return load_closing_lines(conn, source)


def ensure_rated(conn: psycopg.Connection, source: GameSource, model: EloModel) -> bool:
    """Rate the version from its first unrated season with games through the latest one, when
    any season lacks its ratings. teams.current_elo_rating is left to the Elo asset."""
    with_games = source.seasons_with_games(conn, EARLIEST_SEASON, LATEST_SEASON)
    missing = with_games - rated_seasons(conn, model.id)
    if not missing:
        return False
    rate_seasons(conn, source, model.name, model.version, min(missing), max(with_games),
                 update_current_ratings=False)
    return True


def prepare(conn: psycopg.Connection, source: GameSource, models: Sequence[EloModel], first: int, last: int,
            *, load_lines: bool = True) -> Preparation:
    """What the scores need: the lines (loaded unless ``load_lines`` is off) and every version's ratings."""
    lines = ensure_lines(conn, source, first, last, load=load_lines)
    rated = [model.key for model in models if ensure_rated(conn, source, model)]
    return Preparation(lines, rated)


def _scores(games: Sequence[GameForecast], season: int | None, models: Sequence[EloModel]) -> SourceScores:
    scores = {MARKET: score([(g.market, g.result) for g in games])}
    for model in models:
        scores[model.key] = score([(g.models[model.key], g.result) for g in games])
    return SourceScores(season, scores)


def evaluate(conn: psycopg.Connection, market: MarketModel, models: Sequence[EloModel], first: int,
             last: int) -> Evaluation:
    """Score the market and every model on the games with a line, season by season and in total."""
    games = read_forecasts(conn, first, last, market, models)
    by_season: dict[int, list[GameForecast]] = {season: [] for season in range(first, last + 1)}
    for game in games:
        by_season[game.season].append(game)
    seasons = [_scores(by_season[season], season, models) for season in range(first, last + 1)]
    return Evaluation(market, list(models), first, last, seasons, _scores(games, None, models))


_COLUMNS = ("season", "source", "probability_model_id", "market_model_id", "games", "brier_score", "log_loss",
            "accuracy", "calibration", "brier_minus_market", "log_loss_minus_market", "accuracy_minus_market",
            "run_id")


def store(conn: psycopg.Connection, evaluation: Evaluation, run_id: str | None) -> int:
    """Replace the evaluated seasons' rows of these sources; returns the rows written."""
    ids = {MARKET: None} | {model.key: model.id for model in evaluation.models}
    conn.execute(
        "DELETE FROM model_evaluations WHERE season BETWEEN %s AND %s AND market_model_id = %s AND source = ANY(%s)",
        (evaluation.first_season, evaluation.last_season, evaluation.market.id, list(ids)))
    written = 0
    with conn.cursor() as cursor, cursor.copy(f"COPY model_evaluations ({', '.join(_COLUMNS)}) FROM STDIN") as copy:
        for season in evaluation.seasons:
            market = season.market
            for source, s in season.scores.items():
                copy.write_row((
                    season.season, source, ids[source], evaluation.market.id, s.games, s.brier_score, s.log_loss,
                    s.accuracy, Jsonb([b.as_json() for b in s.calibration]),
                    difference(s.brier_score, market.brier_score), difference(s.log_loss, market.log_loss),
                    difference(s.accuracy, market.accuracy), run_id,
                ))
                written += 1
    return written


def stored_brier_by_season(conn: psycopg.Connection, market_model_id: int) -> dict[int, dict[str, float | None]]:
    """Every season ``model_evaluations`` holds under a market map: each source's Brier score."""
    rows = conn.execute("SELECT season, source, brier_score FROM model_evaluations WHERE market_model_id = %s "
                        "ORDER BY season, source", (market_model_id,)).fetchall()
    by_season: dict[int, dict[str, float | None]] = {}
    for season, source, brier in rows:
        by_season.setdefault(season, {})[source] = None if brier is None else float(brier)
    return by_season


def chosen_models(conn: psycopg.Connection, league: str, keys: Sequence[str] | None) -> list[EloModel]:
    """The versions named ``NAME:VERSION``, or every Elo version of the league."""
    if not keys:
        return elo_models(conn, league)
    return [load_model(conn, *parse_model_key(key)) for key in keys]


def run_evaluation(conn: psycopg.Connection, source: GameSource, first: int, last: int,
                   model_keys: Sequence[str] | None, run_id: str | None, *,
                   load_lines: bool = True) -> tuple[Preparation, Evaluation]:
    """Prepare, score and store seasons ``first..last`` against the active market map (the
    caller commits)."""
    models = chosen_models(conn, source.league, model_keys)
    market = load_market_model(conn, source.league)
    preparation = prepare(conn, source, models, first, last, load_lines=load_lines)
    evaluation = evaluate(conn, market, models, first, last)
    store(conn, evaluation, run_id)
    return preparation, evaluation
