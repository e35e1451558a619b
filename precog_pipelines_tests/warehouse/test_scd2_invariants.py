"""SCD Type 2 invariant checks see violations planted in real PostgreSQL, and pass clean history."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from precog_pipelines.lib.quality import scd2_invariants as q
from precog_pipelines.lib.warehouse.tables import MARKETS
from precog_pipelines_tests.support import factories as f
from precog_pipelines_tests.support.factories import NOW


def _closed(db, start_hours: float, end_hours: float, **overrides) -> int:
    return f.market_version(db, row_current_ind=False, row_start_ts=NOW + timedelta(hours=start_hours),
                            row_end_ts=NOW + timedelta(hours=end_hours), **overrides)


def _all(db) -> list[q.Violations]:
    return [q.current_row_count_violations(db, MARKETS), q.validity_violations(db, MARKETS),
            q.overlap_violations(db, MARKETS), q.gap_violations(db, MARKETS)]


def test_clean_history_passes_every_rule(db):
    f.series(db)
    f.event(db)
    f.market_ticker(db)
    _closed(db, -2, -1)
    _closed(db, -1, 0)
    f.market_version(db)  # current from NOW
    assert [v.passed for v in _all(db)] == [True] * 4


def test_overlapping_versions_are_reported_with_samples(db):
    f.market(db)  # current from NOW
    db.execute("ALTER TABLE markets DISABLE TRIGGER markets_versions_do_not_overlap")  # what sql/0064 prevents
    _closed(db, -3, -1)
    _closed(db, -2, 0)
    overlaps = q.overlap_violations(db, MARKETS)
    assert overlaps.count == 1
    assert overlaps.samples[0]["ticker"] == "KXNFLGAME-26SEP13DALNYG-DAL"


def test_a_closed_version_running_into_the_current_one_overlaps(db):
    f.market(db)
    db.execute("ALTER TABLE markets DISABLE TRIGGER markets_versions_do_not_overlap")  # what sql/0064 prevents
    _closed(db, -1, 1)
    assert q.overlap_violations(db, MARKETS).count == 1


def test_gap_between_versions_is_reported(db):
    f.market(db)
    _closed(db, -3, -2)
    gaps = q.gap_violations(db, MARKETS)
    assert gaps.count == 1 and gaps.samples[0]["next_start"] == str(NOW)


def test_two_current_versions_and_a_key_without_one_are_reported(db):
    f.market(db)
    db.execute("ALTER TABLE markets DISABLE TRIGGER markets_current_versions_do_not_overlap")  # what sql/0142 prevents
    db.execute("DROP INDEX markets_one_current_uq")  # plant what the index normally prevents
    f.market_version(db, row_start_ts=NOW + timedelta(hours=1))
    f.market_ticker(db, ticker="KXNFLGAME-26SEP13DALNYG-NYG")
    _closed(db, -2, -1, ticker="KXNFLGAME-26SEP13DALNYG-NYG")
    violations = q.current_row_count_violations(db, MARKETS)
    assert violations.count == 2
    assert sorted(s["current_versions"] for s in violations.samples) == [0, 2]
    assert q.current_row_count_violations(db, dataclasses.replace(MARKETS, retirable=True)).count == 1


def test_current_version_with_an_end_is_reported(db):
    f.market(db)
    db.execute("ALTER TABLE markets DROP CONSTRAINT markets_validity_ck")
    f.market_ticker(db, ticker="KXNFLGAME-26SEP13DALNYG-NYG")
    f.market_version(db, ticker="KXNFLGAME-26SEP13DALNYG-NYG", row_end_ts=NOW + timedelta(hours=1))
    assert q.validity_violations(db, MARKETS).count == 1
