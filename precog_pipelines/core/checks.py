"""Asset checks built from the plain SQL rules of lib/quality: one check per property.

No ``from __future__ import annotations`` here: Dagster reads the checks' parameter types.
"""

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import dagster as dg
import psycopg
from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluationTargetMaterializationData,  # not exported; AssetCheckEvaluation takes one
)

from precog_pipelines.core.metadata import markdown_table
from precog_pipelines.core.partitions import season_range
from precog_pipelines.lib.ingest.rejects import Reject
from precog_pipelines.lib.quality import rules, scd2_invariants
from precog_pipelines.lib.quality.gx_suites import BatchReport, FailedExpectation
from precog_pipelines.lib.quality.violations import Violations
from precog_pipelines.lib.warehouse.scd2_merge import Scd2Table
from precog_pipelines.lib.warehouse.tables import AppendOnlyTable
from precog_pipelines.resources.warehouse import WarehouseResource

CONTRACT_CHECK = "batch_matches_contract"
REJECTS_CHECK = "no_rejected_rows"

Rule = Callable[[psycopg.Connection], Violations]
SeasonRule = Callable[[psycopg.Connection, int, int], Violations]


def violations_result(found: Violations, severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR, *,
                      examples_key: str = "examples", **extra_metadata: object) -> dg.AssetCheckResult:
    """Passed when the rule found nothing; the metadata counts the violations and shows a few
    (under ``examples_key``, when there are any for Elo's checks, which name them
    ``first_violations``)."""
    metadata: dict[str, object] = {"violations": found.count, **extra_metadata}
    if found.samples or examples_key == "examples":
        metadata[examples_key] = markdown_table(found.samples)
    return dg.AssetCheckResult(passed=found.passed, severity=severity, metadata=metadata)


def reported_rule_evaluation(conn: psycopg.Connection, asset: str, rule: Rule) -> dg.AssetCheckEvaluation:
    """The result of ``rule`` (a check of :func:`rule_checks`) as an evaluation a sensor reports
    beside the materialization it reports, for an asset no run materializes."""
    result = violations_result(rule(conn))
    return dg.AssetCheckEvaluation(asset_key=dg.AssetKey(asset), check_name=rule.__name__, passed=result.passed,
                                   severity=result.severity, metadata=result.metadata)


def sql_check(asset: str, name: str, rule: Rule, description: str, blocking: bool) -> dg.AssetChecksDefinition:
    """A check that passes when ``rule`` finds no violating rows in the warehouse."""

    @dg.asset_check(asset=asset, name=name, blocking=blocking, description=description)
    def _check(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        with warehouse.connection() as conn:
            return violations_result(rule(conn))

    return _check


def _described(rule: Callable) -> str:
    return " ".join((rule.__doc__ or rule.__name__).split())


def rule_checks(asset: str, rules: Sequence[Rule], *, blocking: bool) -> list[dg.AssetChecksDefinition]:
    """One check per rule of ``lib/quality/rules.py``: named after the rule, described by its docstring."""
    return [sql_check(asset, rule.__name__, rule, _described(rule), blocking) for rule in rules]


SeasonCheck = Callable[[int, int], dg.AssetCheckResult]


def _target_materializations(instance: dg.DagsterInstance, asset_key: dg.AssetKey, partitions: Sequence[str],
                             ) -> dict[str, AssetCheckEvaluationTargetMaterializationData]:
    """Each partition's latest materialization (the one its check result is about), newest first
    in pages: one query for a run's whole range instead of one per season."""
    found: dict[str, AssetCheckEvaluationTargetMaterializationData] = {}
    cursor = None
    while missing := [p for p in partitions if p not in found]:
        page = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=asset_key, asset_partitions=missing), limit=len(missing), cursor=cursor)
        for record in page.records:
            found.setdefault(record.partition_key, AssetCheckEvaluationTargetMaterializationData(
                storage_id=record.storage_id, run_id=record.run_id, timestamp=record.timestamp))
        if not page.has_more:
            break
        cursor = page.cursor
    return found


def season_results(context: dg.AssetCheckExecutionContext, evaluate: SeasonCheck, *,
                   each_season: bool = False) -> Iterator[dg.AssetCheckResult | dg.AssetCheckEvaluation | dg.Output]:
    """The result of a season-partitioned check, one per season of its run.

    Dagster 1.13 plans a partitioned check once per partition of a single-run backfill but
    records the check's result once, without a partition: every season's own status stays
    "planned", which the UI resolves to "Skipped" when the run ends, while the unpartitioned
    result says "Passed". So a run of a range evaluates the range once and records the result
    for each season; when the range fails, each season is evaluated alone so that only the
    failing seasons fail (``each_season``: always, for a cheap check whose metadata is per season)."""
    op_context = context.op_execution_context
    if op_context.has_partition_key:
        season = int(op_context.partition_key)
        yield evaluate(season, season)  # Dagster records it for the run's partition
        return
    first, last = season_range(context.partition_key_range)
    whole = None if each_season else evaluate(first, last)
    spec = next(iter(context.check_specs))
    targets = _target_materializations(context.instance, spec.asset_key,
                                       [str(season) for season in range(first, last + 1)])
    for season in range(first, last + 1):
        result = whole if whole is not None and whole.passed else evaluate(season, season)
        yield dg.AssetCheckEvaluation(
            asset_key=spec.asset_key, check_name=spec.name, passed=result.passed,
            metadata={**result.metadata, "seasons": dg.MetadataValue.text(str(season)),
                      "run_seasons": dg.MetadataValue.text(f"{first}..{last}")},
            severity=result.severity, description=result.description, blocking=spec.blocking,
            partition=str(season),
            target_materialization_data=targets.get(str(season)))
    # The check's output, so that steps after it run; its result is recorded above.
    yield dg.Output(None, output_name=op_context.op_def.output_defs[0].name)


