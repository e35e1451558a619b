"""The evaluation's arithmetic by hand: scores, calibration, the spread map and its fit, the
closing-lines file, and the closing-lines backtest of one slate."""

from __future__ import annotations

import math
from datetime import date
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

import pytest

from precog_pipelines.lib.backtest.lines import BacktestSettingsError, LinesSettings, backtest_lines
from precog_pipelines.lib.backtest.results import max_drawdown
from precog_pipelines.lib.elo.csv_files import ClosingLine, CsvInputError, read_closing_lines
from precog_pipelines.lib.elo.seasons import SeasonRangeError, parse_season_range
from precog_pipelines.lib.evaluation.forecasts import GameForecast
from precog_pipelines.lib.evaluation.market_model import MarketModel, MarketModelError, fit_margin_sd, parse_market_model
from precog_pipelines.lib.evaluation.scoring import score
from precog_pipelines.lib.text_charts import area_chart, bar, marker_strip
from precog_pipelines.lib.trading.exits import ExitRules
from precog_pipelines.lib.trading.strategy import Strategy
from precog_pipelines_tests.conftest import SHARED_NFL_DATA

LINES_HEADER = "date,season,team1,team2,favorite,spread_favorite,over_under\n"


def test_scores_of_four_forecasts_by_hand():
    # (home win probability, home result): a win, a loss, a tie, a coin flip that won.
    forecasts = [(0.8, 1.0), (0.3, 0.0), (0.6, 0.5), (0.5, 1.0)]
    s = score(forecasts)
    assert s.games == 4
    assert s.brier_score == pytest.approx((0.2**2 + 0.3**2 + 0.1**2 + 0.5**2) / 4, rel=1e-15)
    expected_log_loss = -(math.log(0.8) + math.log(0.7) + 0.5 * math.log(0.6) + 0.5 * math.log(0.4) + math.log(0.5)) / 4
    assert s.log_loss == pytest.approx(expected_log_loss, rel=1e-15)
    assert s.accuracy == (1 + 1 + 0.5 + 0.5) / 4  # a tie and a 0.5 forecast earn half a point
    bins = {b.low: b for b in s.calibration}
    assert len(s.calibration) == 10 and sum(b.games for b in s.calibration) == 4
    assert (bins[0.8].games, bins[0.8].mean_probability, bins[0.8].observed_rate) == (1, 0.8, 1.0)
    assert (bins[0.6].games, bins[0.6].observed_rate) == (1, 0.5)
    assert (bins[0.5].games, bins[0.3].games, bins[0.0].games) == (1, 1, 0)
    assert bins[0.0].mean_probability is None


def test_scores_do_not_depend_on_the_order_of_the_games():
    forecasts = [(0.1 + i / 1000, float(i % 3 == 0)) for i in range(800)]
    assert score(forecasts) == score(list(reversed(forecasts)))
    assert score([]).brier_score is None and score([]).games == 0


def test_the_spread_map_is_a_normal_margin_around_the_line():
    market = MarketModel(1, "spread_normal", "1.0", 13.4849)
    assert market.home_win_probability(0.0) == 0.5
    favourite = market.home_win_probability(-3.0)  # home favoured by 3
    assert favourite == pytest.approx(0.5 * (1 + math.erf(3 / 13.4849 / math.sqrt(2))), rel=1e-12)
    assert favourite + market.home_win_probability(3.0) == pytest.approx(1.0, abs=1e-15)
    assert 0.58 < favourite < 0.59


def test_margin_sd_is_the_root_mean_square_miss():
    # (expected home margin, actual): misses of 7, 2 and 0 points.
    assert fit_margin_sd([(3.0, 10.0), (-3.0, -1.0), (0.0, 0.0)]) == round(math.sqrt((49 + 4 + 0) / 3), 4)
    with pytest.raises(MarketModelError, match="no games"):
        fit_margin_sd([])


@pytest.mark.parametrize("config", [{}, {"margin_sd": 0}, {"margin_sd": "13"}, {"margin_sd": True}])
def test_a_market_config_without_a_positive_margin_sd_is_refused(config):
    with pytest.raises(MarketModelError, match="spread_normal v9.9: config key 'margin_sd' must be a positive number"):
        parse_market_model(1, "spread_normal", "9.9", config)


