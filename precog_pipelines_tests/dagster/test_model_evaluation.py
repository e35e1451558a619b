"""The closing lines, the model evaluation and a closing-lines backtest through Dagster into
PostgreSQL, on a small history whose every number is worked out by hand in the test."""

from __future__ import annotations

import math
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

import pytest

from precog_pipelines.lib.warehouse.server import connect
from precog_pipelines_tests.support.elo import materialize_seasons
from precog_pipelines_tests.support.evaluation import (
    materialization_metadata,
    materialize_evaluation,
    observation_metadata,
    small_history,
)

MARGIN_SD = 13.4849  # spread_normal v1.0
# Four first games of 1979 (every team starts from its initial rating: CHI 1368.333, GB
# 1413.889, the others 1300): a home win, a home loss, a tie, and a game without a line.
GAMES = [
    "1979-09-02,1979,0,0,DAL,NYG,24,10",
    "1979-09-02,1979,0,0,CHI,GB,10,20",
    "1979-09-03,1979,0,0,MIA,NE,17,17",
    "1979-09-03,1979,0,0,PIT,CLE,21,3",
]
LINES = [
    "1979-09-02,1979,DAL,NYG,NYG,-7,38",  # the visitor favoured by 7: home spread +7
    "1979-09-02,1979,CHI,GB,CHI,-6,35",  # home favoured by 6
    "1979-09-03,1979,MIA,NE,PICK,0,40",
]
RESULTS = [1.0, 0.0, 0.5]