def season_rule_checks(asset: dg.AssetsDefinition, rules: Sequence[SeasonRule], *, blocking: bool,
                       severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR,
                       ) -> list[dg.AssetChecksDefinition]:
    """:func:`rule_checks` for a season-partitioned asset: each rule covers the seasons of the run
    (a single-run backfill checks its whole range at once)."""
    return [_season_check(asset, rule, blocking, severity) for rule in rules]


def _season_check(asset: dg.AssetsDefinition, rule: SeasonRule, blocking: bool,
                  severity: dg.AssetCheckSeverity) -> dg.AssetChecksDefinition:
    @dg.asset_check(asset=asset, name=rule.__name__, blocking=blocking, description=_described(rule),
                    partitions_def=asset.partitions_def)
    def _check(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> Iterator[Any]:
        with warehouse.connection() as conn:
            yield from season_results(context, lambda first, last: violations_result(
                rule(conn, first, last), severity, seasons=f"{first}..{last}"))

    return _check


def scd2_checks(asset: str, table: Scd2Table, *, blocking: bool) -> list[dg.AssetChecksDefinition]:
    """The SCD Type 2 invariants of a registry table (``lib/warehouse/tables.py``): one current
    version per key, consistent validity timestamps, no overlap, and (unless keys may be
    retired) no gaps."""
    keys, name = ", ".join(table.business_key), table.name
    checks = [
        sql_check(asset, "one_current_version_per_key",
                  lambda conn: scd2_invariants.current_row_count_violations(conn, table),
                  f"Every {keys} has {'at most' if table.retirable else 'exactly'} one current version in {name}.",
                  blocking),
        sql_check(asset, "validity_timestamps_consistent", lambda conn: scd2_invariants.validity_violations(conn, table),
                  f"Current {name} versions have no end; closed ones end after they start.", blocking),
        sql_check(asset, "versions_do_not_overlap", lambda conn: scd2_invariants.overlap_violations(conn, table),
                  f"No two versions of one {keys} in {name} are valid at the same time.", blocking),
    ]
    if not table.retirable:
        checks.append(sql_check(
            asset, "versions_have_no_gaps", lambda conn: scd2_invariants.gap_violations(conn, table),
            f"Each {name} version of one {keys} starts where the previous one ended.", blocking))
    return checks


def _previous_row_count(instance: dg.DagsterInstance, key: dg.AssetCheckKey) -> int | None:
    """The row count this check recorded when it last completed."""
    for record in instance.event_log_storage.get_asset_check_execution_history(key, limit=10):
        evaluation = record.event.dagster_event.event_specific_data if record.event and record.event.dagster_event \
            else None
        metadata = getattr(evaluation, "metadata", None) or {}
        if "row_count" in metadata:
            return metadata["row_count"].value
    return None


def never_shrinks_check(asset: str, table: AppendOnlyTable) -> dg.AssetChecksDefinition:
    """An append-only table's row count never decreases from one evaluation to the next; the
    check keeps the count in its metadata and compares with the last one it recorded."""
    name = f"{table.name}_row_count_never_decreases"

    @dg.asset_check(asset=asset, name=name,
                    description=f"{table.name} is append-only: its row count never decreases between runs.")
    def _check(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
        with warehouse.connection() as conn:
            count = rules.table_row_count(conn, table.name)
        previous = _previous_row_count(context.instance, dg.AssetCheckKey(dg.AssetKey(asset), name))
        return dg.AssetCheckResult(passed=previous is None or count >= previous, metadata={
            "row_count": count, "previous_row_count": -1 if previous is None else previous})

    return _check


def never_shrinks_checks(asset: str, tables: Sequence[AppendOnlyTable]) -> list[dg.AssetChecksDefinition]:
    """:func:`never_shrinks_check` for each append-only table an asset writes."""
    return [never_shrinks_check(asset, table) for table in tables]


def ingestion_check_specs(asset: str) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(
            CONTRACT_CHECK, asset=asset, blocking=True,
            description="Great Expectations suite on the rows of the API batch that were loaded: required "
                        "fields, enumerations, ticker and price formats, unique keys. Anything that slipped "
                        "past parsing fails it and blocks downstream assets.",
        ),
        dg.AssetCheckSpec(
            REJECTS_CHECK, asset=asset,
            description="Warns when rows of the batch were quarantined in ingestion_rejects, with the reasons "
                        "(field and value); the rest of the batch loaded.",
        ),
    ]


def _failures(failures: Sequence[FailedExpectation]) -> list[dict[str, Any]]:
    return [{"expectation": f.expectation, "column": f.column, "unexpected": f.unexpected_count,
             "examples": ", ".join(f.sample_values)} for f in failures]


def contract_check_result(asset: str, report: BatchReport) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        asset_key=asset, check_name=CONTRACT_CHECK, passed=report.success,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "suite": report.suite, "rows": report.rows, "expectations_evaluated": report.evaluated,
            "expectations_failed": len(report.failed),
            "failed": markdown_table(_failures(report.failed)),
        },
    )


def rejects_check_result(asset: str, rejects: Sequence[Reject], fetched: int) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        asset_key=asset, check_name=REJECTS_CHECK, passed=not rejects, severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "rejected": len(rejects), "fetched": fetched,
            "reasons": markdown_table([{"key": r.business_key, "reason": r.reason} for r in rejects]),
        },
    )
