"""Elo model parameters, read from a ``probability_models`` config and validated.

Every constant of the model lives in the model version's JSON config (FiveThirtyEight's NFL
values are ``elo_nfl`` v1.0), so another sport or a retuned model is a new version row, not a
code change. A missing or malformed key stops everything with a message naming the key.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class EloConfigError(ValueError):
    """A model config is missing a key or holds a value the engine cannot use."""


@dataclass(frozen=True, slots=True)
class MarginMultiplier:
    """Constants of ``ln(max(|margin|, 1) + 1) * scale / (winner_diff * coefficient + offset)``.

    A tie divides by ``tie_divisor`` instead (FiveThirtyEight divides by 1.0).
    """

    scale: float
    rating_diff_coefficient: float
    offset: float
    tie_divisor: float


@dataclass(frozen=True, slots=True)
class EloConfig:
    """The parameters of one Elo model version."""

    k_factor: float
    home_field_advantage: float
    rating_scale: float
    reversion_mean: float
    reversion_keep_fraction: float
    new_team_rating: float
    margin_multiplier: MarginMultiplier

    @classmethod
    def from_mapping(cls, config: Mapping[str, Any], *, source: str = "model config") -> EloConfig:
        """Validate a decoded config JSON; ``source`` names the model version in errors."""
        if not isinstance(config, Mapping):
            raise EloConfigError(f"{source}: config must be a JSON object, got {type(config).__name__}")
        multiplier = config.get("margin_multiplier")
        if not isinstance(multiplier, Mapping):
            if "margin_multiplier" not in config:
                raise EloConfigError(f"{source}: config key 'margin_multiplier' is missing")
            raise EloConfigError(
                f"{source}: config key 'margin_multiplier' must be an object, got {multiplier!r}"
            )
        return cls(
            k_factor=_number(config, "k_factor", source, positive=True),
            home_field_advantage=_number(config, "home_field_advantage", source),
            rating_scale=_number(config, "rating_scale", source, positive=True),
            reversion_mean=_number(config, "reversion_mean", source, positive=True),
            reversion_keep_fraction=_fraction(config, "reversion_keep_fraction", source),
            new_team_rating=_number(config, "new_team_rating", source, positive=True),
            margin_multiplier=MarginMultiplier(
                scale=_number(multiplier, "scale", source, prefix="margin_multiplier.", positive=True),
                rating_diff_coefficient=_number(
                    multiplier, "rating_diff_coefficient", source, prefix="margin_multiplier."
                ),
                offset=_number(multiplier, "offset", source, prefix="margin_multiplier.", positive=True),
                tie_divisor=_number(multiplier, "tie_divisor", source, prefix="margin_multiplier.", positive=True),
            ),
        )


def _number(
    config: Mapping[str, Any], key: str, source: str, *, prefix: str = "", positive: bool = False
) -> float:
    """``config[key]`` as a finite float (positive if asked); ``prefix`` is the key's parent path."""
    if key not in config:
        raise EloConfigError(f"{source}: config key '{prefix}{key}' is missing")
    value = config[key]
    # bool is an int subclass; true/false in the JSON is a mistake, not 1/0.
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise EloConfigError(f"{source}: config key '{prefix}{key}' must be a finite number, got {value!r}")
    if positive and value <= 0:
        raise EloConfigError(f"{source}: config key '{prefix}{key}' must be positive, got {value!r}")
    return float(value)


def _fraction(config: Mapping[str, Any], key: str, source: str) -> float:
    """``config[key]`` as a number between 0 and 1."""
    value = _number(config, key, source)
    if not 0 <= value <= 1:
        raise EloConfigError(f"{source}: config key '{key}' must be between 0 and 1, got {value!r}")
    return value
