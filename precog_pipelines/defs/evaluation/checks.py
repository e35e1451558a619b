"""Invariants of the closing lines, the model evaluation and the backtests."""

from precog_pipelines.core.checks import rule_checks, season_rule_checks
from precog_pipelines.defs.evaluation.assets import model_evaluation
from precog_pipelines.lib.evaluation import checks

closing_line_checks = rule_checks("closing_lines", [
    checks.every_line_matches_its_game, checks.every_line_has_a_market_probability], blocking=True)
evaluation_checks = season_rule_checks(model_evaluation, [
    checks.every_source_scores_every_line, checks.scores_are_consistent], blocking=True)
backtest_checks = (rule_checks("strategy_backtests", [checks.totals_add_up], blocking=True)
                   + rule_checks("strategy_backtests", [checks.trades_meet_the_minimum_edge], blocking=False))
