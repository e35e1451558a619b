"""Invariants of the game-state history (they block Elo and edges) and of the season backfill."""

import dagster as dg

from precog_pipelines.core.checks import rule_checks, scd2_checks, season_rule_checks
from precog_pipelines.defs.espn.assets import espn_season_games
from precog_pipelines.lib.quality import rules
from precog_pipelines.lib.warehouse.tables import GAME_STATES

game_state_checks = scd2_checks("game_states", GAME_STATES, blocking=True) + rule_checks("game_states", [
    rules.final_scores_never_change, rules.scores_never_decrease, rules.period_and_clock_move_forward], blocking=True)

season_game_checks = (
    season_rule_checks(espn_season_games, [rules.every_game_has_a_current_state], blocking=True)
    + season_rule_checks(espn_season_games, [rules.espn_finals_agree_with_history], blocking=False,
                         severity=dg.AssetCheckSeverity.WARN))
