"""NFL seasons as years: a season starts in March and ends with the following February's
playoffs, so a January or February game belongs to the previous year's season."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

SEASON_START_MONTH = 3


def season_of(day: date) -> int:
    """The season a game played on ``day`` belongs to."""
    return day.year if day.month >= SEASON_START_MONTH else day.year - 1


def describe_seasons(seasons: Iterable[int]) -> str:
    """``1920..1925, 1930`` for a set of seasons; ``none`` when empty."""
    runs: list[list[int]] = []
    for season in sorted(set(seasons)):
        if runs and season == runs[-1][-1] + 1:
            runs[-1].append(season)
        else:
            runs.append([season])
    return ", ".join(f"{r[0]}..{r[-1]}" if len(r) > 1 else str(r[0]) for r in runs) or "none"


def first_season_to_rerate(changed: Iterable[int], rated: set[int], earliest: int) -> int | None:
    """Where a re-rating must start after the games of the ``changed`` seasons changed: the
    first of them, or ``earliest`` when a season before it was never rated (a replay starts
    from the ratings at the end of the previous season). None when nothing changed."""
    first = min(changed, default=None)
    if first is None:
        return None
    return first if first == earliest or set(range(earliest, first)) <= rated else earliest


class SeasonRangeError(ValueError):
    """A season range is not FIRST-LAST with FIRST <= LAST."""


def parse_season_range(text: str) -> tuple[int, int]:
    """``1979-2025`` (or one season, ``2015``) as (first, last); errors name the value."""
    first, dash, last = text.strip().partition("-")
    try:
        seasons = (int(first), int(last) if dash else int(first))
    except ValueError:
        raise SeasonRangeError(f"seasons {text!r} is not FIRST-LAST (for example 1979-2025)") from None
    if seasons[0] > seasons[1]:
        raise SeasonRangeError(f"seasons {text!r}: the first season is after the last")
    return seasons
