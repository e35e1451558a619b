"""Invariants of the closing lines, the model evaluation and the backtests."""

from precog_pipelines.core.checks import season_sql_check, sql_check
from precog_pipelines.defs.evaluation.assets import model_evaluation
from precog_pipelines.lib.evaluation import checks

lines_match_their_games = sql_check(
    "closing_lines", "every_line_matches_its_game", checks.line_game_violations,
    "Every closing line is linked to the games row of its day, season, home team and away team.", blocking=True)
line_probabilities_complete = sql_check(
    "closing_lines", "every_line_has_a_market_probability", checks.line_probability_violations,
    "Every line has a home win probability under every spread-map version, favouring the side the line favours "
    "(0.5 for a pick'em).", blocking=True)

every_source_scores_every_line = season_sql_check(
    model_evaluation, "every_source_scores_every_line", checks.evaluation_coverage_violations,
    "Every source (the market and each model version) is scored on exactly the season's games with a closing line.",
    blocking=True)
scores_are_consistent = season_sql_check(
    model_evaluation, "scores_are_consistent", checks.evaluation_consistency_violations,
    "The ten calibration bins add up to the games, and each model-minus-market difference is the difference of "
    "the stored scores.", blocking=True)

backtest_totals_add_up = sql_check(
    "strategy_backtests", "totals_add_up", checks.backtest_total_violations,
    "Every backtest's trades, wins and P&L equal the sums of its trades and of its seasons, and its equity curve "
    "ends at its P&L.", blocking=True)
backtest_trades_meet_min_edge = sql_check(
    "strategy_backtests", "trades_meet_the_minimum_edge", checks.backtest_edge_violations,
    "No backtest trade has an edge below its strategy's minimum: the strategy would not have bought it.",
    blocking=False)

