"""A model version created and activated with ``precog model`` is used by the pipeline at its
next run: the edges asset computes edges for it, positions record (through their edge) the
version they came from, and the positions metadata and ``precog model show`` say so."""

from __future__ import annotations

from datetime import datetime, timezone

import dagster as dg
import pytest
from click.testing import CliRunner

from precog_pipelines.cli import precog
from precog_pipelines.defs.edges.assets import edges
from precog_pipelines.defs.espn.assets import game_states
from precog_pipelines.defs.kalshi.assets import kalshi_events, kalshi_markets, kalshi_series
from precog_pipelines.defs.trading.assets import positions
from precog_pipelines.lib.elo.rating_run import rate_seasons
from precog_pipelines.lib.elo.sources import GameSource
from precog_pipelines.lib.warehouse.server import connect
from precog_pipelines.sandbox import SandboxConfig, SandboxServer
from precog_pipelines_tests.conftest import sandbox_resources
from precog_pipelines_tests.support.elo import materialize_seasons

pytestmark = pytest.mark.slow

MODEL = """\
name: elo_nfl
version: "3.0"
type: elo
league: nfl
description: FiveThirtyEight's NFL Elo with K 25
config:
  k_factor: 25
  home_field_advantage: 65
  rating_scale: 400
  reversion_mean: 1505
  reversion_keep_fraction: 0.6666666666666666
  new_team_rating: 1300
  margin_multiplier: {scale: 2.2, rating_diff_coefficient: 0.001, offset: 2.2, tie_divisor: 1.0}
"""


@pytest.fixture
def sandbox(kalshi_key):
    """Games starting now: edges are computed only for games that have not started."""
    start = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    with SandboxServer(SandboxConfig(start=start, speed=0, api_keys={kalshi_key.key_id: kalshi_key.public_key})) as server:
        yield server


def _precog(url: str, *args: str) -> str:
    result = CliRunner().invoke(precog, [*args, "--database-url", url])
    assert result.exit_code == 0, result.output
    return result.output


def _current_edges(url: str) -> dict[str, set[tuple[str, str]]]:
    with connect(url) as conn:
        found: dict[str, set[tuple[str, str]]] = {}
        for version, ticker, side in conn.execute(
                "SELECT m.model_version, e.ticker, e.side FROM edges_current e "
                "JOIN probability_models m ON m.id = e.model_id"):
            found.setdefault(version, set()).add((ticker, side))
    return found


def test_an_activated_model_version_gets_edges_and_positions_name_it(rated_warehouse_url, dagster_instance, sandbox,
                                                                      kalshi_key, tmp_path):
    url = rated_warehouse_url
    resources = sandbox_resources(url, sandbox, kalshi_key)
    model_file = tmp_path / "elo_nfl_3.0.yaml"
    model_file.write_text(MODEL)
    _precog(url, "model", "create", "--file", str(model_file), "--actor", "ana")
    # Its history up to 2024, as a candidate is rated before anyone activates it.
    with connect(url) as conn:
        rate_seasons(conn, GameSource(), "elo_nfl", "3.0", 1920, 2024, update_current_ratings=False)
        conn.commit()

    # Created but inactive: the pipeline does not use it.
    assert dg.materialize([kalshi_series, kalshi_events, kalshi_markets, game_states, edges], resources=resources,
                          instance=dagster_instance).success
    before = _current_edges(url)
    assert set(before) == {"1.0"} and before["1.0"]

    activated = _precog(url, "model", "activate", "elo_nfl", "3.0", "--reason", "K 25 for the 2025 season",
                        "--actor", "ana")
    assert "in use now: elo_nfl v1.0, elo_nfl v3.0" in activated
    rated = materialize_seasons(url, dagster_instance, 2025)  # the season in progress, for both versions
    assert rated.success
    run = dg.materialize([edges], resources=resources, instance=dagster_instance)
    assert run.success
    assert run.asset_materializations_for_node("edges")[0].metadata["model"].value == "elo_nfl v1.0, elo_nfl v3.0"
    after = _current_edges(url)
    assert set(after) == {"1.0", "3.0"} and after["3.0"] == after["1.0"]

    # Only v3.0 in use: v1.0's edges are retired and every new position comes from a v3.0 edge.
    _precog(url, "model", "deactivate", "elo_nfl", "1.0", "--reason", "superseded by 3.0", "--actor", "ana")
    assert dg.materialize([edges], resources=resources, instance=dagster_instance).success
    assert set(_current_edges(url)) == {"3.0"}
    opened = dg.materialize([positions], resources=resources, instance=dagster_instance)
    assert opened.success
    metadata = opened.asset_materializations_for_node("positions")[0].metadata
    with connect(url) as conn:
        by_model = conn.execute(
            "SELECT m.model_version, count(*) FROM positions_current p JOIN edges e ON e.id = p.edge_id "
            "JOIN probability_models m ON m.id = e.model_id GROUP BY 1").fetchall()
    assert [v for v, _ in by_model] == ["3.0"] and by_model[0][1] == metadata["opened"].value > 0
    assert f"| elo_nfl v3.0 | {by_model[0][1]} | 0 |" in metadata["positions_by_model"].value

    shown = _precog(url, "model", "show", "elo_nfl", "3.0")
    assert f"positions opened from its edges: {by_model[0][1]} open, 0 closed" in shown
    assert f"current edges: {len(after['3.0'])}" in shown
    assert "activated    by ana: K 25 for the 2025 season" in shown
    strategy = _precog(url, "strategy", "show", "default_paper", "1.1")
    assert f"positions from model elo_nfl v3.0: {by_model[0][1]} open, 0 closed" in strategy
