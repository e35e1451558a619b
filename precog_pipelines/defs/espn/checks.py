"""Invariants of the game-state history (they block Elo and edges) and of the season backfill."""

import dagster as dg

from precog_pipelines.core.checks import scd2_checks, season_sql_check, sql_check
from precog_pipelines.defs.espn.assets import espn_season_games
from precog_pipelines.lib.quality import rules

(game_states_one_current_version, game_states_validity, game_states_no_overlap, game_states_no_gaps) = scd2_checks(
    "game_states", "game_states", ("external_game_id",), blocking=True)

final_scores_never_change = sql_check(
    "game_states", "final_scores_never_change", rules.final_score_change_violations,
    "A game's score never changes after a version showed it final.", blocking=True)
scores_never_decrease = sql_check(
    "game_states", "scores_never_decrease", rules.score_decrease_violations,
    "Scores never go down within a game.", blocking=True)
clock_moves_forward = sql_check(
    "game_states", "period_and_clock_move_forward", rules.clock_backwards_violations,
    "While a game is live its period never goes back and its clock never goes up within a period.",
    blocking=True)

every_game_has_a_current_state = season_sql_check(
    espn_season_games, "every_game_has_a_current_state", rules.season_games_without_state_violations,
    "Every game of the seasons that carries an ESPN id has a current version in game_states.", blocking=True)
espn_finals_agree_with_history = season_sql_check(
    espn_season_games, "espn_finals_agree_with_history", rules.history_score_disagreement_violations,
    "Where the shipped history and ESPN both hold a game, ESPN's final score is the files' (the files' "
    "result is the one rated; a difference is worth a look).", blocking=False, severity=dg.AssetCheckSeverity.WARN)
