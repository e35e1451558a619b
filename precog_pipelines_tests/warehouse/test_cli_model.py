"""``precog model`` and ``precog backtest`` on a freshly upgraded warehouse: the evaluation loads
the shipped lines and rates the games itself, scores exactly the games with a line, and its
elo_nfl:1.0 scores come from the very probabilities ``precog elo replay`` writes."""

from __future__ import annotations

import csv
import json
import math
from collections import defaultdict

import pytest
from click.testing import CliRunner

from precog_pipelines.cli import precog
from precog_pipelines.lib.warehouse.server import connect
from precog_pipelines_tests.conftest import SHARED_NFL_DATA
from precog_pipelines_tests.support.elo import run_replay

pytestmark = pytest.mark.slow


def _invoke(*args: str):
    return CliRunner().invoke(precog, list(args))


def _shipped_lines() -> dict[tuple[str, str, str], int]:
    with (SHARED_NFL_DATA / "closing_lines_1979_2025.csv").open() as handle:
        return {(r["date"], r["team1"], r["team2"]): int(r["season"]) for r in csv.DictReader(handle)}


def _results() -> dict[tuple[str, str, str], float]:
    results = {}
    for name in ("games_1920_2020.csv", "games_2021_2025.csv"):
        with (SHARED_NFL_DATA / name).open() as handle:
            for r in csv.DictReader(handle):
                margin = int(r["score1"]) - int(r["score2"])
                results[(r["date"], r["team1"], r["team2"])] = 1.0 if margin > 0 else 0.0 if margin < 0 else 0.5
    return results


def test_evaluate_scores_the_lines_with_the_replays_probabilities_to_the_last_digit(tmp_path, warehouse_url):
    output = tmp_path / "evaluation.csv"
    result = _invoke("model", "evaluate", "--model", "elo_nfl:1.0", "--seasons", "1979-2025", "--output", str(output),
                     "--database-url", warehouse_url)
    assert result.exit_code == 0, result.output
    assert "loaded 11,649 closing lines" in result.output and "rated elo_nfl:1.0" in result.output
    assert "seasons 1979-2025: 11,649 games with a closing line" in result.output
    with output.open() as handle:
        rows = list(csv.DictReader(handle))
    assert {"season", "source", "games", "brier", "log_loss"} <= set(rows[0])
    assert {r["source"] for r in rows} == {"market", "elo_nfl:1.0"} and len(rows) == 2 * 47

    lines = _shipped_lines()
    per_season = defaultdict(int)
    for season in lines.values():
        per_season[season] += 1
    for row in rows:
        assert int(row["games"]) == per_season[int(row["season"])]  # exactly the games with a line
    assert sum(int(r["games"]) for r in rows if r["source"] == "market") == 11_649

    replay = tmp_path / "replay.csv"
    assert run_replay(replay, warehouse_url, games=None).exit_code == 0
    results, forecasts = _results(), defaultdict(list)
    with replay.open() as handle:
        for r in csv.DictReader(handle):
            key = (r["date"], r["team1"], r["team2"])
            if key in lines:
                forecasts[lines[key]].append((float(r["elo_prob1"]), results[key]))
    for row in (r for r in rows if r["source"] == "elo_nfl:1.0"):
        pairs = forecasts[int(row["season"])]
        brier = math.fsum((p - y) ** 2 for p, y in pairs) / len(pairs)
        log_loss = -math.fsum(y * math.log(p) + (1 - y) * math.log(1 - p) for p, y in pairs) / len(pairs)
        assert (row["brier"], row["log_loss"]) == (repr(brier), repr(log_loss)), row["season"]

    with connect(warehouse_url) as conn:
        stored = conn.execute("SELECT count(*), sum(games) FROM model_evaluations WHERE source = 'elo_nfl:1.0'").fetchone()
    assert stored == (47, 11_649)

    # The same warehouse backtests the default strategy against the lines of one season.
    backtest = _invoke("backtest", "--strategy", "default_paper", "--model", "elo_nfl:1.0", "--seasons", "2024-2024",
                       "--database-url", warehouse_url)
    assert backtest.exit_code == 0, backtest.output
    assert backtest.output.startswith("backtest 1: default_paper:1.1 with elo_nfl:1.0, seasons 2024-2024, source lines "
                                      "(half-spread 0.01, market spread_normal:1.0)")
    with connect(warehouse_url) as conn:
        trades, pnl = conn.execute("SELECT trades, pnl FROM backtest_runs WHERE id = 1").fetchone()
    total = backtest.output.strip().splitlines()[-1].split()
    assert total[0] == "total" and int(total[1]) == trades and total[4] == f"{pnl:+,.2f}"


@pytest.mark.parametrize(("args", "message"), [
    (("--model", "elo_nfl:9.9", "--seasons", "2024-2024"), "Error: probability_models has no model 'elo_nfl' version '9.9'"),
    (("--model", "elo_nfl", "--seasons", "2024-2024"), "Error: model 'elo_nfl' is not NAME:VERSION"),
    (("--model", "elo_nfl:1.0", "--seasons", "2025-1979"), "seasons '2025-1979': the first season is after the last"),
    (("--model", "elo_nfl:1.0", "--seasons", "2024", "--half-spread", "0.9"), "Error: half_spread 0.9 is outside 0..0.5"),
    (("--model", "elo_nfl:1.0", "--seasons", "2024", "--strategy", "nope"), "Error: no active strategy with name 'nope'"),
])
def test_backtest_refuses_bad_requests_in_one_line(warehouse_url, args, message):
    strategy = () if "--strategy" in args else ("--strategy", "default_paper")
    result = _invoke("backtest", *strategy, *args, "--database-url", warehouse_url)
    assert result.exit_code != 0 and message in result.output, result.output
    assert "Traceback" not in result.output


def test_fit_market_reproduces_the_stored_margin_sd(db):
    result = _invoke("model", "fit-market")
    assert result.exit_code == 0, result.output
    fitted = json.loads(result.output)
    stored = db.execute("SELECT config FROM market_probability_models WHERE model_name = 'spread_normal' "
                        "AND model_version = '1.0'").fetchone()[0]
    assert (fitted["margin_sd"], fitted["fitted_seasons"], fitted["lines"]) == (stored["margin_sd"], [1979, 2014], 8842)


def test_fit_elo_reproduces_the_stored_v2_config(warehouse_url, db):
    result = _invoke("model", "fit-elo", "--database-url", warehouse_url)
    assert result.exit_code == 0, result.output
    stored = db.execute("SELECT config, is_active FROM probability_models WHERE model_name = 'elo_nfl' "
                        "AND model_version = '2.0'").fetchone()
    assert json.loads(result.stdout) == stored[0]
    assert stored[1] is False  # v1.0 stays the version edges use
    assert "seasons 1979-2014, 8,884 games: log loss 0.628883 (elo_nfl:1.0) -> 0.628296 (fitted)" in result.stderr
