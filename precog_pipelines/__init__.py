"""Precog Pipelines: the Dagster data platform behind Precog's sports prediction-market trading."""
