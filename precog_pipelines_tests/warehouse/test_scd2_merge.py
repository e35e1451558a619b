"""The set-based SCD Type 2 merge on the real markets table."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import psycopg
import pytest
from psycopg import sql

from precog_pipelines.lib.warehouse.scd2_merge import DuplicateKeyInSnapshot, merge_snapshot
from precog_pipelines.lib.warehouse.server import connect
from precog_pipelines.lib.warehouse.tables import MARKETS
from precog_pipelines_tests.support import factories as f
from precog_pipelines_tests.support.factories import NOW

TICKERS = [f"KXNFLGAME-26SEP13DALNYG-{suffix}" for suffix in ("DAL", "NYG", "AAA")]


def _row(ticker: str, **changes) -> tuple:
    values = {
        "ticker": ticker, "status": "active", "yes_bid": Decimal("0.5500"), "yes_ask": Decimal("0.5700"),
        "no_bid": Decimal("0.4300"), "no_ask": Decimal("0.4500"), "last_price": Decimal("0.5600"),
        "yes_bid_size": Decimal("100.00"), "yes_ask_size": Decimal("80.00"), "result": "",
        "settlement_value": None, "settlement_ts": None, "close_time": NOW + timedelta(days=14),
        "event_ticker": "KXNFLGAME-26SEP13DALNYG", "market_type": "binary", "title": "Dallas at New York G",
        "yes_sub_title": ticker[-3:], "no_sub_title": ticker[-3:], "volume": Decimal("10.00"),
        "volume_24h": Decimal("1.00"), "open_interest": Decimal("5.00"), "notional_value": Decimal("1.0000"),
        "expiration_value": "", "open_time": NOW - timedelta(days=7), "expected_expiration_time": None,
        "latest_expiration_time": None, "occurrence_datetime": None, "can_close_early": True,
        "updated_time": NOW,
    } | changes
    return tuple(values[column] for column in MARKETS.columns)


@pytest.fixture
def tx(warehouse_url) -> psycopg.Connection:
    with connect(warehouse_url) as conn:
        f.series(conn)
        f.event(conn)
        for ticker in TICKERS:
            f.market_ticker(conn, ticker=ticker)
        conn.commit()
        yield conn


def _versions(conn: psycopg.Connection) -> list[tuple]:
    return conn.execute(
        "SELECT ticker, yes_bid, volume, row_current_ind, row_start_ts, row_end_ts FROM markets ORDER BY ticker, id"
    ).fetchall()


def test_first_load_inserts_one_current_version_per_key(tx):
    result = merge_snapshot(tx, MARKETS, [_row(t) for t in TICKERS], NOW)
    tx.commit()

    assert (result.staged, result.inserted, result.closed, result.new_keys, result.unchanged) == (3, 3, 0, 3, 0)
    assert [(v[0], v[3], v[4], v[5]) for v in _versions(tx)] == [(t, True, NOW, None) for t in sorted(TICKERS)]


def test_changed_tracked_field_closes_and_versions_in_the_same_transaction(tx):
    merge_snapshot(tx, MARKETS, [_row(t) for t in TICKERS], NOW)
    later = NOW + timedelta(minutes=5)
    snapshot = [_row(TICKERS[0], yes_bid=Decimal("0.6000")), _row(TICKERS[1]), _row(TICKERS[2])]

    result = merge_snapshot(tx, MARKETS, snapshot, later)
    tx.commit()

    assert (result.inserted, result.closed, result.unchanged) == (1, 1, 2)
    dal = [v for v in _versions(tx) if v[0] == TICKERS[0]]
    assert dal == [
        (TICKERS[0], Decimal("0.5500"), Decimal("10.00"), False, NOW, later),
        (TICKERS[0], Decimal("0.6000"), Decimal("10.00"), True, later, None),
    ]


def test_carried_field_alone_does_not_start_a_version(tx):
    merge_snapshot(tx, MARKETS, [_row(t) for t in TICKERS], NOW)

    result = merge_snapshot(tx, MARKETS, [_row(t, volume=Decimal("99.00")) for t in TICKERS],
                            NOW + timedelta(minutes=5))

    assert (result.inserted, result.closed, result.unchanged) == (0, 0, 3)


def test_null_to_value_counts_as_a_change(tx):
    merge_snapshot(tx, MARKETS, [_row(TICKERS[0])], NOW)

    result = merge_snapshot(tx, MARKETS, [_row(TICKERS[0], status="finalized", result="yes",
                                               settlement_value=Decimal("1.0000"), settlement_ts=NOW)],
                            NOW + timedelta(hours=4))

    assert (result.inserted, result.closed) == (1, 1)


def test_identical_snapshot_writes_nothing(tx):
    merge_snapshot(tx, MARKETS, [_row(t) for t in TICKERS], NOW)
    tx.commit()
    before = _versions(tx)

    result = merge_snapshot(tx, MARKETS, [_row(t) for t in TICKERS], NOW + timedelta(minutes=5))
    tx.commit()

    assert (result.inserted, result.closed, result.unchanged) == (0, 0, 3)
    assert _versions(tx) == before


def test_keys_missing_from_a_snapshot_stay_current(tx):
    merge_snapshot(tx, MARKETS, [_row(t) for t in TICKERS], NOW)

    merge_snapshot(tx, MARKETS, [_row(TICKERS[0], yes_bid=Decimal("0.1000"))], NOW + timedelta(minutes=5))

    current = tx.execute("SELECT ticker FROM markets_current ORDER BY ticker").fetchall()
    assert [c[0] for c in current] == sorted(TICKERS)


def test_observation_older_than_the_stored_version_is_skipped(tx):
    merge_snapshot(tx, MARKETS, [_row(TICKERS[0])], NOW)
    tx.commit()
    before = _versions(tx)

    result = merge_snapshot(tx, MARKETS, [_row(TICKERS[0], yes_bid=Decimal("0.9")), _row(TICKERS[1])],
                            NOW - timedelta(seconds=1))
    tx.commit()

    assert (result.staged, result.superseded, result.inserted, result.unchanged) == (2, 1, 1, 0)
    assert [v for v in _versions(tx) if v[0] == TICKERS[0]] == [v for v in before if v[0] == TICKERS[0]]


def test_duplicate_key_in_snapshot_is_refused(tx):
    with pytest.raises(DuplicateKeyInSnapshot, match=TICKERS[0]):
        merge_snapshot(tx, MARKETS, [_row(TICKERS[0]), _row(TICKERS[0], yes_bid=Decimal("0.1"))], NOW)


def test_failure_after_staging_leaves_the_table_untouched(tx):
    merge_snapshot(tx, MARKETS, [_row(t) for t in TICKERS], NOW)
    tx.commit()
    before = _versions(tx)

    with pytest.raises(psycopg.errors.CheckViolation):
        merge_snapshot(tx, MARKETS, [_row(TICKERS[0], yes_bid=Decimal("0.1")),
                                     _row(TICKERS[1], yes_ask=Decimal("1.5"))], NOW + timedelta(minutes=1))
    tx.rollback()

    assert _versions(tx) == before


def test_concurrent_merges_of_one_snapshot_produce_the_rows_of_one(warehouse_url, tx):
    merge_snapshot(tx, MARKETS, [_row(t) for t in TICKERS], NOW)
    tx.commit()
    snapshot = [_row(t, yes_bid=Decimal("0.6100")) for t in TICKERS]
    results, barrier = [], threading.Barrier(2)

    def merge(offset_seconds: int) -> None:
        with connect(warehouse_url) as conn:
            barrier.wait()
            results.append(merge_snapshot(conn, MARKETS, snapshot, NOW + timedelta(minutes=5, seconds=offset_seconds)))
            conn.commit()

    threads = [threading.Thread(target=merge, args=(i,)) for i in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(r.inserted for r in results) == [0, 3]
    assert tx.execute("SELECT count(*) FROM markets").fetchone()[0] == 6
    assert tx.execute("SELECT count(*) FROM markets_current WHERE yes_bid = 0.61").fetchone()[0] == 3


def test_merge_needs_a_transaction(warehouse_url):
    with connect(warehouse_url, autocommit=True) as conn, pytest.raises(ValueError, match="autocommit"):
        merge_snapshot(conn, MARKETS, [], NOW)


def test_complete_snapshot_retires_keys_it_no_longer_holds_within_its_scope(tx):
    merge_snapshot(tx, MARKETS, [_row(t) for t in TICKERS], NOW)

    result = merge_snapshot(
        tx, MARKETS, [_row(TICKERS[0])], NOW + timedelta(minutes=5),
        retire_missing_where=sql.SQL("t.ticker <> %(keep)s"), retire_params={"keep": TICKERS[2]},
    )

    assert (result.retired, result.inserted, result.unchanged) == (1, 0, 1)
    current = [row[0] for row in tx.execute("SELECT ticker FROM markets_current ORDER BY ticker")]
    assert current == sorted([TICKERS[0], TICKERS[2]])
    retired = tx.execute("SELECT row_end_ts FROM markets WHERE ticker = %s", (TICKERS[1],)).fetchone()
    assert retired == (NOW + timedelta(minutes=5),)