def phi(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def elo(diff: float) -> float:
    return 1.0 / (1.0 + 10.0 ** (-diff / 400.0))


def by_hand(probabilities: list[float]) -> tuple[float, float, float]:
    """(Brier, log loss, accuracy) of the three games with a line."""
    pairs = list(zip(probabilities, RESULTS, strict=True))
    brier = sum((p - y) ** 2 for p, y in pairs) / 3
    log_loss = -sum(y * math.log(p) + (1 - y) * math.log(1 - p) for p, y in pairs) / 3
    accuracy = sum(0.5 if y == 0.5 else float((p > 0.5) == (y == 1.0)) for p, y in pairs) / 3
    return brier, log_loss, accuracy


MARKET = [phi(-7 / MARGIN_SD), phi(6 / MARGIN_SD), 0.5]
V1 = [elo(65), elo(1368.333 - 1413.889 + 65), elo(65)]
V2 = [elo(62.98), elo(1368.333 - 1413.889 + 62.98), elo(62.98)]  # elo_nfl v2.0: home advantage 62.98


@pytest.fixture
def history(tmp_path):
    return small_history(tmp_path / "nfl", GAMES, LINES)


def test_evaluation_of_a_small_season_matches_the_hand_computation(warehouse_url, dagster_instance, history):
    assert materialize_seasons(warehouse_url, dagster_instance, 1979, history_dir=history).success
    lines = materialize_evaluation(warehouse_url, dagster_instance, "closing_lines", history_dir=history)
    assert lines.success and all(e.passed for e in lines.get_asset_check_evaluations())
    assert materialization_metadata(lines, "closing_lines")["lines"] == 3

    result = materialize_evaluation(warehouse_url, dagster_instance, "model_evaluation", season=1979,
                                    history_dir=history)

    assert result.success
    assert {e.check_name: e.passed for e in result.get_asset_check_evaluations()} == {
        "every_source_scores_every_line": True, "scores_are_consistent": True}
    with connect(warehouse_url) as conn:
        rows = {r[0]: r[1:] for r in conn.execute(
            "SELECT source, games, brier_score, log_loss, accuracy, brier_minus_market, calibration "
            "FROM model_evaluations WHERE season = 1979").fetchall()}
        stored_market = [float(p) for (p,) in conn.execute(
            "SELECT p.home_win_probability FROM closing_line_probabilities p JOIN closing_lines l USING (game_id) "
            "ORDER BY l.game_date, l.home_spread DESC")]
    assert stored_market == pytest.approx(MARKET, rel=1e-14)
    assert set(rows) == {"market", "elo_nfl:1.0", "elo_nfl:2.0"}  # v2.0 is inactive, and evaluated all the same
    for source, probabilities in (("market", MARKET), ("elo_nfl:1.0", V1), ("elo_nfl:2.0", V2)):
        games, brier, log_loss, accuracy, _, _ = rows[source]
        assert games == 3  # PIT-CLE has no line
        assert [float(brier), float(log_loss), float(accuracy)] == pytest.approx(by_hand(probabilities), rel=1e-12)
    assert float(rows["elo_nfl:1.0"][4]) == pytest.approx(by_hand(V1)[0] - by_hand(MARKET)[0], rel=1e-12)
    assert float(rows["market"][3]) == pytest.approx(0.5 / 3)  # it favoured the losing side twice, then a tie
    bins = {b["low"]: b for b in rows["market"][5]}
    assert (bins[0.3]["games"], bins[0.3]["observed_rate"]) == (1, 1.0)  # DAL at 0.30 won
    assert (bins[0.6]["games"], bins[0.6]["observed_rate"]) == (1, 0.0)  # CHI at 0.67 lost
    assert (bins[0.5]["games"], bins[0.5]["observed_rate"]) == (1, 0.5)  # the pick'em tied

    metadata = materialization_metadata(result, "model_evaluation", "1979")
    assert metadata["games"] == 3
    assert metadata["brier_score market"] == pytest.approx(by_hand(MARKET)[0], rel=1e-12)
    assert {r.data["source"]: r.data["games"] for r in metadata["scores"].records} == {
        "market": 3, "elo_nfl:1.0": 3, "elo_nfl:2.0": 3}
    # Model versus market over the stored seasons, shown in place as a table with a bar per season.
    (season_row,) = [r.data for r in metadata["model_vs_market"].records]
    assert season_row["season"] == 1979
    assert season_row["elo_nfl:1.0 − market"] == pytest.approx(by_hand(V1)[0] - by_hand(MARKET)[0], abs=1e-4)
    assert "│" in season_row["elo_nfl:1.0 ◀ better │ worse ▶"]
    assert "0.3–0.4" in metadata["calibration"]
    run = observation_metadata(result, "model_evaluation")
    assert run["models_rated_by_this_run"] == "elo_nfl:2.0"  # the Elo asset rates only the active v1.0
    assert "Brier score by season" in run["brier_by_season"]

    again = materialize_evaluation(warehouse_url, dagster_instance, "model_evaluation", season=1979,
                                   history_dir=history)
    assert again.success and observation_metadata(again, "model_evaluation")["models_rated_by_this_run"] == "none"
    with connect(warehouse_url) as conn:
        assert conn.execute("SELECT count(*) FROM model_evaluations").fetchone()[0] == 3  # replaced, not added


def test_evaluation_without_the_lines_says_what_to_run_first(warehouse_url, dagster_instance, history):
    assert materialize_seasons(warehouse_url, dagster_instance, 1979, history_dir=history).success
    result = materialize_evaluation(warehouse_url, dagster_instance, "model_evaluation", season=1979,
                                    history_dir=history)
    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data.error
    assert "closing_lines holds 0 of the 3 shipped lines of seasons 1979..1979; materialize closing_lines first" in str(
        failure.message if failure.cause is None else failure.cause.message)


def test_a_line_naming_no_game_stops_the_load_and_stores_nothing(warehouse_url, dagster_instance, tmp_path):
    history = small_history(tmp_path / "nfl", GAMES, [*LINES, "1979-09-04,1979,SF,LAR,SF,-3,40"])
    result = materialize_evaluation(warehouse_url, dagster_instance, "closing_lines", history_dir=history)
    assert not result.success
    with connect(warehouse_url) as conn:
        assert conn.execute("SELECT count(*) FROM closing_lines").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM games").fetchone()[0] == 0


def _buy_by_hand(probability: Decimal, ask: Decimal, payout: Decimal) -> tuple[Decimal, Decimal, Decimal]:
    """(quantity, entry fee, P&L) of the default strategy's 25-dollar stake on a side at ``ask``."""
    cent = Decimal("0.01")
    fee_per_contract = ((Decimal("0.07") * 100 * ask * (1 - ask)).quantize(cent, rounding=ROUND_CEILING) / 100
                        ).quantize(Decimal("0.0001"), rounding=ROUND_CEILING)
    assert probability - ask - fee_per_contract >= Decimal("0.03")  # above default_paper's minimum edge
    quantity = (Decimal(25) / (ask + fee_per_contract)).quantize(cent, rounding=ROUND_FLOOR)
    fee = (Decimal("0.07") * quantity * ask * (1 - ask)).quantize(cent, rounding=ROUND_CEILING)
    pnl = (quantity * payout - quantity * ask - fee).quantize(Decimal("0.0001"))
    return quantity, fee, pnl


def _ask(probability: float) -> Decimal:
    """The market's probability plus the default one-cent half-spread, at price precision."""
    return (Decimal(repr(probability)) + Decimal("0.01")).quantize(Decimal("0.0001"))


def test_backtest_of_the_default_strategy_against_the_lines_by_hand(warehouse_url, dagster_instance, history):
    assert materialize_seasons(warehouse_url, dagster_instance, 1979, history_dir=history).success
    result = materialize_evaluation(
        warehouse_url, dagster_instance, ["closing_lines", "strategy_backtests"], history_dir=history,
        run_config={"ops": {"strategy_backtests": {"config": {"seasons": "1979-1979"}}}})
    assert result.success
    assert all(e.passed for e in result.get_asset_check_evaluations())

    # DAL (Elo 0.59, market 0.30): buy YES; CHI (Elo 0.47 to lose, market 0.33): buy NO;
    # MIA-NE (Elo 0.59, pick'em): buy YES at 0.51, the tie pays half.
    expected = [
        _buy_by_hand(Decimal(repr(V1[0])), _ask(MARKET[0]), Decimal(1)),
        _buy_by_hand(Decimal(repr(1 - V1[1])), _ask(1 - MARKET[1]), Decimal(1)),
        _buy_by_hand(Decimal(repr(V1[2])), _ask(MARKET[2]), Decimal("0.5")),
    ]
    with connect(warehouse_url) as conn:
        run = conn.execute("SELECT id, source, trades, wins, pnl, staked, roi, inputs, code_version FROM backtest_runs"
                           ).fetchone()
        trades = conn.execute("SELECT side, quantity, entry_fee, realized_pnl, equity_after FROM backtest_trades "
                              "ORDER BY sequence").fetchall()
        seasons = conn.execute("SELECT season, trades, pnl FROM backtest_seasons").fetchall()
    backtest_id, source, count, wins, pnl, staked, roi, inputs, code_version = run
    assert source == "lines" and count == 3 and wins == 2
    # Within a slate the best edge goes first: DAL's, then CHI's; MIA-NE is the next day's.
    assert [(t[0], t[1], t[2], t[3]) for t in trades] == [("yes", *expected[0]), ("no", *expected[1]),
                                                          ("yes", *expected[2])]
    total = sum(e[2] for e in expected)
    assert pnl == total and trades[-1][4] == total and seasons == [(1979, 3, total)]
    assert roi == (total / staked).quantize(Decimal("0.000001"))
    assert inputs["strategy"] == "default_paper:1.1" and inputs["model"] == "elo_nfl:1.0"
    assert inputs["seasons"] == [1979, 1979] and inputs["half_spread"] == "0.01" and inputs["games"] == 3
    assert code_version.startswith("0.1.0")
    metadata = materialization_metadata(result, "strategy_backtests")
    assert f"| {backtest_id} | default_paper:1.1 | elo_nfl:1.0 | lines | 1979-1979 | 3 | 2 |" in metadata["backtests"]
    assert "Cumulative P&L over 3 trades" in metadata["equity_curve elo_nfl:1.0"]
