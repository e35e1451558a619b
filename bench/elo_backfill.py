"""The whole shipped NFL history (1920 to 2025-09-29) through the ``elo_ratings`` asset into
PostgreSQL, as one single-run backfill, against a plain-Python loop over the same games.

Usage: python bench/elo_backfill.py [--repeats 5] [--last-season 2025]

Prints one JSON object. The warehouse and Dagster's run storage are two throw-away databases
on PRECOG_BENCH_DATABASE_URL's server (else PRECOG_DATABASE_URL's, else the embedded one),
dropped afterwards; Dagster runs with the repository's dagster.yaml (PostgreSQL storage).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import dagster as dg  # noqa: E402
from _database import bench_database  # noqa: E402

from precog_pipelines.defs.elo import checks as elo_checks  # noqa: E402
from precog_pipelines.defs.elo.assets import elo_ratings  # noqa: E402
from precog_pipelines.lib.elo import NFL_MODEL_NAME, NFL_MODEL_VERSION  # noqa: E402
from precog_pipelines.lib.elo.config import EloConfig  # noqa: E402
from precog_pipelines.lib.elo.engine import Game, replay  # noqa: E402
from precog_pipelines.lib.elo.sources import GameSource  # noqa: E402
from precog_pipelines.lib.elo.store import load_model  # noqa: E402
from precog_pipelines.lib.settings import repository_root  # noqa: E402
from precog_pipelines.lib.warehouse.server import connect  # noqa: E402
from precog_pipelines.resources.elo_games import EloGameSourceResource  # noqa: E402
from precog_pipelines.resources.warehouse import WarehouseResource  # noqa: E402

CHECKS = [c for c in vars(elo_checks).values() if isinstance(c, dg.AssetChecksDefinition)]


def plain_loop(games: list[Game[str]], initial: dict[str, float], overrides: dict, c: EloConfig) -> list[tuple]:
    """The model written as one flat loop: the floor for any engine in pure Python."""
    k, hfa, scale, mean, keep = c.k_factor, c.home_field_advantage, c.rating_scale, c.reversion_mean, c.reversion_keep_fraction
    m = c.margin_multiplier
    ratings: dict[str, float] = {}
    seasons: dict[str, int] = {}
    out = []
    for g in games:
        season = g.season
        pre = []
        for team in (g.team1, g.team2):
            if team not in ratings:
                rating = initial.get(team, c.new_team_rating)
            elif seasons[team] != season:
                rating = overrides.get((team, season))
                if rating is None:
                    rating = mean + (ratings[team] - mean) * keep
            else:
                rating = ratings[team]
            pre.append(rating)
        elo1, elo2 = pre
        diff = elo1 - elo2 + (0.0 if g.neutral else hfa)
        p1 = 1.0 / (10.0 ** (-diff / scale) + 1.0)
        margin = g.score1 - g.score2
        result = 1.0 if margin > 0 else 0.0 if margin < 0 else 0.5
        divisor = m.tie_divisor if margin == 0 else (diff if margin > 0 else -diff) * m.rating_diff_coefficient + m.offset
        mult = math.log(max(abs(margin), 1) + 1.0) * (m.scale / divisor)
        shift = k * mult * (result - p1)
        ratings[g.team1], ratings[g.team2] = elo1 + shift, elo2 - shift
        seasons[g.team1] = seasons[g.team2] = season
        out.append((g, elo1, elo2, p1, elo1 + shift, elo2 - shift))
    return out


def median_seconds(function, repeats: int) -> float:
    """Median wall time of ``repeats`` calls."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def backfill(warehouse_url: str, dagster_url: str, last_season: int) -> tuple[float, dg.ExecuteInProcessResult]:
    """1920..last_season as one single-run backfill on a PostgreSQL-backed instance; (seconds, result)."""
    home = Path(tempfile.mkdtemp(prefix="elo_bench_dagster_home_"))
    shutil.copyfile(repository_root() / "dagster.yaml", home / "dagster.yaml")
    os.environ["DAGSTER_PG_URL"] = dagster_url
    instance = dg.DagsterInstance.from_config(str(home))
    try:
        started = time.perf_counter()
        result = dg.materialize(
            [elo_ratings, *CHECKS],
            resources={
                "warehouse": WarehouseResource(database_url=warehouse_url),
                "elo_games": EloGameSourceResource(),
            },
            instance=instance,
            tags={"dagster/asset_partition_range_start": "1920", "dagster/asset_partition_range_end": str(last_season)},
        )
        return time.perf_counter() - started, result
    finally:
        instance.dispose()
        shutil.rmtree(home, ignore_errors=True)


def step_seconds(result: dg.ExecuteInProcessResult, prefix: str) -> float:
    """Total duration of the run's steps whose key starts with ``prefix``."""
    return sum(
        e.event_specific_data.duration_ms / 1000
        for e in result.all_events
        if e.event_type_value == "STEP_SUCCESS" and e.step_key.startswith(prefix)
    )


def main() -> None:
    """Run the backfill and both loops; print the figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="runs of each loop for the engine comparison")
    parser.add_argument("--last-season", type=int, default=2025, help="rate 1920..this season (2020: 538's files only)")
    args = parser.parse_args()

    with bench_database("precog_bench_elo") as warehouse_url, bench_database("precog_bench_elo_dagster") as dagster_url:
        total, result = backfill(warehouse_url, dagster_url, args.last_season)
        with connect(warehouse_url) as conn:
            config = load_model(conn, NFL_MODEL_NAME, NFL_MODEL_VERSION).config
    metadata = {k: v.value for k, v in result.asset_observations_for_node("elo_ratings")[-1].metadata.items()}

    history = GameSource()
    games = [g for g in history.games if g.season <= args.last_season]
    initial, overrides = history.initial_ratings, history.overrides
    engine = median_seconds(lambda: replay(games, config, initial_ratings=initial, overrides=overrides), args.repeats)
    plain = median_seconds(lambda: plain_loop(games, initial, overrides, config), args.repeats)
    engine_results = replay(games, config, initial_ratings=initial, overrides=overrides)
    plain_results = plain_loop(games, initial, overrides, config)
    # Same arithmetic in the same order: the same numbers to the last bit.
    assert [(r.elo1_pre, r.elo2_post) for r in engine_results] == [(r[1], r[5]) for r in plain_results]

    engine_seconds, database_seconds, file_seconds = (
        metadata["engine_seconds"], metadata["database_seconds"], metadata["file_seconds"]
    )
    checks_seconds = step_seconds(result, "elo_ratings_")
    print(json.dumps({
        "games": metadata["run_games_replayed"],
        "rows_written": 2 * metadata["run_games_replayed"],
        "brier_score": round(metadata["run_brier_score"], 6),
        "total_seconds": round(total, 3),
        "engine_seconds": round(engine_seconds, 3),
        "database_seconds": round(database_seconds, 3),
        "file_seconds": round(file_seconds, 3),
        "checks_seconds": round(checks_seconds, 3),
        # Run start and end, step events and one materialization event per season partition.
        "dagster_seconds": round(total - engine_seconds - database_seconds - file_seconds - checks_seconds, 3),
        "engine_median_seconds": round(engine, 4),
        "plain_loop_median_seconds": round(plain, 4),
        "engine_to_plain_loop_ratio": round(engine / plain, 2),
    }, indent=2))


if __name__ == "__main__":
    main()
