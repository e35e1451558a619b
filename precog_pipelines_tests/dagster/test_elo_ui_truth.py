"""What the UI reads about ``elo_ratings`` after a single-run backfill of a season range (the
partition dialog's backfill): every season's check status, the overview's row count, the shape
of each season's metadata and the sync badge, read from the Dagster instance the way the
webserver's GraphQL resolvers read them."""

from __future__ import annotations

from collections.abc import Iterator

import dagster as dg
import pytest
from dagster._core.definitions.data_version import CachingStaleStatusResolver, StaleStatus
from dagster._core.loader import LoadingContextForTest
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

from precog_pipelines.lib.warehouse.server import connect
from precog_pipelines_tests.conftest import postgres_dagster_instance, scratch_database
from precog_pipelines_tests.support.elo import (
    ELO_CHECKS,
    ELO_DEFINITIONS,
    elo_resources,
    materialize_seasons,
    range_tags,
)

SEASONS = ["1920", "1921", "1922"]
ELO = dg.AssetKey("elo_ratings")


@pytest.fixture(scope="module")
def backfilled(postgres_server_url, migrated_template, tmp_path_factory) -> Iterator[tuple]:
    """1920..1922 rated by one run, on an instance of its own (the latest events are this run's)."""
    with scratch_database(postgres_server_url, "precog_test_elo_ui", template=migrated_template) as database, \
            postgres_dagster_instance(postgres_server_url, tmp_path_factory.mktemp("dagster_ui"),
                                      "precog_test_dagster_ui") as instance:
        result = materialize_seasons(database.url, instance, 1920, 1922)
        assert result.success
        yield database, instance, result


def test_every_season_of_a_range_run_shows_each_check_passed(backfilled):
    # The UI's checks list reads each partition's latest check execution; a partition whose
    # execution was only planned by a finished run shows "Skipped".
    _, instance, _ = backfilled
    infos = instance.event_log_storage.get_asset_check_partition_info([c.check_key for c in ELO_CHECKS])
    status = {(i.check_key.name, i.partition_key): i.latest_execution_status for i in infos}

    assert status == {(c.check_key.name, season): AssetCheckExecutionRecordStatus.SUCCEEDED
                      for c in ELO_CHECKS for season in SEASONS}
    # Each season's result is about that season's materialization (not "outdated" in the UI).
    assert all(i.latest_target_materialization_storage_id == i.latest_materialization_storage_id for i in infos)


def test_a_failing_season_fails_alone_in_a_range_run(backfilled, postgres_server_url):
    database, _, _ = backfilled
    with scratch_database(postgres_server_url, "precog_test_elo_ui_bad", template=database.name) as copy:
        with connect(copy.url, autocommit=True) as conn:
            conn.execute("UPDATE elo_rating_history SET rating_before = 2150, rating_after = 2150 "
                         "WHERE game_id = (SELECT min(game_id) FROM elo_rating_history WHERE season = 1921)")
        result = dg.materialize(ELO_DEFINITIONS, resources=elo_resources(copy.url),
                                instance=dg.DagsterInstance.ephemeral(), selection=dg.AssetSelection.checks(*ELO_CHECKS),
                                tags=range_tags(1920, 1922), raise_on_error=False)

    bounds = {e.partition: e.passed for e in result.get_asset_check_evaluations()
              if e.check_name == "ratings_within_bounds"}
    assert bounds == {"1920": True, "1921": False, "1922": True}
    assert not result.success  # a blocking check failed


def test_the_overview_row_count_is_the_tables_and_seasons_have_one_shape(backfilled):
    _, instance, result = backfilled
    latest = instance.get_latest_materialization_event(ELO).asset_materialization
    shapes = {tuple(sorted(e.metadata)) for e in result.asset_materializations_for_node("elo_ratings")}

    assert latest.partition == "1922"
    assert latest.metadata["dagster/row_count"].value == 2 * 230  # 1920..1922: 230 games, two rows each
    assert latest.metadata["season_rows"].value == 2 * 74
    assert len(shapes) == 1 and not any(key.startswith("run_") for key in next(iter(shapes)))
    (observation,) = result.asset_observations_for_node("elo_ratings")
    assert observation.metadata["run_seasons"].value == "1920..1922"


def test_seasons_just_materialized_are_in_sync(backfilled):
    database, instance, _ = backfilled
    graph = dg.Definitions(assets=ELO_DEFINITIONS, resources=elo_resources(database.url)).resolve_asset_graph()
    resolver = CachingStaleStatusResolver(instance, graph, LoadingContextForTest(instance))

    assert {season: resolver.get_status(ELO, season) for season in SEASONS} == dict.fromkeys(SEASONS, StaleStatus.FRESH)

