# ruff: noqa: F811
"""Change detection before staging (issue 16): the merge sends the server only the rows whose
tracked-columns hash differs from the current version's, with the same SCD2 results."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import psycopg

from precog_pipelines.lib.warehouse.scd2_merge import merge_snapshot
from precog_pipelines.lib.warehouse.server import connect
from precog_pipelines.lib.warehouse.tables import MARKETS
from precog_pipelines_tests.support import factories as f
from precog_pipelines_tests.support.factories import NOW

# The same three markets and `tx` fixture as the merge's own tests (imported, hence F401 and F811
# at the tests taking it): only what is sent to the server differs.
from precog_pipelines_tests.warehouse.test_scd2_merge import TICKERS, _row, _versions, tx  # noqa: F401


def _hashes(conn: psycopg.Connection) -> list[tuple]:
    """(ticker, is the version current) of every stored hash."""
    return conn.execute(
        "SELECT m.ticker, m.row_current_ind FROM markets_tracked_hashes h JOIN markets m ON m.id = h.version_id "
        "ORDER BY m.ticker").fetchall()


def test_only_new_and_changed_rows_are_sent_to_the_server(tx):
    first = merge_snapshot(tx, MARKETS, [_row(t) for t in TICKERS], NOW)
    identical = merge_snapshot(tx, MARKETS, [_row(t) for t in TICKERS], NOW + timedelta(minutes=1))
    one_changed = merge_snapshot(tx, MARKETS, [_row(TICKERS[0], yes_bid=Decimal("0.6100")), _row(TICKERS[1]),
                                               _row(TICKERS[2])], NOW + timedelta(minutes=2))
    carried_only = merge_snapshot(tx, MARKETS, [_row(TICKERS[1], volume=Decimal("99.00"))],
                                  NOW + timedelta(minutes=3))
    tx.commit()

    assert (first.sent, first.inserted) == (3, 3)
    assert (identical.sent, identical.unchanged, identical.inserted, identical.closed) == (0, 3, 0, 0)
    assert (one_changed.sent, one_changed.unchanged, one_changed.inserted, one_changed.closed) == (1, 2, 1, 1)
    # A carried column does not start a version, so it is not in the hash either.
    assert (carried_only.sent, carried_only.unchanged) == (0, 1)
    assert len(_versions(tx)) == 4


def test_closing_a_version_deletes_its_hash(tx):
    merge_snapshot(tx, MARKETS, [_row(t) for t in TICKERS], NOW)
    merge_snapshot(tx, MARKETS, [_row(TICKERS[0], yes_bid=Decimal("0.6100"))], NOW + timedelta(minutes=1))
    tx.commit()

    assert _hashes(tx) == [(t, True) for t in sorted(TICKERS)]


def test_a_version_without_a_hash_is_compared_on_the_server_once(tx):
    # Versions written by other code (here a factory), or stored before the hashes existed.
    for ticker in TICKERS[:2]:
        f.market_version(tx, ticker=ticker, yes_sub_title=ticker[-3:], no_sub_title=ticker[-3:])
    tx.commit()
    before = _versions(tx)
    snapshot = [_row(TICKERS[0]), _row(TICKERS[1], yes_bid=Decimal("0.6100"))]

    compared = merge_snapshot(tx, MARKETS, snapshot, NOW + timedelta(minutes=1))
    again = merge_snapshot(tx, MARKETS, snapshot, NOW + timedelta(minutes=2))
    tx.commit()

    # Both were sent: the unchanged one got its hash, the changed one a new version.
    assert (compared.sent, compared.unchanged, compared.closed, compared.inserted) == (2, 1, 1, 1)
    assert (again.sent, again.unchanged) == (0, 2)
    assert [v for v in _versions(tx) if v[0] == TICKERS[0]] == [v for v in before if v[0] == TICKERS[0]]
    assert _hashes(tx) == [(TICKERS[0], True), (TICKERS[1], True)]


def test_a_hash_spelling_the_same_values_differently_is_replaced_not_versioned(tx):
    merge_snapshot(tx, MARKETS, [_row(TICKERS[0], yes_bid=Decimal("0.55"))], NOW)
    tx.commit()

    respelled = merge_snapshot(tx, MARKETS, [_row(TICKERS[0], yes_bid=Decimal("0.5500"))], NOW + timedelta(minutes=1))
    again = merge_snapshot(tx, MARKETS, [_row(TICKERS[0], yes_bid=Decimal("0.5500"))], NOW + timedelta(minutes=2))
    tx.commit()

    assert (respelled.sent, respelled.inserted, respelled.unchanged) == (1, 0, 1)
    assert (again.sent, again.unchanged) == (0, 1)
    assert len(_versions(tx)) == 1


def test_a_merge_waiting_for_another_compares_with_what_that_one_committed(warehouse_url, tx):
    """The hashes are read under the merge lock: a merge that waited reads the versions the
    first committed. Read before the lock, the second merge below would find its snapshot
    equal to the hash it read (the original values) and drop the reverting observation."""
    original = [_row(TICKERS[0])]
    merge_snapshot(tx, MARKETS, original, NOW)
    tx.commit()
    merge_snapshot(tx, MARKETS, [_row(TICKERS[0], yes_bid=Decimal("0.6100"))], NOW + timedelta(minutes=1))
    results = []

    def later_merge_of_the_original_values() -> None:
        with connect(warehouse_url) as conn:
            results.append(merge_snapshot(conn, MARKETS, original, NOW + timedelta(minutes=2)))
            conn.commit()

    waiting = threading.Thread(target=later_merge_of_the_original_values)
    waiting.start()
    with connect(warehouse_url, autocommit=True) as monitor:
        while waiting.is_alive() and not monitor.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())").fetchone()[0]:
            waiting.join(0.01)
    tx.commit()
    waiting.join()

    [result] = results
    assert (result.sent, result.closed, result.inserted) == (1, 1, 1)
    assert [(v[1], v[3]) for v in _versions(tx)] == [
        (Decimal("0.5500"), False), (Decimal("0.6100"), False), (Decimal("0.5500"), True)]
