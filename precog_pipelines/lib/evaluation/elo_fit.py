"""Fitting an Elo version's parameters on past seasons only (``precog model fit-elo``).

The engine is FiveThirtyEight's; four of its parameters are fitted: K, the home-field
advantage, the share of a rating kept over the off-season, and the margin multiplier's
rating-difference coefficient (how much a favourite's expected blowout is discounted; its
scale is confounded with K, so it stays). The objective is the log loss of the pre-game home
win probabilities over the games of ``first_season..last_season`` (by default 1979-2014, the
in-sample seasons of the evaluation), replaying every game from 1920 up to ``last_season``
and none after it. SciPy's Nelder-Mead starts from the given version (v1.0) with a fixed
simplex, so the fit is deterministic; the result is rounded to four significant digits, which
is what the new version row stores.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from precog_pipelines.lib.elo.config import EloConfig
from precog_pipelines.lib.elo.engine import Game, replay
from precog_pipelines.lib.elo.scoring import log_loss
from precog_pipelines.lib.evaluation.market_model import FIT_FIRST_SEASON, FIT_LAST_SEASON

# (config path, first step of the simplex): each step is large enough to leave a flat region.
FITTED_PARAMETERS: tuple[tuple[tuple[str, ...], float], ...] = (
    (("k_factor",), 5.0),
    (("home_field_advantage",), 10.0),
    (("reversion_keep_fraction",), 0.08),
    (("margin_multiplier", "rating_diff_coefficient"), 0.001),
)
SIGNIFICANT_DIGITS = 4
# Outside these the engine's assumptions break (a negative K, keeping more than all of a rating).
_BOUNDS = ((1e-6, None), (None, None), (0.0, 1.0), (0.0, None))
_OUT_OF_BOUNDS_LOSS = 10.0


@dataclass(frozen=True)
class EloFit:
    """A fitted config and how it scores against its starting point, in sample."""

    config: dict[str, Any]
    start_log_loss: float
    fitted_log_loss: float
    games_scored: int
    evaluations: int
    first_season: int
    last_season: int


def _get(config: Mapping[str, Any], path: Sequence[str]) -> float:
    value: Any = config
    for key in path:
        value = value[key]
    return float(value)


def with_parameters(config: Mapping[str, Any], values: Sequence[float]) -> dict[str, Any]:
    """A copy of ``config`` with the fitted parameters set to ``values``."""
    result = copy.deepcopy(dict(config))
    for (path, _), value in zip(FITTED_PARAMETERS, values, strict=True):
        target = result
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return result


def significant(value: float, digits: int = SIGNIFICANT_DIGITS) -> float:
    return float(f"{value:.{digits}g}")


def in_sample_log_loss(config: Mapping[str, Any], games: Sequence[Game[str]], initial: Mapping[str, float],
                       overrides: Mapping[tuple[str, int], float], first_season: int) -> tuple[float, int]:
    """Log loss of the pre-game probabilities of the games from ``first_season`` on, and their count."""
    rated = replay(games, EloConfig.from_mapping(config, source="candidate"), initial_ratings=initial,
                   overrides=overrides)
    scored = [(r.prob1, r.game.result1) for r in rated if r.game.season >= first_season]
    return log_loss(scored) or math.nan, len(scored)


def fit_elo(start: Mapping[str, Any], games: Sequence[Game[str]], initial: Mapping[str, float],
            overrides: Mapping[tuple[str, int], float], first_season: int = FIT_FIRST_SEASON,
            last_season: int = FIT_LAST_SEASON) -> EloFit:
    """Fit ``FITTED_PARAMETERS`` on seasons ``first_season..last_season`` starting from ``start``."""
    history = [g for g in games if g.season <= last_season]
    evaluations = 0

    def objective(values: Sequence[float]) -> float:
        nonlocal evaluations
        for value, (low, high) in zip(values, _BOUNDS, strict=True):
            if (low is not None and value < low) or (high is not None and value > high):
                return _OUT_OF_BOUNDS_LOSS
        evaluations += 1
        return in_sample_log_loss(with_parameters(start, values), history, initial, overrides, first_season)[0]

    from scipy.optimize import minimize  # a second's import, needed by this function only

    x0 = [_get(start, path) for path, _ in FITTED_PARAMETERS]
    simplex = [x0] + [[x + (step if i == j else 0.0) for j, x in enumerate(x0)]
                      for i, (_, step) in enumerate(FITTED_PARAMETERS)]
    result = minimize(objective, x0, method="Nelder-Mead",
                      options={"initial_simplex": simplex, "xatol": 1e-5, "fatol": 1e-8, "maxiter": 1000})
    fitted = with_parameters(start, [significant(v) for v in result.x]) | {
        "fitted_seasons": [first_season, last_season],
        "fitted_parameters": [".".join(path) for path, _ in FITTED_PARAMETERS],
    }
    start_loss, games_scored = in_sample_log_loss(start, history, initial, overrides, first_season)
    fitted_loss, _ = in_sample_log_loss(fitted, history, initial, overrides, first_season)
    return EloFit(fitted, start_loss, fitted_loss, games_scored, evaluations, first_season, last_season)
