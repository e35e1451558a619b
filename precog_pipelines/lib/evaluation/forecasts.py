"""The pre-game home win probabilities every source gave the games that have a closing line.

Sources are the market (one version of the spread map) and Elo model versions (the home
team's stored pre-game probability in ``elo_rating_history``, the number `precog elo replay`
writes as ``elo_prob1``). A game lacking any source's probability stops the read: every
source must be scored on the same games.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import psycopg

from precog_pipelines.lib.elo.store import EloModel
from precog_pipelines.lib.evaluation.market_model import MarketModel

MARKET = "market"

_FORECASTS = """
SELECT l.game_id, l.season, l.game_date, l.home_team_id, l.away_team_id, g.home_score, g.away_score,
       p.home_win_probability, r.model_id, r.win_probability
  FROM closing_lines l
  JOIN games g ON g.id = l.game_id
  LEFT JOIN closing_line_probabilities p ON p.game_id = l.game_id AND p.market_model_id = %(market)s
  LEFT JOIN elo_rating_history r ON r.game_id = l.game_id AND r.team_id = l.home_team_id
                                AND r.model_id = ANY(%(models)s)
 WHERE l.season BETWEEN %(first)s AND %(last)s
 ORDER BY l.game_date, l.game_id
"""


class MissingForecasts(LookupError):
    """Some games with a line have no probability from some source."""


@dataclass(slots=True)
class GameForecast:
    """One game with a line: its home result and every source's home win probability."""

    game_id: int
    season: int
    game_date: date
    home_team_id: int
    away_team_id: int
    result: float  # 1 home win, 0 home loss, 0.5 tie
    market: float
    models: dict[str, float] = field(default_factory=dict)


def home_result(home_score: int, away_score: int) -> float:
    return 1.0 if home_score > away_score else 0.0 if home_score < away_score else 0.5


def read_forecasts(conn: psycopg.Connection, first_season: int, last_season: int, market: MarketModel,
                   models: Sequence[EloModel]) -> list[GameForecast]:
    """Every game with a line in seasons ``first..last``, in date order, with all sources."""
    keys = {model.id: model.key for model in models}
    rows = conn.execute(_FORECASTS, {"market": market.id, "models": list(keys), "first": first_season,
                                     "last": last_season}).fetchall()
    games: dict[int, GameForecast] = {}
    missing: dict[str, list[int]] = {}
    for game_id, season, day, home, away, home_score, away_score, market_p, model_id, model_p in rows:
        game = games.get(game_id)
        if game is None:
            if home_score is None or market_p is None:
                missing.setdefault("a result" if home_score is None else market.key, []).append(game_id)
                continue
            # Stored as the exact decimal of the computed double: float() gives that double back.
            game = games[game_id] = GameForecast(game_id, season, day, home, away,
                                                 home_result(home_score, away_score), float(market_p))
        if model_id is not None:
            game.models[keys[model_id]] = model_p
    for game in games.values():
        for key in keys.values():
            if key not in game.models:
                missing.setdefault(key, []).append(game.game_id)
    if missing:
        described = "; ".join(f"{len(ids)} lack {what} (first game id {min(ids)})" for what, ids in missing.items())
        raise MissingForecasts(f"games with a closing line in seasons {first_season}..{last_season}: {described}; "
                               "rate the model versions and load the lines first")
    return list(games.values())
