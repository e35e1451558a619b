"""Invariants of the edges history; they block positions."""

from precog_pipelines.core.checks import scd2_checks, sql_check
from precog_pipelines.lib.quality import rules

(edges_one_current_version, edges_validity, edges_no_overlap) = scd2_checks(
    "edges", "edges", ("ticker", "side", "model_id"), blocking=True, retirable=True)

edge_probabilities_in_range = sql_check(
    "edges", "probabilities_strictly_between_0_and_1", rules.edge_probability_violations,
    "Every model probability is in (0, 1).", blocking=True)
edges_add_up = sql_check(
    "edges", "edge_is_probability_minus_price_minus_fee", rules.edge_arithmetic_violations,
    "Every edge equals the model probability minus the price minus the fee, to the cent.", blocking=True)
edge_games_exist = sql_check(
    "edges", "every_edge_game_exists", rules.edge_game_violations,
    "Every edge refers to a game in the warehouse.", blocking=True)
