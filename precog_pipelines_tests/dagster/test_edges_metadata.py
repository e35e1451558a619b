"""The latest materialization of ``edges`` describes the table after the run in one shape, before
and after kickoff: current and positive edges, the best edge as a number, a table of the best."""

from __future__ import annotations

import dagster as dg
from dagster._core.definitions.data_version import CachingStaleStatusResolver, StaleStatus
from dagster._core.loader import LoadingContextForTest

from precog_pipelines.defs.edges.assets import edges
from precog_pipelines.defs.espn.assets import game_states
from precog_pipelines.defs.kalshi.assets import kalshi_events, kalshi_markets, kalshi_series
from precog_pipelines.lib.warehouse.server import connect
from precog_pipelines_tests.conftest import sandbox_resources

INGESTION = [kalshi_series, kalshi_events, kalshi_markets, game_states]


def _edges_metadata(resources, instance) -> dict:
    result = dg.materialize([*INGESTION, edges], resources=resources, instance=instance)
    assert result.success
    (event,) = result.asset_materializations_for_node("edges")
    return dict(event.metadata)


def _table_now(url: str) -> tuple:
    with connect(url) as conn:
        return conn.execute("SELECT count(*), count(*) FILTER (WHERE edge > 0), max(edge) FROM edges_current").fetchone()


def test_edges_metadata_describes_the_current_edges_before_and_after_kickoff(
        rated_warehouse_url, sandbox, kalshi_key, dagster_instance):
    resources = sandbox_resources(rated_warehouse_url, sandbox, kalshi_key)

    before = _edges_metadata(resources, dagster_instance)
    count, positive, best = _table_now(rated_warehouse_url)
    assert count > 0 and positive > 0
    assert (before["edges"].value, before["positive_edges"].value, before["dagster/row_count"].value) == (
        count, positive, count)
    assert before["best_edge"].value == float(best)
    rows = [r.data for r in before["best_edges"].records]
    assert 0 < len(rows) <= 10 and rows[0]["edge"] == str(best)
    assert [c.name for c in before["best_edges"].schema.columns][:3] == ["ticker", "side", "model_version"]

    # A refresh of unchanged markets and games keeps their data versions: edges stay in sync.
    refresh = dg.materialize(INGESTION, resources=resources, instance=dagster_instance)
    assert refresh.success
    graph = dg.Definitions(assets=[*INGESTION, edges], resources=resources).resolve_asset_graph()
    staleness = CachingStaleStatusResolver(dagster_instance, graph, LoadingContextForTest(dagster_instance))
    assert staleness.get_status(edges.key) == StaleStatus.FRESH, staleness.get_stale_causes(edges.key)

    sandbox.advance(3 * 24 * 3600)  # every game of the week has kicked off and ended
    after = _edges_metadata(resources, dagster_instance)

    assert set(after) == set(before)  # one shape, whatever the run changed
    assert after["edges"].value == _table_now(rated_warehouse_url)[0] < count
    assert after["run_closed"].value + after["run_retired"].value > 0  # what this run did, under its own names
    assert [c.name for c in after["best_edges"].schema.columns] == [c.name for c in before["best_edges"].schema.columns]
