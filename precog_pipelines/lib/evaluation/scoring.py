"""Scoring probabilities from the home team's side: Brier score, log loss, accuracy and
calibration, for one source over a set of games.

The outcome is 1 for a home win, 0 for a loss and 0.5 for a tie (as FiveThirtyEight scored
ties); log loss is -(y ln p + (1 - y) ln(1 - p)) with the natural logarithm. Accuracy gives a
game one point when the side the probability favours won, none when it lost, and half a point
for a tie or a probability of exactly 0.5. Sums are exactly rounded (math.fsum), so a score
does not depend on the order the games are read in.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

CALIBRATION_BINS = 10


@dataclass(frozen=True)
class CalibrationBin:
    """Games whose probability fell in ``[low, high)`` (the last bin includes 1)."""

    low: float
    high: float
    games: int
    mean_probability: float | None
    observed_rate: float | None

    def as_json(self) -> dict:
        return {"low": self.low, "high": self.high, "games": self.games,
                "mean_probability": self.mean_probability, "observed_rate": self.observed_rate}


@dataclass(frozen=True)
class Score:
    """One source's scores over some games (None without games)."""

    games: int
    brier_score: float | None
    log_loss: float | None
    accuracy: float | None
    calibration: tuple[CalibrationBin, ...]


def accuracy_credit(probability: float, result: float) -> float:
    if result == 0.5 or probability == 0.5:
        return 0.5
    return 1.0 if (probability > 0.5) == (result == 1.0) else 0.0


def calibration(forecasts: Sequence[tuple[float, float]], bins: int = CALIBRATION_BINS) -> tuple[CalibrationBin, ...]:
    """Mean probability and observed outcome rate in each of ``bins`` equal probability bins."""
    members: list[list[tuple[float, float]]] = [[] for _ in range(bins)]
    for probability, result in forecasts:
        members[min(int(probability * bins), bins - 1)].append((probability, result))
    return tuple(
        CalibrationBin(
            low=i / bins, high=(i + 1) / bins, games=len(m),
            mean_probability=math.fsum(p for p, _ in m) / len(m) if m else None,
            observed_rate=math.fsum(y for _, y in m) / len(m) if m else None,
        )
        for i, m in enumerate(members)
    )


def score(forecasts: Sequence[tuple[float, float]]) -> Score:
    """Scores of ``(home win probability, home result)`` pairs."""
    n = len(forecasts)
    if not n:
        return Score(0, None, None, None, calibration(forecasts))
    return Score(
        games=n,
        brier_score=math.fsum((p - y) ** 2 for p, y in forecasts) / n,
        log_loss=-math.fsum(y * math.log(p) + (1.0 - y) * math.log(1.0 - p) for p, y in forecasts) / n,
        accuracy=math.fsum(accuracy_credit(p, y) for p, y in forecasts) / n,
        calibration=calibration(forecasts),
    )


def difference(model: float | None, market: float | None) -> float | None:
    """Model minus market (negative Brier or log loss: the model did better)."""
    return None if model is None or market is None else model - market
