"""Plain library code: clients, SQL helpers and models. Nothing in here imports Dagster."""
