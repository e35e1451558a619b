"""The one report of an ingestion asset: the same metadata keys and the same two checks for
every source (lib/ingest/pipeline.py does the work)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import dagster as dg

from precog_pipelines.core.checks import CONTRACT_CHECK, contract_check_result, rejects_check_result
from precog_pipelines.core.metadata import markdown_table
from precog_pipelines.lib.ingest.pipeline import IngestionReport, Written
from precog_pipelines.lib.warehouse.bulk import UpsertResult
from precog_pipelines.lib.warehouse.scd2_merge import MergeResult

# What a batch that stored nothing (it failed its contract) reports as written.
NOTHING_UPSERTED = UpsertResult(staged=0, inserted=0, updated=0)
NOTHING_MERGED = MergeResult(staged=0, inserted=0, closed=0)


def written_metadata(written: Written, *, prefix: str = "", new_keys: str = "new_keys") -> dict[str, int]:
    """What one upsert or SCD2 merge wrote, under ``prefix``: inserted, updated and unchanged
    rows of an upsert; inserted and closed versions, new keys (named ``new_keys``), unchanged
    and superseded rows of a merge, and how many rows it sent to the server (``sent``: the new
    and changed ones, found by hash before staging)."""
    if isinstance(written, UpsertResult):
        counts = {"inserted": written.inserted, "updated": written.updated, "unchanged": written.unchanged}
    else:
        counts = {"inserted": written.inserted, "closed": written.closed, new_keys: written.new_keys,
                  "unchanged": written.unchanged, "superseded": written.superseded, "sent": written.sent}
    return {f"{prefix}{name}": value for name, value in counts.items()}


def ingestion_result(
    asset: str,
    report: IngestionReport,
    *,
    written: Mapping[str, Any],
    row_count: int,
    preview: Sequence[Mapping[str, Any]],
    observed_at: datetime | None = None,
    extra: Mapping[str, Any] | None = None,
    data_version: str | None = None,
) -> dg.MaterializeResult:
    """The materialization of one ingestion batch: fetched and rejected counts, what was written
    (``written``, from :func:`written_metadata`), the table's row count, a preview, and the
    contract and rejects checks, plus the source's own ``extra`` metadata. A batch that failed its
    contract stored nothing, and says so.

    ``data_version`` (``lib.warehouse.fingerprint.scd2_fingerprint``) names the table's content: a
    refresh that changed nothing keeps it, so the assets downstream stay in sync in the UI. Without
    one, Dagster gives every materialization a new data version and marks every downstream asset,
    and every partition of it, "Unsynced" after each refresh."""
    metadata: dict[str, Any] = {"fetched": report.fetched, **written, "rejected": len(report.rejects)}
    if observed_at is not None:
        metadata["observed_at"] = observed_at.isoformat()
    if not report.stored:
        metadata["stored"] = dg.MetadataValue.md(
            f"**nothing**: the batch failed `{CONTRACT_CHECK}`, so no row of it was written")
    metadata |= {**(extra or {}), "dagster/row_count": row_count, "preview": markdown_table(list(preview))}
    return dg.MaterializeResult(
        metadata=metadata,
        data_version=dg.DataVersion(data_version) if data_version is not None else None,
        check_results=[contract_check_result(asset, report.contract),
                       rejects_check_result(asset, report.rejects, report.fetched)],
    )
