"""One ingestion path for every API source: parse, validate, store, quarantine, report.

A source (Kalshi series, events, markets; ESPN games) is declared once as an :class:`Ingestion`:
how to parse one raw record, which errors mean "reject this record", which contract suite the
batch must pass, and how to store the parsed records. :func:`ingest` then runs the same steps
for all of them, in the caller's transaction:

1. keep the first record of each key (a page boundary moving under a crawl can list one twice)
   and parse them; the ones the parser refuses become rejects (field and value named);
2. validate the records that parsed against the batch's contract suite (Great Expectations).
   The parser and the suite share one definition of every wire format
   (:mod:`precog_pipelines.lib.wire_values`), so a record that parsed passes; the suite is the
   second line of defence, and a batch that fails it is not stored at all: a failed blocking
   check never leaves a half-written table behind;
3. store the batch set-based; rows the database layer refuses (unknown parent, NUL in text)
   become rejects too;
4. quarantine every reject in ``ingestion_rejects`` with its payload and reason.

Fetching stays with the caller (the asset owns its HTTP client); reporting is
:func:`precog_pipelines.core.ingestion.ingestion_result`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

import psycopg

from precog_pipelines.lib.ingest.rejects import Reject, accepted_payloads, parse_batch, record_rejects
from precog_pipelines.lib.quality.gx_suites import BatchReport, validate_records
from precog_pipelines.lib.warehouse.bulk import UpsertResult
from precog_pipelines.lib.warehouse.scd2_merge import MergeResult

T = TypeVar("T")
Written = UpsertResult | MergeResult


@dataclass(frozen=True)
class LoadResult:
    """What a store wrote, the rows it refused and why, and what else it wrote on the way
    (``related``: e.g. the ``games`` rows beside the ``game_states`` versions)."""

    written: Written
    rejects: list[Reject] = field(default_factory=list)
    related: Mapping[str, Written] = field(default_factory=dict)


@dataclass(frozen=True)
class Ingestion(Generic[T]):
    """How one kind of API record becomes warehouse rows."""

    platform: str  # ingestion_rejects.source: where the records come from
    entity: str  # ingestion_rejects.entity: what one record is
    suite: str  # the contract suite of lib/quality/gx_suites
    key_field: str  # the record's key in the raw payload (names rejects)
    parse: Callable[[Any], T]
    parse_errors: tuple[type[Exception], ...]
    store: Callable[[psycopg.Connection, list[T], datetime], LoadResult]
    # What the contract suite sees of one raw record (the raw record itself by default).
    contract_record: Callable[[Any], Mapping[str, Any]] = lambda raw: raw


@dataclass(frozen=True)
class IngestionReport(Generic[T]):
    """One batch through :func:`ingest`. ``load`` is None when the batch failed its contract
    and nothing was stored."""

    fetched: int
    parsed: list[T]
    rejects: list[Reject]
    contract: BatchReport
    load: LoadResult | None

    @property
    def stored(self) -> bool:
        return self.load is not None


def ingest(
    conn: psycopg.Connection, spec: Ingestion[T], payloads: Sequence[Any], observed_at: datetime, run_id: str | None
) -> IngestionReport[T]:
    """Parse, validate, store and quarantine one batch in the caller's transaction."""
    unique, rejects = first_per_key(payloads, spec.key_field)
    parsed, unparsed = parse_batch(unique, spec.parse, spec.key_field, spec.parse_errors)
    rejects = rejects + unparsed
    contract = validate_records(
        spec.suite, [spec.contract_record(raw) for raw in accepted_payloads(unique, unparsed, spec.key_field)])
    if not contract.success:
        return IngestionReport(len(payloads), parsed, rejects, contract, None)
    load = spec.store(conn, parsed, observed_at)
    rejects = rejects + load.rejects
    record_rejects(conn, spec.platform, spec.entity, rejects, run_id)
    return IngestionReport(len(payloads), parsed, rejects, contract, load)


def first_per_key(payloads: Sequence[Any], key_field: str) -> tuple[list[Any], list[Reject]]:
    """The first record of each key; later ones become rejects."""
    seen: set[Any] = set()
    kept, rejects = [], []
    for raw in payloads:
        key = raw.get(key_field) if isinstance(raw, Mapping) else None
        if isinstance(key, str) and key in seen:
            rejects.append(Reject(key[:200], f"{key_field} appears more than once in the batch; kept the first", raw))
            continue
        seen.add(key)
        kept.append(raw)
    return kept, rejects
