"""Which model versions the pipeline uses is data, not code: elo_ratings rates every version
probability_models marks active, edges are computed for each of them (and retired when a
version is deactivated), positions buy only the active versions' edges."""

from __future__ import annotations

from datetime import datetime, timezone

import dagster as dg
import pytest

from precog_pipelines.defs.edges.assets import edges
from precog_pipelines.defs.espn.assets import game_states
from precog_pipelines.defs.kalshi.assets import kalshi_events, kalshi_markets, kalshi_series
from precog_pipelines.defs.trading.assets import positions
from precog_pipelines.lib.elo.rating_run import rate_seasons
from precog_pipelines.lib.elo.sources import GameSource
from precog_pipelines.lib.warehouse.server import connect
from precog_pipelines.sandbox import SandboxConfig, SandboxServer
from precog_pipelines_tests.conftest import sandbox_resources
from precog_pipelines_tests.support.elo import materialization_metadata, materialize_seasons

pytestmark = pytest.mark.slow


@pytest.fixture
def sandbox(kalshi_key):
    """Games starting now: edges are computed only for games that have not started."""
    start = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    with SandboxServer(SandboxConfig(start=start, speed=0, api_keys={kalshi_key.key_id: kalshi_key.public_key})) as server:
        yield server


def _activate(url: str, version: str, active: bool) -> int:
    with connect(url, autocommit=True) as conn:
        return conn.execute("UPDATE probability_models SET is_active = %s WHERE model_name = 'elo_nfl' "
                            "AND model_version = %s RETURNING id", (active, version)).fetchone()[0]


def _current_edges(url: str) -> dict[int, set[tuple[str, str]]]:
    with connect(url) as conn:
        found: dict[int, set[tuple[str, str]]] = {}
        for model_id, ticker, side in conn.execute("SELECT model_id, ticker, side FROM edges_current"):
            found.setdefault(model_id, set()).add((ticker, side))
    return found


def test_edges_and_positions_follow_the_active_versions(rated_warehouse_url, dagster_instance, sandbox, kalshi_key):
    url = rated_warehouse_url
    resources = sandbox_resources(url, sandbox, kalshi_key)
    v1, v2 = _activate(url, "1.0", True), _activate(url, "2.0", True)

    # v2.0's history up to 2024 (as model_evaluation would rate a candidate), then the season
    # in progress through the Elo asset, which now rates both active versions.
    with connect(url) as conn:
        rate_seasons(conn, GameSource(), "elo_nfl", "2.0", 1920, 2024, update_current_ratings=False)
        conn.commit()
    rated = materialize_seasons(url, dagster_instance, 2025)
    assert rated.success and all(e.passed for e in rated.get_asset_check_evaluations())
    metadata = materialization_metadata(rated)
    assert metadata["model"] == "elo_nfl v1.0, elo_nfl v2.0"
    assert metadata["elo_nfl v1.0 brier_score"] != metadata["brier_score"]  # the newest version's are the plain keys
    with connect(url) as conn:
        per_model = dict(conn.execute("SELECT model_id, count(*) FROM elo_rating_history WHERE season = 2025 "
                                      "GROUP BY model_id").fetchall())
        current, latest_v2 = conn.execute(
            "SELECT t.current_elo_rating, (SELECT r.rating_after FROM elo_rating_history r WHERE r.team_id = t.id "
            "AND r.model_id = %s ORDER BY r.game_date DESC LIMIT 1) FROM teams t WHERE t.team_code = 'KC'",
            (v2,)).fetchone()
    assert per_model == {v1: 128, v2: 128}  # weeks 1-4 of 2025, two rows a game, for each version
    assert current == latest_v2  # teams.current_elo_rating follows the newest active version

    assert dg.materialize([kalshi_series, kalshi_events, kalshi_markets, game_states, edges], resources=resources,
                          instance=dagster_instance).success
    both = _current_edges(url)
    assert set(both) == {v1, v2} and both[v1] == both[v2] and both[v1]

    # Deactivate v1.0: its edges are retired at the next run, v2.0's stay as they were.
    _activate(url, "1.0", False)
    run = dg.materialize([edges], resources=resources, instance=dagster_instance)
    assert run.success
    assert _current_edges(url) == {v2: both[v2]}
    assert run.asset_materializations_for_node("edges")[0].metadata["run_retired"].value == len(both[v1])

    assert dg.materialize([positions], resources=resources, instance=dagster_instance).success
    with connect(url) as conn:
        models = {row[0] for row in conn.execute(
            "SELECT e.model_id FROM positions p JOIN edges e ON e.id = p.edge_id")}
    assert models == {v2}

    # With no active version there is nothing to compute edges for: the run says so.
    _activate(url, "2.0", False)
    failed = dg.materialize([edges], resources=resources, instance=dagster_instance, raise_on_error=False)
    assert not failed.success
    assert "probability_models has no active elo model for nfl" in str(failed.get_step_failure_events()[0].event_specific_data.error)
