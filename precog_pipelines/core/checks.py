"""Asset checks built from the plain SQL rules of lib/quality: one check per property.

No ``from __future__ import annotations`` here: Dagster reads the checks' parameter types.
"""

from collections.abc import Callable

import dagster as dg
import psycopg

from precog_pipelines.core.check_results import markdown_table
from precog_pipelines.core.partitions import season_range
from precog_pipelines.lib.quality import rules, scd2_invariants
from precog_pipelines.lib.quality.violations import Violations
from precog_pipelines.resources.warehouse import WarehouseResource

Rule = Callable[[psycopg.Connection], Violations]
SeasonRule = Callable[[psycopg.Connection, int, int], Violations]


def violations_result(found: Violations, severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR,
                      **extra_metadata: object) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=found.passed, severity=severity, metadata={
        "violations": found.count, "examples": markdown_table(found.samples), **extra_metadata})


def sql_check(asset: str, name: str, rule: Rule, description: str, blocking: bool) -> dg.AssetChecksDefinition:
    """A check that passes when ``rule`` finds no violating rows in the warehouse."""

    @dg.asset_check(asset=asset, name=name, blocking=blocking, description=description)
    def _check(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        with warehouse.connection() as conn:
            return violations_result(rule(conn))

    return _check


def season_sql_check(asset: dg.AssetsDefinition, name: str, rule: SeasonRule, description: str, *,
                     blocking: bool, severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR,
                     ) -> dg.AssetChecksDefinition:
    """A check of a season-partitioned asset that passes when ``rule`` finds no violating rows
    in the seasons of the run (a single-run backfill checks its whole range at once)."""

    @dg.asset_check(asset=asset, name=name, blocking=blocking, description=description,
                    partitions_def=asset.partitions_def)
    def _check(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
        first, last = season_range(context.partition_key_range)
        with warehouse.connection() as conn:
            return violations_result(rule(conn, first, last), severity, seasons=f"{first}..{last}")

    return _check


def scd2_checks(asset: str, table: str, business_key: tuple[str, ...], *, blocking: bool,
                retirable: bool = False) -> tuple[dg.AssetChecksDefinition, ...]:
    """The four SCD Type 2 invariants of ``table``. ``retirable`` keys may end without a successor
    (an edge that no longer exists) and come back later, so they may lack a current version and
    have gaps between versions."""
    keys = ", ".join(business_key)
    checks = [
        sql_check(asset, "one_current_version_per_key",
                  lambda conn: scd2_invariants.current_row_count_violations(conn, table, business_key, retirable),
                  f"Every {keys} has {'at most' if retirable else 'exactly'} one current version in {table}.",
                  blocking),
        sql_check(asset, "validity_timestamps_consistent", lambda conn: scd2_invariants.validity_violations(conn, table),
                  f"Current {table} versions have no end; closed ones end after they start.", blocking),
        sql_check(asset, "versions_do_not_overlap",
                  lambda conn: scd2_invariants.overlap_violations(conn, table, business_key),
                  f"No two versions of one {keys} in {table} are valid at the same time.", blocking),
    ]
    if not retirable:
        checks.append(sql_check(
            asset, "versions_have_no_gaps", lambda conn: scd2_invariants.gap_violations(conn, table, business_key),
            f"Each {table} version of one {keys} starts where the previous one ended.", blocking))
    return tuple(checks)


def _previous_row_count(instance: dg.DagsterInstance, key: dg.AssetCheckKey) -> int | None:
    """The row count this check recorded when it last completed."""
    for record in instance.event_log_storage.get_asset_check_execution_history(key, limit=10):
        evaluation = record.event.dagster_event.event_specific_data if record.event and record.event.dagster_event \
            else None
        metadata = getattr(evaluation, "metadata", None) or {}
        if "row_count" in metadata:
            return metadata["row_count"].value
    return None


def never_shrinks_check(asset: str, table: str) -> dg.AssetChecksDefinition:
    """An append-only table's row count never decreases from one evaluation to the next; the
    check keeps the count in its metadata and compares with the last one it recorded."""
    name = f"{table}_row_count_never_decreases"

    @dg.asset_check(asset=asset, name=name,
                    description=f"{table} is append-only: its row count never decreases between runs.")
    def _check(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
        with warehouse.connection() as conn:
            count = rules.table_row_count(conn, table)
        previous = _previous_row_count(context.instance, dg.AssetCheckKey(dg.AssetKey(asset), name))
        return dg.AssetCheckResult(passed=previous is None or count >= previous, metadata={
            "row_count": count, "previous_row_count": -1 if previous is None else previous})

    return _check
