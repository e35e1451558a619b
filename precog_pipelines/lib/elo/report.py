"""Summaries of a replay for people: per-season scores, rankings and a ratings chart.

The chart is rows of a table, one per team, best first, each with a bar of its rating on a scale
spanning the season's ratings (not from zero, where every NFL team's bar would look the same);
the Dagster UI shows a table in place, without a plotting library (matplotlib would be the
project's heaviest dependency for one picture).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from precog_pipelines.lib.elo.engine import RatedGame
from precog_pipelines.lib.elo.scoring import brier_score, log_loss
from precog_pipelines.lib.text_charts import bar


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


def ranking_table(paths: Mapping[Any, Sequence[float]], label: Callable[[Any], str], *, best: bool, count: int = 5) -> str:
    """The ``count`` highest (or lowest) end-of-season ratings."""
    ranked = sorted(paths.items(), key=lambda item: item[1][-1], reverse=best)[:count]
    lines = ["| Rank | Team | Rating |", "| ---: | --- | ---: |"]
    lines += [f"| {i} | {label(team)} | {path[-1]:.1f} |" for i, (team, path) in enumerate(ranked, 1)]
    return "\n".join(lines)


CHART_WIDTH = 24


def ratings_chart_rows(paths: Mapping[Any, Sequence[float]], label: Callable[[Any], str]) -> list[dict[str, Any]]:
    """One row per team, best final rating first: its rating, its change over the season, and a
    bar of the rating on a scale from a little below the lowest to the highest, so that the
    weakest team still shows a stub and the differences fill the width."""
    if not paths:
        return []
    finals = [path[-1] for path in paths.values()]
    low, high = min(finals), max(finals)
    floor = low - (high - low) * 0.1
    ranked = sorted(paths.items(), key=lambda item: item[1][-1], reverse=True)
    return [{"rank": rank, "team": label(team), "rating": round(path[-1], 1),
             "change": round(path[-1] - path[0], 1), "chart": bar(path[-1], floor, high, CHART_WIDTH).rstrip()}
            for rank, (team, path) in enumerate(ranked, 1)]


@dataclass(frozen=True)
class SeasonReport:
    """What the UI shows for one season: games, scores, rankings and a chart of the ratings."""

    season: int
    games: int
    teams: int
    brier_score: float | None
    log_loss: float | None
    top_teams: str
    bottom_teams: str
    chart_rows: list[dict[str, Any]]
    # The season whose final ratings the chart shows: the season itself, or for a season without
    # games yet the latest earlier season of the run (the ratings its teams carry in).
    chart_season: int | None


def season_reports(rated: Sequence[RatedGame[Any]], seasons: Sequence[int], label: Callable[[Any], str]) -> list[SeasonReport]:
    """One report per season in ``seasons`` (a season without games reports zeros, and charts the
    ratings its teams carry in from the latest earlier season of ``rated``)."""
    by_season: dict[int, list[RatedGame[Any]]] = {season: [] for season in seasons}
    for r in rated:
        by_season.setdefault(r.game.season, []).append(r)
    reports = []
    carried: tuple[int | None, dict[Any, list[float]]] = (None, {})
    for season in seasons:
        games = by_season[season]
        paths = rating_paths(games, season)
        if paths:
            carried = (season, paths)
        chart_season, chart_paths = carried
        reports.append(SeasonReport(
            season=season,
            games=len(games),
            teams=len(paths),
            brier_score=brier_score(forecasts(games)),
            log_loss=log_loss(forecasts(games)),
            top_teams=ranking_table(paths, label, best=True),
            bottom_teams=ranking_table(paths, label, best=False),
            chart_rows=ratings_chart_rows(chart_paths, label),
            chart_season=chart_season,
        ))
    return reports
