"""The market's win probability from a closing point spread: a versioned, documented map.

Version ``spread_normal`` 1.0 says the home team's final margin is normal around the margin
the line expects (minus the home spread) with standard deviation ``margin_sd`` points, so the
home team wins with probability Phi(-home_spread / margin_sd). ``margin_sd`` is fitted on the
seasons up to 2014 only (:func:`fit_margin_sd`, ``precog model fit-market``), so that 2015 on
stays out of sample. A better map is a new ``market_probability_models`` row, not an edit:
probabilities are stored per version, and old ones stay as they were.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import psycopg

FIT_FIRST_SEASON, FIT_LAST_SEASON = 1979, 2014
# The stored standard deviation is rounded to this many decimals (a ten-thousandth of a point).
MARGIN_SD_DECIMALS = 4


class MarketModelError(ValueError):
    """No usable market probability model: missing, or a config the map cannot use."""


@dataclass(frozen=True)
class MarketModel:
    """One ``market_probability_models`` version of the normal margin map."""

    id: int
    name: str
    version: str
    margin_sd: float

    @property
    def key(self) -> str:
        return f"{self.name}:{self.version}"

    def home_win_probability(self, home_spread: float) -> float:
        """Phi(-home_spread / margin_sd): a pick'em is 0.5, a 3-point home favourite about 0.59."""
        return NormalDist(0.0, self.margin_sd).cdf(-home_spread)


def parse_market_model(model_id: int, name: str, version: str, config: Mapping[str, Any]) -> MarketModel:
    """Validate a decoded config; errors name the version, the key and the value."""
    where = f"market_probability_models {name} v{version}"
    value = config.get("margin_sd") if isinstance(config, Mapping) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise MarketModelError(f"{where}: config key 'margin_sd' must be a positive number, got {value!r}")
    return MarketModel(model_id, name, version, float(value))


_COLUMNS = "id, model_name, model_version, config"


def load_market_model(conn: psycopg.Connection, league: str, key: str | None = None) -> MarketModel:
    """The version named ``NAME:VERSION``, else the newest active version of the league."""
    if key is not None:
        name, _, version = key.partition(":")
        row = conn.execute(f"SELECT {_COLUMNS} FROM market_probability_models "
                           "WHERE model_name = %s AND model_version = %s", (name, version)).fetchone()
        missing = f"market_probability_models has no version {key!r}"
    else:
        row = conn.execute(
            f"SELECT {_COLUMNS} FROM market_probability_models WHERE league = %s AND is_active "
            "ORDER BY string_to_array(model_version, '.')::int[] DESC, id DESC LIMIT 1", (league,)).fetchone()
        missing = f"market_probability_models has no active version for {league}"
    if row is None:
        raise MarketModelError(missing)
    return parse_market_model(*row)


def market_models(conn: psycopg.Connection, league: str) -> list[MarketModel]:
    """Every version of the league: each gets its probabilities when lines are loaded."""
    rows = conn.execute(f"SELECT {_COLUMNS} FROM market_probability_models WHERE league = %s ORDER BY id",
                        (league,)).fetchall()
    return [parse_market_model(*row) for row in rows]


def fit_margin_sd(margins: Iterable[tuple[float, float]]) -> float:
    """The maximum-likelihood standard deviation of the final margin around the line, from
    ``(expected home margin, actual home margin)`` pairs: the root mean square of the misses,
    rounded to ``MARGIN_SD_DECIMALS``."""
    misses = [actual - expected for expected, actual in margins]
    if not misses:
        raise MarketModelError("no games to fit the margin's standard deviation on")
    return round(math.sqrt(math.fsum(m * m for m in misses) / len(misses)), MARGIN_SD_DECIMALS)
