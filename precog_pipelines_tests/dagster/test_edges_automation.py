"""Edges and positions follow their inputs, but never past a failed blocking check."""

from __future__ import annotations

import dagster as dg
import pytest

from precog_pipelines.core.automation import RATINGS_RUN_DID_NOT_FAIL, UPSTREAM_CHECKS_PASSED
from precog_pipelines.definitions import defs as lazy_defs
from precog_pipelines_tests.support.elo import materialize_seasons

UPSTREAM = ("kalshi_markets", "game_states")


@pytest.fixture(scope="module")
def definitions() -> dg.Definitions:
    return lazy_defs()


def _refresh_ingestion(instance: dg.DagsterInstance, contract_passed: bool = True) -> None:
    """New materializations of the ingestion assets with every check of theirs evaluated, as a
    run of the asset records them; only the markets' contract check may fail."""
    for asset in UPSTREAM:
        _report_materialization(instance, asset, failing_check=None if contract_passed or asset != "kalshi_markets"
                                else "batch_matches_contract")


def _report_materialization(instance: dg.DagsterInstance, asset: str, failing_check: str | None = None) -> None:
    instance.report_runless_asset_event(dg.AssetMaterialization(asset))
    for key in lazy_defs().get_repository_def().asset_graph.asset_check_keys:
        if key.asset_key == dg.AssetKey(asset):
            instance.report_runless_asset_event(dg.AssetCheckEvaluation(
                asset_key=key.asset_key, check_name=key.name, passed=key.name != failing_check))


def _materialize_upstream(instance: dg.DagsterInstance, contract_passed: bool = True) -> None:
    _refresh_ingestion(instance, contract_passed)
    season = lazy_defs().get_assets_def("elo_ratings").partitions_def.get_last_partition_key()
    instance.report_runless_asset_event(dg.AssetMaterialization("elo_ratings", partition=season))


def _requested(definitions, instance, cursor=None) -> tuple[set[str], object]:
    requested, cursor, _ = _evaluate(definitions, instance, cursor)
    return requested, cursor


def _evaluate(definitions, instance, cursor=None) -> tuple[set[str], object, dict]:
    result = dg.evaluate_automation_conditions(
        defs=definitions, instance=instance, cursor=cursor,
        asset_selection=dg.AssetSelection.assets("edges", "positions"))
    return ({r.key.to_user_string() for r in result.results if r.true_subset.size}, result.cursor,
            {r.key.to_user_string(): r for r in result.results})


def test_edges_wait_for_inputs_and_for_their_blocking_checks(definitions, private_dagster_instance):
    instance = private_dagster_instance
    requested, cursor = _requested(definitions, instance)
    assert requested == set()  # nothing upstream yet

    _materialize_upstream(instance, contract_passed=False)
    requested, cursor = _requested(definitions, instance, cursor)
    assert "edges" not in requested  # markets changed, but their contract check failed

    _materialize_upstream(instance)
    requested, cursor = _requested(definitions, instance, cursor)
    assert requested == {"edges"}

    # Once edges are stored and their own blocking checks passed, positions follow.
    _report_materialization(instance, "edges")
    requested, cursor = _requested(definitions, instance, cursor)
    assert requested == {"positions"}


def test_edges_wait_while_the_latest_ratings_run_failed(definitions, private_dagster_instance, warehouse_url):
    instance = private_dagster_instance
    _materialize_upstream(instance)
    _, cursor = _requested(definitions, instance)
    # Rating the current season on an empty warehouse fails: its predecessors were never rated.
    season = int(definitions.get_assets_def("elo_ratings").partitions_def.get_last_partition_key())
    assert not materialize_seasons(warehouse_url, instance, season).success

    _refresh_ingestion(instance)
    requested, _, results = _evaluate(definitions, instance, cursor)
    assert "edges" not in requested
    # The evaluation says why, under the label the Automation tab shows.
    [why] = _labelled(results["edges"], RATINGS_RUN_DID_NOT_FAIL)
    assert why.true_subset.size == 0
    [checks] = _labelled(results["edges"], UPSTREAM_CHECKS_PASSED)
    assert checks.true_subset.size == 1


def _labelled(result, label: str) -> list:
    """The parts of an automation condition's evaluation that carry ``label``."""
    found = [result] if result.condition.get_label() == label else []
    return found + [part for child in result.child_results for part in _labelled(child, label)]
