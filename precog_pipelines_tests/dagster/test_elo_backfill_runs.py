"""A backfill of a season range is one run, launched the two ways people launch one: the
``dg launch`` command, and the Dagster UI's backfill (planned by the real backfill daemon)."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.execution.backfill import PartitionBackfill
from dagster._core.storage.dagster_run import DagsterRunStatus, RunsFilter
from dagster._core.utils import make_new_backfill_id
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import ModuleTarget
from dagster._daemon.backfill import execute_backfill_iteration

from precog_pipelines.lib.settings import code_location_environment, repository_root
from precog_pipelines.lib.warehouse.server import connect
from precog_pipelines_tests.support.elo import range_tags

pytestmark = pytest.mark.slow

ELO_RATINGS = dg.AssetKey("elo_ratings")


def test_dg_launch_of_a_partition_range_is_one_run(tmp_path, warehouse_url, dagster_instance):
    shutil.copyfile(repository_root() / "dagster.yaml", tmp_path / "dagster.yaml")
    started = datetime.now(timezone.utc)
    result = subprocess.run(
        [str(Path(sys.executable).parent / "dg"), "launch", "--assets", "elo_ratings",
         "--partition-range", "1920...1925"],
        cwd=repository_root(), capture_output=True, text=True, timeout=300,
        env=code_location_environment() | os.environ | {"DAGSTER_HOME": str(tmp_path), "PRECOG_DATABASE_URL": warehouse_url},
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    runs = dagster_instance.get_runs(RunsFilter(tags=range_tags(1920, 1925), created_after=started))
    assert len(runs) == 1 and runs[0].status == DagsterRunStatus.SUCCESS
    materialized = dagster_instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=ELO_RATINGS, storage_ids=None, after_timestamp=started.timestamp()), limit=100
    ).records
    assert sorted(r.partition_key for r in materialized if r.run_id == runs[0].run_id) == [str(s) for s in range(1920, 1926)]
    with connect(warehouse_url) as conn:
        seasons = conn.execute("SELECT DISTINCT season FROM elo_rating_history ORDER BY 1").fetchall()
    assert [s for (s,) in seasons] == list(range(1920, 1926))


# Dagster's own backfill planner calls a deprecated selection helper.
@pytest.mark.filterwarnings("ignore:Function `AssetSelection.sources` is deprecated:DeprecationWarning")
def test_ui_backfill_of_every_season_is_one_run(dagster_instance, warehouse_url, monkeypatch):
    """What the UI's "Materialize all partitions" does: add a partition backfill, which the
    backfill daemon turns into runs. Iterations of the real daemon code plan and submit it (the
    run stays queued: no run queue daemon is running)."""
    # Nothing but the warehouse is configured: every other setting keeps its registry default.
    monkeypatch.setenv("PRECOG_DATABASE_URL", warehouse_url)
    target = ModuleTarget(
        module_name="precog_pipelines.definitions", attribute=None,
        working_directory=str(repository_root()), location_name="precog_pipelines",
    )
    with WorkspaceProcessContext(dagster_instance, target) as workspace:
        asset_graph = workspace.create_request_context().asset_graph
        seasons = asset_graph.get(ELO_RATINGS).partitions_def.get_partition_keys()
        backfill_id = make_new_backfill_id()
        dagster_instance.add_backfill(
            PartitionBackfill.from_asset_partitions(
                backfill_id=backfill_id, asset_graph=asset_graph, partition_names=seasons,
                asset_selection=[ELO_RATINGS], backfill_timestamp=time.time(), tags={},
                dynamic_partitions_store=dagster_instance, all_partitions=False,
                title=None, description=None, run_config=None,
            )
        )
        list(execute_backfill_iteration(workspace, logging.getLogger("backfill-test")))
        list(execute_backfill_iteration(workspace, logging.getLogger("backfill-test")))

    runs = dagster_instance.get_runs(RunsFilter(tags={"dagster/backfill": backfill_id}))
    try:
        assert seasons[0] == "1920" and seasons[-1] == "2026"  # 1920 to the season in progress
        assert len(runs) == 1
        assert runs[0].tags["dagster/asset_partition_range_start"] == "1920"
        assert runs[0].tags["dagster/asset_partition_range_end"] == "2026"
    finally:
        for run in runs:
            dagster_instance.delete_run(run.run_id)
