"""Warehouse checks launched through Dagster the way the UI's "Execute" on a check launches them."""

from __future__ import annotations

import dagster as dg

from precog_pipelines.resources.warehouse import WarehouseResource


def execute_checks(url: str, instance: dg.DagsterInstance, checks: list[dg.AssetChecksDefinition],
                   raise_on_error: bool = True) -> list[dg.AssetCheckEvaluation]:
    """Run only ``checks`` against the warehouse at ``url``; return their evaluations. The checks
    read the warehouse, not their asset's output: a spec stands in for each asset, which no run
    materializes here."""
    assets = sorted({key.asset_key.to_user_string() for c in checks for key in c.check_keys})
    result = dg.materialize([*map(dg.AssetSpec, assets), *checks], selection=dg.AssetSelection.checks(*checks),
                            resources={"warehouse": WarehouseResource(database_url=url)}, instance=instance,
                            raise_on_error=raise_on_error)
    return result.get_asset_check_evaluations()
