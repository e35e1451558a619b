"""Seconds to evaluate every model version on 1979-2025 and to backtest the default strategy
against the closing lines 1979-2025 (goal: under 10 s each on the 2-core machine).

Usage: python bench/backtest.py [--repeats 3]

Prints one JSON object. The warehouse is a throw-away database on PRECOG_BENCH_DATABASE_URL's
server (else PRECOG_DATABASE_URL's, else the embedded one), dropped afterwards.

- ``evaluation_cold``: a freshly migrated warehouse, as `precog model evaluate` finds it: loading
  the 11,649 shipped lines, rating every version 1920-2025 (what the Elo asset otherwise does),
  then scoring and storing; with its parts.
- ``evaluation``: the same evaluation once lines and ratings are stored (median of the repeats):
  reading every source's probability of the 11,649 games, scoring 47 seasons and the total,
  replacing the seasons' model_evaluations rows.
- ``backtest_lines``: `default_paper` with each version over the lines 1979-2025, stored in the
  backtest tables (median of the repeats), with its parts.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _database import bench_database  # noqa: E402

from precog_pipelines.lib.backtest.lines import LinesSettings, backtest_lines  # noqa: E402
from precog_pipelines.lib.backtest.runs import BacktestRequest, run_backtest  # noqa: E402
from precog_pipelines.lib.elo.sources import GameSource  # noqa: E402
from precog_pipelines.lib.elo.store import elo_models  # noqa: E402
from precog_pipelines.lib.evaluation.forecasts import read_forecasts  # noqa: E402
from precog_pipelines.lib.evaluation.market_model import load_market_model  # noqa: E402
from precog_pipelines.lib.evaluation.runs import ensure_lines, ensure_rated, evaluate, run_evaluation, store  # noqa: E402
from precog_pipelines.lib.trading.strategy import load_strategy  # noqa: E402
from precog_pipelines.lib.warehouse.server import connect  # noqa: E402

FIRST, LAST = 1979, 2025


def timed(function):
    started = time.perf_counter()
    value = function()
    return time.perf_counter() - started, value


def cold_evaluation(url: str, source: GameSource) -> dict:
    """Everything `precog model evaluate` does on a fresh warehouse, part by part, one transaction."""
    parts = {}
    started = time.perf_counter()
    with connect(url) as conn:
        parts["load_lines"], _ = timed(lambda: ensure_lines(conn, source, FIRST, LAST))
        models = elo_models(conn, source.league)
        for model in models:
            parts[f"rate_{model.key}"], _ = timed(lambda model=model: ensure_rated(conn, source, model))
        market = load_market_model(conn, source.league)
        parts["score"], evaluation = timed(lambda: evaluate(conn, market, models, FIRST, LAST))
        parts["store"], _ = timed(lambda: store(conn, evaluation, "bench"))
        conn.commit()
    return {"seconds": round(time.perf_counter() - started, 3), "games": evaluation.totals.games,
            "models": [m.key for m in models], "parts": {k: round(v, 3) for k, v in parts.items()}}


def warm_evaluation(url: str, source: GameSource) -> float:
    with connect(url) as conn:
        seconds, (preparation, _) = timed(lambda: run_evaluation(conn, source, FIRST, LAST, None, "bench"))
        conn.commit()
    assert not preparation.models_rated and preparation.lines_loaded is None
    return seconds


def backtest_parts(url: str, model_key: str) -> dict:
    """The lines backtest's parts without storing: reading the games, the trading decisions."""
    with connect(url) as conn:
        market = load_market_model(conn, "nfl")
        model = next(m for m in elo_models(conn, "nfl") if m.key == model_key)
        strategy = load_strategy(conn, name="default_paper")
        read, games = timed(lambda: read_forecasts(conn, FIRST, LAST, market, [model]))
    trade, trades = timed(lambda: backtest_lines(games, model.key, strategy, LinesSettings()))
    return {"read_games": round(read, 3), "trade": round(trade, 3), "trades": len(trades)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    source = GameSource()
    _ = source.games, source.closing_lines, source.initial_ratings, source.overrides  # files read once, up front
    with bench_database("precog_bench_backtest") as url:
        cold = cold_evaluation(url, source)
        warm = [warm_evaluation(url, source) for _ in range(args.repeats)]
        backtests = {}
        for key in cold["models"]:
            runs = [timed(lambda key=key: run_backtest(url, source, BacktestRequest("default_paper", key, FIRST, LAST),
                                                       "bench")) for _ in range(args.repeats)]
            result = runs[-1][1]
            backtests[key] = {
                "seconds_median": round(statistics.median(s for s, _ in runs), 3),
                "seconds_all": [round(s, 3) for s, _ in runs],
                "trades": result.total.trades, "wins": result.total.wins, "staked": str(result.total.staked),
                "pnl": str(result.total.pnl), "roi": str(result.total.roi), "max_drawdown": str(result.total.max_drawdown),
                "parts": backtest_parts(url, key),
            }
    print(json.dumps({
        "seasons": f"{FIRST}-{LAST}",
        "evaluation_cold": cold,
        "evaluation": {"seconds_median": round(statistics.median(warm), 3), "seconds_all": [round(s, 3) for s in warm],
                       "models": cold["models"], "games": cold["games"]},
        "backtest_lines": backtests,
        "goal_seconds": 10,
    }, indent=2))


if __name__ == "__main__":
    main()
