"""Change detection before staging, through Dagster: a second materialization of an unchanged
Kalshi snapshot sends no market to the server (issue 16)."""

from __future__ import annotations

import dagster as dg
import pytest

from precog_pipelines.defs.kalshi.assets import kalshi_events, kalshi_markets, kalshi_series
from precog_pipelines_tests.conftest import sandbox_resources


@pytest.fixture
def resources(warehouse_url, sandbox, kalshi_key):
    return sandbox_resources(warehouse_url, sandbox, kalshi_key)


def _markets_metadata(result: dg.ExecuteInProcessResult) -> dict:
    [materialization] = result.asset_materializations_for_node("kalshi_markets")
    return {key: value.value for key, value in materialization.metadata.items()}


def test_an_unchanged_market_snapshot_is_not_sent_to_the_server(resources, dagster_instance, db):
    first = dg.materialize([kalshi_series, kalshi_events, kalshi_markets], resources=resources,
                           instance=dagster_instance)
    again = dg.materialize([kalshi_markets], resources=resources, instance=dagster_instance)

    loaded, unchanged = _markets_metadata(first), _markets_metadata(again)
    current = db.execute("SELECT count(*) FROM markets WHERE row_current_ind").fetchone()[0]
    hashed = db.execute("SELECT count(*) FROM markets_tracked_hashes h JOIN markets m ON m.id = h.version_id "
                        "WHERE m.row_current_ind").fetchone()[0]
    assert loaded["sent"] == loaded["inserted"] == current > 0
    assert (unchanged["sent"], unchanged["inserted"], unchanged["unchanged"]) == (0, 0, current)
    assert hashed == current
