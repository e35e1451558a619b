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
        """Validate a decoded config JSON; ``source`` names the model version in errors, which
        name every bad key with its value in one line. Other keys (provenance such as
        ``fitted_seasons``) are kept in the row and ignored here."""
        if not isinstance(config, Mapping):
            raise EloConfigError(f"{source}: config must be a JSON object, got {type(config).__name__}")
        errors: list[str] = []

        def take(key: str, where: Mapping[str, Any] = config, *, prefix: str = "", positive: bool = False,
                 fraction: bool = False) -> float:
            try:
                value = _number(where, key, source, prefix=prefix, positive=positive)
                if fraction and not 0 <= value <= 1:
                    raise EloConfigError(f"{source}: config key '{prefix}{key}' must be between 0 and 1, "
                                         f"got {where[key]!r}")
                return value
            except EloConfigError as exc:
                errors.append(str(exc).removeprefix(f"{source}: "))
                return math.nan

        multiplier = config.get("margin_multiplier")
        if not isinstance(multiplier, Mapping):
            if "margin_multiplier" not in config:
                errors.append("config key 'margin_multiplier' is missing")
            else:
                errors.append(f"config key 'margin_multiplier' must be an object, got {multiplier!r}")
            multiplier = None
        k_factor = take("k_factor", positive=True)
        home_field_advantage = take("home_field_advantage")
        rating_scale = take("rating_scale", positive=True)
        reversion_mean = take("reversion_mean", positive=True)
        reversion_keep_fraction = take("reversion_keep_fraction", fraction=True)
        new_team_rating = take("new_team_rating", positive=True)
        margin = None
        if multiplier is not None:
            p = "margin_multiplier."
            margin = MarginMultiplier(
                scale=take("scale", multiplier, prefix=p, positive=True),
                rating_diff_coefficient=take("rating_diff_coefficient", multiplier, prefix=p),
                offset=take("offset", multiplier, prefix=p, positive=True),
                tie_divisor=take("tie_divisor", multiplier, prefix=p, positive=True),
            )
        if errors or margin is None:
            raise EloConfigError(f"{source}: " + "; ".join(errors))
        return cls(k_factor=k_factor, home_field_advantage=home_field_advantage, rating_scale=rating_scale,
                   reversion_mean=reversion_mean, reversion_keep_fraction=reversion_keep_fraction,
                   new_team_rating=new_team_rating, margin_multiplier=margin)


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
