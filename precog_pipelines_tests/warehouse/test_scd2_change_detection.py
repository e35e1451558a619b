# ruff: noqa: F811
"""Change detection before staging (issue 16): the merge sends the server only the rows whose
tracked-columns hash differs from the current version's, with the same SCD2 results."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import psycopg
import pytest

from precog_pipelines.lib.warehouse.scd2_merge import (
    _HASHED_AFTER_WRITING,
    _digests,
    _getters,
    _spelling,
    merge_snapshot,
    snapshot_delta,
    write_delta,
)
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


def test_new_keys_are_copied_in_with_ids_from_the_tables_own_sequence(tx):
    """New keys skip the staging table: their versions are COPYed in with ids drawn from the
    identity sequence, so each hash names its version and a plain INSERT after them still works."""
    first = merge_snapshot(tx, MARKETS, [_row(TICKERS[0])], NOW)
    mixed = merge_snapshot(tx, MARKETS, [_row(TICKERS[0], yes_bid=Decimal("0.6100")), _row(TICKERS[1])],
                           NOW + timedelta(minutes=1))
    f.market_version(tx, ticker=TICKERS[2], yes_sub_title="AAA", no_sub_title="AAA")  # the identity default
    tx.commit()

    assert (first.sent, first.inserted, first.closed) == (1, 1, 0)
    assert (mixed.sent, mixed.inserted, mixed.closed, mixed.new_keys) == (2, 2, 1, 1)
    ids = [row[0] for row in tx.execute("SELECT id FROM markets ORDER BY id")]
    assert len(set(ids)) == 4
    # Every merged current version has the hash of the values it holds: the next snapshot sends nothing.
    assert _hashes(tx) == [(TICKERS[0], True), (TICKERS[1], True)]
    assert merge_snapshot(tx, MARKETS, [_row(TICKERS[0], yes_bid=Decimal("0.6100")), _row(TICKERS[1])],
                          NOW + timedelta(minutes=2)).sent == 0


def test_a_first_load_hashes_each_version_as_it_is_written_every_round_included(tx):
    """A first load hashes nothing before sending: each version's hash is computed after its rows
    are written, a round of ``_HASHED_AFTER_WRITING`` rows at a time. Every version, across the
    rounds and the last partial one, gets the hash of its own values: the next snapshot sends only
    the one row that changed."""
    tickers = [f"KXNFLGAME-26SEP13DALNYG-T{i:05d}" for i in range(2 * _HASHED_AFTER_WRITING + 7)]
    tx.execute("INSERT INTO market_tickers (ticker, event_ticker) SELECT unnest(%s::text[]), %s",
               (tickers, "KXNFLGAME-26SEP13DALNYG"))
    snapshot = [_row(t, yes_bid=Decimal(i % 90 + 1).scaleb(-2)) for i, t in enumerate(tickers)]

    first = merge_snapshot(tx, MARKETS, snapshot, NOW)
    snapshot[_HASHED_AFTER_WRITING + 3] = _row(tickers[_HASHED_AFTER_WRITING + 3], yes_bid=Decimal("0.9900"))
    next_one = merge_snapshot(tx, MARKETS, snapshot, NOW + timedelta(minutes=1))
    tx.commit()

    assert (first.sent, first.inserted) == (len(tickers), len(tickers))
    assert (next_one.sent, next_one.inserted, next_one.closed, next_one.unchanged) == (1, 1, 1, len(tickers) - 1)
    _, tracked_of = _getters(MARKETS)
    expected = dict(zip(tickers, _digests(map(tracked_of, snapshot), _spelling(tx, MARKETS)), strict=True))
    stored = dict(tx.execute("SELECT m.ticker, h.tracked_hash FROM markets m JOIN markets_tracked_hashes h "
                             "ON h.version_id = m.id WHERE m.row_current_ind AND m.ticker LIKE '%-T%'").fetchall())
    assert stored == expected


def test_a_key_another_writer_made_current_meanwhile_refuses_the_whole_merge(warehouse_url, tx):
    """A key found without a current version goes straight in; if a writer outside the merges
    (which does not take the merge lock) gave it one in between, the one-current-row index
    refuses the COPY and nothing of the merge is kept."""
    merge_snapshot(tx, MARKETS, [_row(TICKERS[0])], NOW)
    tx.commit()
    delta = snapshot_delta(tx, MARKETS, [_row(TICKERS[0], yes_bid=Decimal("0.6100")), _row(TICKERS[1])],
                           NOW + timedelta(minutes=1))
    with connect(warehouse_url) as other:
        f.market_version(other, ticker=TICKERS[1], yes_sub_title="NYG", no_sub_title="NYG")
        other.commit()

    with pytest.raises(psycopg.errors.UniqueViolation, match="markets_one_current_uq"):
        write_delta(tx, MARKETS, delta, NOW + timedelta(minutes=1))
    tx.rollback()

    assert [(v[0], v[1], v[3]) for v in _versions(tx)] == [
        (TICKERS[0], Decimal("0.5500"), True), (TICKERS[1], Decimal("0.5500"), True)]
    assert _hashes(tx) == [(TICKERS[0], True)]


def test_the_spelling_hashed_tells_apart_what_the_merge_could_store_differently(tx):
    """Numbers and booleans are spelled by str() (twice as fast as repr() for a Decimal), the rest
    by repr(): None never spells like the text 'None', nor a number like a text of its digits."""
    spelling = _spelling(tx, MARKETS)
    assert spelling.split("\x1f") == ["%r"] + ["%s"] * 7 + ["%r", "%s", "%r", "%r"]
    _, tracked_of = _getters(MARKETS)
    base = tracked_of(_row(TICKERS[0]))
    assert base[9] is None  # settlement_value, a price
    variants = [base, ("None", *base[1:]), (None, *base[1:]), (*base[:9], Decimal("0.5"), *base[10:]),
                (*base[:9], Decimal("0.5000"), *base[10:]), (*base[:8], None, *base[9:]),
                (*base[:8], "0.5", *base[9:]), (*base[:8], Decimal("0.5"), *base[9:]),
                (*base[:11], base[11] + timedelta(microseconds=1))]
    assert len(set(_digests(variants, spelling))) == len(variants)
    assert _digests([base], spelling) == _digests([tracked_of(_row(TICKERS[0]))], spelling)


def test_hashes_stored_in_another_spelling_are_compared_once_and_replaced(tx):
    """After an upgrade that spells the tracked values differently, every key is compared on the
    server once (nothing is versioned) and its hash replaced; the next snapshot sends nothing."""
    snapshot = [_row(t) for t in TICKERS]
    merge_snapshot(tx, MARKETS, snapshot, NOW)
    tx.execute("UPDATE markets_tracked_hashes SET tracked_hash = decode(repeat('ab', 16), 'hex')")
    tx.commit()

    upgraded = merge_snapshot(tx, MARKETS, snapshot, NOW + timedelta(minutes=1))
    again = merge_snapshot(tx, MARKETS, snapshot, NOW + timedelta(minutes=2))
    tx.commit()

    assert (upgraded.sent, upgraded.unchanged, upgraded.inserted, upgraded.closed) == (3, 3, 0, 0)
    assert (again.sent, again.unchanged) == (0, 3)
    assert len(_versions(tx)) == 3
