"""Declarative automation of the derived assets: edges and positions follow their inputs."""

import dagster as dg

from precog_pipelines.core.automation import sensor_status

# One explicit sensor instead of Dagster's implicit default, so its status follows the
# environment like every other sensor (DAGSTER_STANDARD.md, pitfall E4).
trading_automation_sensor = dg.AutomationConditionSensorDefinition(
    name="trading_automation_sensor",
    description="Recomputes edges when markets, game states or ratings change and their blocking checks "
                "passed, then positions when edges change.",
    target=dg.AssetSelection.groups("edges", "trading"),
    default_status=sensor_status(),
    minimum_interval_seconds=15,
)
