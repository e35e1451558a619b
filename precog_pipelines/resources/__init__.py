"""Dagster resources: the only way assets, checks and sensors reach the outside world."""
