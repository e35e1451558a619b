"""How good pre-game probabilities were: Brier score and log loss (ties count as 0.5)."""

from __future__ import annotations

import math
from collections.abc import Iterable


def brier_score(forecasts: Iterable[tuple[float, float]]) -> float | None:
    """Mean of ``(p - result)**2`` over ``(p, result)`` pairs; None when there are none."""
    total, count = 0.0, 0
    for probability, result in forecasts:
        total += (probability - result) ** 2
        count += 1
    return total / count if count else None


def log_loss(forecasts: Iterable[tuple[float, float]]) -> float | None:
    """Mean of ``-(r ln p + (1 - r) ln(1 - p))`` over ``(p, r)`` pairs; None when there are none."""
    total, count = 0.0, 0
    for probability, result in forecasts:
        total -= result * math.log(probability) + (1.0 - result) * math.log(1.0 - probability)
        count += 1
    return total / count if count else None
