"""Invariants of the game-state history; they block Elo and edges."""

from precog_pipelines.check_factories import scd2_checks, sql_check
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