def test_the_shipped_closing_lines_read_completely():
    lines = read_closing_lines(SHARED_NFL_DATA / "closing_lines_1979_2025.csv")
    assert len(lines) == 11_649
    assert lines[0] == ClosingLine(date(1979, 9, 1), 1979, "TB", "DET", Decimal("-3"), Decimal("30"))
    away_favourite = lines[1]  # 1979-09-02 ARI-DAL, DAL -4
    assert (away_favourite.team2, away_favourite.home_spread, away_favourite.expected_home_margin) == ("DAL", 4, -4.0)
    assert sum(1 for x in lines if x.home_spread == 0) > 0  # pick'ems


@pytest.mark.parametrize(("row", "message"), [
    ("1979-09-01,1979,TB,DET,TB,three,30", "field 'spread_favorite' value 'three' is not a number of points"),
    ("1979-09-01,1979,TB,DET,TB,-3.25,30", "field 'spread_favorite' value '-3.25' is not a number of points"),
    ("1979-09-01,1979,TB,DET,TB,3,30", "field 'spread_favorite' value '3' must be negative"),
    ("1979-09-01,1979,TB,DET,PICK,-3,30", "field 'spread_favorite' value '-3' must be negative (the favourite's line), or 0"),
    ("1979-09-01,1979,TB,DET,MIA,-3,30", "field 'favorite' value 'MIA' is neither team1 'TB', team2 'DET' nor PICK"),
    ("1979-09-01,1979,TB,DET,tb,-3,30", "field 'favorite' value 'tb' is not a team code"),
    ("1979-13-01,1979,TB,DET,TB,-3,30", "field 'date' value '1979-13-01' is not a YYYY-MM-DD date"),
])
def test_a_bad_closing_line_names_its_line_field_and_value(tmp_path, row, message):
    path = tmp_path / "lines.csv"
    path.write_text(LINES_HEADER + row + "\n")
    with pytest.raises(CsvInputError, match="line 2: " + _escaped(message)):
        read_closing_lines(path)


def test_a_game_listed_twice_is_refused(tmp_path):
    path = tmp_path / "lines.csv"
    path.write_text(LINES_HEADER + "1979-09-01,1979,TB,DET,TB,-3,30\n1979-09-01,1979,DET,TB,DET,-1,30\n")
    with pytest.raises(CsvInputError, match="line 3: game 1979-09-01 DET-TB is already listed at line 2"):
        read_closing_lines(path)


def _escaped(text: str) -> str:
    import re

    return re.escape(text)


def test_season_ranges():
    assert parse_season_range("1979-2025") == (1979, 2025)
    assert parse_season_range("2015") == (2015, 2015)
    with pytest.raises(SeasonRangeError, match="seasons '2025-1979': the first season is after the last"):
        parse_season_range("2025-1979")
    with pytest.raises(SeasonRangeError, match="seasons 'recent' is not FIRST-LAST"):
        parse_season_range("recent")


def test_max_drawdown_is_the_worst_fall_from_an_earlier_high():
    # Running totals 5, 2, -2, 8, -4: falls of 7 from 5, then 12 from 8.
    assert max_drawdown([Decimal(v) for v in (5, -3, -4, 10, -12)]) == 12
    assert max_drawdown([Decimal(-3), Decimal(-1)]) == 4  # from the start at 0
    assert max_drawdown([]) == 0


STRATEGY = Strategy(id=1, name="probe", version="1.0", min_edge=Decimal("0.03"), stake_per_trade=Decimal("25.00"),
                    max_open_exposure=Decimal("60.00"), exit_rules=ExitRules(None, None, None, None), limit_attempts=3)


def _game(game_id: int, day: date, market: float, model: float, result: float) -> GameForecast:
    return GameForecast(game_id, 2015, day, home_team_id=10 + game_id, away_team_id=20 + game_id, result=result,
                        market=market, models={"elo_nfl:1.0": model})


