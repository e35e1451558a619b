"""Run keys that re-request work after a failed run, read from the Dagster instance's run history.

A run key is requested once, so a failed run's key is spent. Numbering the key by the work's
failed runs (``base``, ``base#2``, ``base#3``...) requests the work again, and only after a
failure: a run still going or succeeded keeps the same key, which Dagster skips as already
requested. The jobs are idempotent, so a rerun of work that did get booked books nothing. The
failed runs of every piece of work due in a tick are read together, a few queries per tick
instead of one per piece of work (bench/exit_sensor.py: 1,000 exits due).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

import dagster as dg

# Tag values per query: the filter becomes SQL ``IN`` lists, kept well below the bind-parameter
# limits of the run storages (SQLite's 32,766, PostgreSQL's 65,535) and of a sane statement size.
VALUES_PER_QUERY = 1_000


def attempt_run_keys(instance: dg.DagsterInstance, job_name: str, work: Mapping[str, Mapping[str, str]],
                     max_attempts: int, values_per_query: int = VALUES_PER_QUERY) -> dict[str, str | None]:
    """For each piece of work (its base run key mapped to the tags that mark its runs, the same
    tag names for all), the run key of its next run of ``job_name``: the base key for the first,
    then ``base#2``... one more per failed run carrying those tags; None once ``max_attempts``
    runs have failed. ``values_per_query`` pieces of work are looked up per query."""
    failures = _failed_runs(instance, job_name, list(work.values()), values_per_query)
    keys: dict[str, str | None] = {}
    for base, tags in work.items():
        failed = failures[_identity(tags, sorted(tags))]
        keys[base] = None if failed >= max_attempts else base if failed == 0 else f"{base}#{failed + 1}"
    return keys


def _identity(tags: Mapping[str, str | None], names: list[str]) -> tuple[str | None, ...]:
    return tuple(tags.get(name) for name in names)


def _failed_runs(instance: dg.DagsterInstance, job_name: str,
                 tag_sets: list[Mapping[str, str]], values_per_query: int) -> Counter[tuple[str | None, ...]]:
    """Failed runs of ``job_name`` per tag-set identity. Each query asks for every value of every
    tag name in its chunk; a run matching values of different pieces of work (one's position,
    another's rule) is counted under its own identity, which no piece of work asks for."""
    if not tag_sets:
        return Counter()
    names = sorted(tag_sets[0])
    for tags in tag_sets:
        if sorted(tags) != names:
            raise ValueError(f"every piece of work needs the tag names {names}; got {sorted(tags)}")
    # Keyed by run id: chunks may share tag values, so one run can come back from two queries.
    identities: dict[str, tuple[str | None, ...]] = {}
    for start in range(0, len(tag_sets), values_per_query):
        chunk = tag_sets[start:start + values_per_query]
        runs = instance.get_runs(dg.RunsFilter(
            job_name=job_name, statuses=[dg.DagsterRunStatus.FAILURE],
            tags={name: sorted({tags[name] for tags in chunk}) for name in names}))
        identities.update((run.run_id, _identity(run.tags, names)) for run in runs)
    return Counter(identities.values())
