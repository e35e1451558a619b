"""Elo ratings: FiveThirtyEight's classic NFL model, its inputs, and its warehouse tables.

Plain Python (no Dagster): ``engine`` replays games, ``config`` reads a model version's
parameters, ``csv_files`` reads FiveThirtyEight's files, ``sources`` picks files or warehouse
by season, ``store`` writes teams, games and ratings, ``rating_run`` ties these together for a
range of seasons, ``checks`` and ``chain`` hold the invariants, ``report`` the summaries.
"""

# FiveThirtyEight's model as the spec states it: the default of `precog elo replay`. The
# pipeline itself rates with, and computes edges for, the versions probability_models marks
# active (store.active_models); a retuned model is a new version row, not a change here.
NFL_MODEL_NAME = "elo_nfl"
NFL_MODEL_VERSION = "1.0"