def _by_hand(probability: Decimal, ask: Decimal, payout: Decimal) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    """(edge, quantity, entry fee, P&L) of buying a side at ``ask``, the Kalshi way, written out."""
    cent = Decimal("0.01")
    fee_100 = (Decimal("0.07") * 100 * ask * (1 - ask)).quantize(cent, rounding=ROUND_CEILING)
    fee_per_contract = (fee_100 / 100).quantize(Decimal("0.0001"), rounding=ROUND_CEILING)
    edge = (probability - ask - fee_per_contract).quantize(Decimal("0.0001"))
    quantity = (Decimal(25) / (ask + fee_per_contract)).quantize(cent, rounding=ROUND_FLOOR)
    fee = (Decimal("0.07") * quantity * ask * (1 - ask)).quantize(cent, rounding=ROUND_CEILING)
    return edge, quantity, fee, quantity * payout - quantity * ask - fee


def test_one_slate_against_the_lines_by_hand():
    day = date(2015, 9, 13)
    games = [
        _game(1, day, market=0.40, model=0.55, result=1.0),  # home undervalued: buy YES at 0.41, home wins
        _game(2, day, market=0.70, model=0.55, result=1.0),  # home overvalued: buy NO at 0.31, home wins
        _game(3, day, market=0.50, model=0.52, result=0.0),  # edge 0.52 - 0.51 - fee < 0.03: no trade
        _game(4, day, market=0.20, model=0.40, result=0.5),  # best edge, YES at 0.21, a tie pays 0.50
    ]
    trades = backtest_lines(games, "elo_nfl:1.0", STRATEGY, LinesSettings())

    # Best edge first within the 60-dollar cap: game 4, game 2, then game 1 would pass the cap.
    edge4, q4, fee4, pnl4 = _by_hand(Decimal("0.40"), Decimal("0.21"), Decimal("0.5"))
    edge2, q2, fee2, pnl2 = _by_hand(Decimal("0.45"), Decimal("0.31"), Decimal("0"))
    edge1, q1, fee1, _ = _by_hand(Decimal("0.55"), Decimal("0.41"), Decimal("1"))
    assert edge4 > edge2 > edge1 >= Decimal("0.03")
    assert [(t.game_id, t.side) for t in trades] == [(4, "yes"), (2, "no")]
    first, second = trades
    assert (first.quantity, first.entry_price, first.entry_fee, first.edge) == (q4, Decimal("0.21"), fee4, edge4)
    assert (first.exit_reason, first.exit_price, first.realized_pnl) == ("settlement", Decimal("0.5"), pnl4)
    assert (second.quantity, second.entry_price, second.entry_fee, second.realized_pnl) == (
        q2, Decimal("0.31"), fee2, pnl2)
    assert first.team_id == 14 and second.team_id == 22  # YES is the home team, NO the visitor
    cost = q4 * Decimal("0.21") + fee4 + q2 * Decimal("0.31") + fee2
    assert cost <= 60 < cost + q1 * Decimal("0.41") + fee1


def test_the_next_slate_starts_with_nothing_open_and_no_sides_sell_above_one():
    games = [_game(1, date(2015, 9, 13), 0.40, 0.55, 1.0), _game(2, date(2015, 9, 14), 0.40, 0.55, 0.0),
             _game(3, date(2015, 9, 14), 0.995, 0.999, 1.0)]  # YES would cost more than a dollar
    trades = backtest_lines(games, "elo_nfl:1.0", STRATEGY, LinesSettings())
    assert [t.game_id for t in trades] == [1, 2]
    assert trades[1].realized_pnl == -trades[1].staked


def test_half_spread_outside_its_range_is_refused():
    with pytest.raises(BacktestSettingsError, match="half_spread -0.01 is outside 0..0.5"):
        LinesSettings(half_spread=Decimal("-0.01"))


def test_text_charts():
    assert bar(5, 0, 10, width=4) == "██  "
    assert marker_strip(0.5, 0.5, width=5) == "··◉··"
    assert marker_strip(0.0, 1.0, width=5) == "│···●"
    chart = area_chart([1.0, 2.0, -1.0, -2.0], height=4, label="{:+.0f}")
    rows = chart.splitlines()
    assert len(rows) == 4 and rows[0].startswith("+2 ┤") and rows[-1].startswith("-2 ┤")
    assert rows[2].startswith("+0 ┤")
    assert [row[-4:] for row in rows] == [" █  ", "██  ", "──██", "   █"]
