"""Invariants of the edges history; they block positions."""

from precog_pipelines.core.checks import rule_checks, scd2_checks
from precog_pipelines.lib.quality import rules
from precog_pipelines.lib.warehouse.tables import EDGES

edge_checks = scd2_checks("edges", EDGES, blocking=True) + rule_checks("edges", [
    rules.probabilities_strictly_between_0_and_1, rules.edge_is_probability_minus_price_minus_fee,
    rules.every_edge_game_exists], blocking=True)
