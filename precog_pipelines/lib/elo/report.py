"""Summaries of a replay for people: per-season scores, rankings and a ratings chart in Markdown.

A Markdown table with Unicode sparklines shows every team's season at a glance in the Dagster
UI without a plotting library (matplotlib would be the project's heaviest dependency for one
picture).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from precog_pipelines.lib.elo.engine import RatedGame
from precog_pipelines.lib.elo.scoring import brier_score, log_loss

SPARK_LEVELS = "▁▂▃▄▅▆▇█"


def forecasts(rated: Sequence[RatedGame[Any]]) -> list[tuple[float, float]]:
    """``(home win probability, home result)`` per game."""
    return [(r.prob1, r.game.result1) for r in rated]


def rating_paths(rated: Sequence[RatedGame[Any]], season: int) -> dict[Any, list[float]]:
    """Each team's ratings through ``season``: its first pre-game rating, then every post-game one."""
    paths: dict[Any, list[float]] = {}
    for r in rated:
        if r.game.season != season:
            continue
        for team, before, after in ((r.game.team1, r.elo1_pre, r.elo1_post), (r.game.team2, r.elo2_pre, r.elo2_post)):
            paths.setdefault(team, [before]).append(after)
    return paths


def sparkline(values: Sequence[float], low: float, high: float) -> str:
    """One block character per value, scaled between ``low`` and ``high``."""
    span = high - low or 1.0
    top = len(SPARK_LEVELS) - 1
    return "".join(SPARK_LEVELS[min(top, max(0, round((v - low) / span * top)))] for v in values)


def ranking_table(paths: Mapping[Any, Sequence[float]], label: Callable[[Any], str], *, best: bool, count: int = 5) -> str:
    """The ``count`` highest (or lowest) end-of-season ratings."""
    ranked = sorted(paths.items(), key=lambda item: item[1][-1], reverse=best)[:count]
    lines = ["| Rank | Team | Rating |", "| ---: | --- | ---: |"]
    lines += [f"| {i} | {label(team)} | {path[-1]:.1f} |" for i, (team, path) in enumerate(ranked, 1)]
    return "\n".join(lines)


def ratings_chart(paths: Mapping[Any, Sequence[float]], label: Callable[[Any], str]) -> str:
    """Every team's season as a sparkline on a common scale, best final rating first."""
    if not paths:
        return "No games."
    low = min(min(p) for p in paths.values())
    high = max(max(p) for p in paths.values())
    lines = [
        f"Scale: {SPARK_LEVELS[0]} = {low:.0f}, {SPARK_LEVELS[-1]} = {high:.0f}",
        "",
        "| Team | Start | End | Change | Season |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    for team, path in sorted(paths.items(), key=lambda item: item[1][-1], reverse=True):
        lines.append(
            f"| {label(team)} | {path[0]:.1f} | {path[-1]:.1f} | {path[-1] - path[0]:+.1f} | `{sparkline(path, low, high)}` |"
        )
    return "\n".join(lines)


@dataclass(frozen=True)
class SeasonReport:
    """What the UI shows for one season: games, scores, rankings and a chart."""

    season: int
    games: int
    teams: int
    brier_score: float | None
    log_loss: float | None
    top_teams: str
    bottom_teams: str
    ratings_chart: str


def season_reports(rated: Sequence[RatedGame[Any]], seasons: Sequence[int], label: Callable[[Any], str]) -> list[SeasonReport]:
    """One report per season in ``seasons`` (a season without games reports zeros)."""
    by_season: dict[int, list[RatedGame[Any]]] = {season: [] for season in seasons}
    for r in rated:
        by_season.setdefault(r.game.season, []).append(r)
    reports = []
    for season in seasons:
        games = by_season[season]
        paths = rating_paths(games, season)
        reports.append(SeasonReport(
            season=season,
            games=len(games),
            teams=len(paths),
            brier_score=brier_score(forecasts(games)),
            log_loss=log_loss(forecasts(games)),
            top_teams=ranking_table(paths, label, best=True),
            bottom_teams=ranking_table(paths, label, best=False),
            ratings_chart=ratings_chart(paths, label),
        ))
    return reports
