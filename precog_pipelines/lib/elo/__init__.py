"""Elo ratings: FiveThirtyEight's classic NFL model, its inputs, and its warehouse tables.

Plain Python (no Dagster): ``engine`` replays games, ``config`` reads a model version's
parameters, ``csv_files`` reads FiveThirtyEight's files, ``sources`` picks files or warehouse
by season, ``store`` writes teams, games and ratings, ``rating_run`` ties these together for a
range of seasons, ``checks`` and ``chain`` hold the invariants, ``report`` the summaries.
"""

# The model version the NFL pipeline rates with; a retuned model is a new version row in
# probability_models and a change here.
NFL_MODEL_NAME = "elo_nfl"
NFL_MODEL_VERSION = "1.0"
