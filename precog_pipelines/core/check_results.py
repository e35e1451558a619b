"""Building asset-check results and UI metadata from the plain reports of lib/."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import dagster as dg

from precog_pipelines.lib.ingest.rejects import Reject
from precog_pipelines.lib.quality.gx_suites import BatchReport, FailedExpectation

CONTRACT_CHECK = "batch_matches_contract"
REJECTS_CHECK = "no_rejected_rows"


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


def markdown_table(rows: Sequence[dict[str, Any]], limit: int = 10) -> dg.MetadataValue:
    if not rows:
        return dg.MetadataValue.md("_none_")
    columns = list(rows[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows[:limit]:
        lines.append("| " + " | ".join(_cell(row[c]) for c in columns) + " |")
    return dg.MetadataValue.md("\n".join(lines))


def _cell(value: Any) -> str:
    return "" if value is None else str(value).replace("|", "\\|").replace("\n", " ")[:80]


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
