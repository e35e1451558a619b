"""Bad and strange values inside an otherwise good markets snapshot, through the real asset:
one bad value costs one row, rejected with its field and value; strange but valid text is
stored verbatim and never executed (issue 6, fault and bad-input suite)."""

from __future__ import annotations

import pytest

from precog_pipelines.lib.warehouse.server import connect
from precog_pipelines_tests.support.faults import (
    MARKETS_PATH,
    failure_text,
    fault_resources,
    kalshi_markets,
    materialize,
    public_tables,
    rejects,
)

DROP_MARKETS = "'); DROP TABLE markets; --"

# id: (field set on one market, value, field named in the reason, value as the reason shows it)
BAD_VALUES = {
    "price_not_a_number": ("yes_bid_dollars", "abc", "yes_bid_dollars", "'abc'"),
    "price_above_one": ("yes_ask_dollars", "1.5", "yes_ask_dollars", "'1.5'"),
    "price_negative": ("no_bid_dollars", "-0.1", "no_bid_dollars", "'-0.1'"),
    # Five decimals pass the wire contract (up to six) but numeric(10,4) would round them.
    "price_more_than_4_decimals": ("last_price_dollars", "0.12345", "last_price", "0.12345"),
    "numeric_overflow": ("notional_value_dollars", "1234567.5", "notional_value", "1234567.5"),
    "null_ticker": ("ticker", None, "ticker", "None"),
    "ticker_holding_sql": ("ticker", "KX" + DROP_MARKETS, "ticker", repr("KX" + DROP_MARKETS)),
    "ticker_with_nul": ("ticker", "KXNFLGAME-25NOV09\x00-X", "ticker", repr("KXNFLGAME-25NOV09\x00-X")),
    "nul_in_title": ("title", "Lions\x00win", "title", repr("Lions\x00win")),
    # Values the parser once took and the contract suite refused: the run then failed on its
    # blocking check after the merge had written the batch (issue "Hardening", finding 3).
    "negative_zero": ("yes_bid_dollars", "-0.0000", "yes_bid_dollars", "'-0.0000'"),
    "exponent": ("yes_ask_dollars", "1E+2", "yes_ask_dollars", "'1E+2'"),
    "leading_space": ("no_bid_dollars", " 0.5000", "no_bid_dollars", "' 0.5000'"),
    "small_exponent": ("last_price_dollars", "5E-1", "last_price_dollars", "'5E-1'"),
}

STRANGE_TITLES = {
    "sql": DROP_MARKETS + " SELECT pg_sleep(10); \\. \\copy markets TO '/tmp/x'",
    "control_characters": "".join(chr(c) for c in range(1, 32)) + "\x7f \u202e\u2028 tab\there \"quoted\" \\",
    "ten_megabytes": "Ten megabytes " + "x" * (10 * 1024 * 1024),
}


def _versions_and_tickers(url: str) -> tuple[int, set[str]]:
    with connect(url, autocommit=True) as conn:
        return conn.execute("SELECT count(*) FROM markets").fetchone()[0], _current_tickers(conn)


def _current_tickers(conn) -> set[str]:
    return {r[0] for r in conn.execute("SELECT ticker FROM markets_current")}


def _target(sandbox) -> str:
    game = sandbox.describe_world()["games"][0]
    return game["markets"][game["home"]]


@pytest.mark.parametrize("case", BAD_VALUES)
def test_a_bad_value_is_rejected_with_field_and_value_and_the_rest_load(
        case, fault_sandbox, kalshi_key, reference_warehouse_url, fully_loaded_template, dagster_instance):
    field, value, named, shown = BAD_VALUES[case]
    target = _target(fault_sandbox)
    fault = fault_sandbox.inject("malform", path=MARKETS_PATH, ticker=target, field=field, value=value)

    result = materialize([kalshi_markets], fault_resources(reference_warehouse_url, fault_sandbox, kalshi_key),
                         dagster_instance)

    assert result.success, failure_text(result)
    assert fault.fired == 1
    [(entity, key, reason, payload)] = rejects(reference_warehouse_url)
    assert entity == "market" and named in reason and shown in reason, reason
    assert key == (target if field != "ticker" else None if value is None else value.replace("\x00", "\\u0000"))
    assert "\x00" not in reason and "\x00" not in str(payload)
    _, everything = _versions_and_tickers(fully_loaded_template.url)
    assert _versions_and_tickers(reference_warehouse_url) == (len(everything) - 1, everything - {target})
    [materialization] = result.asset_materializations_for_node("kalshi_markets")
    assert materialization.metadata["rejected"].value == 1
    assert materialization.metadata["inserted"].value == len(everything) - 1


@pytest.mark.parametrize("case", STRANGE_TITLES)
def test_a_strange_but_valid_title_is_stored_verbatim_and_never_executed(
        case, fault_sandbox, kalshi_key, reference_warehouse_url, fully_loaded_template, dagster_instance):
    title = STRANGE_TITLES[case]
    target = _target(fault_sandbox)
    fault_sandbox.inject("malform", path=MARKETS_PATH, ticker=target, field="title", value=title)
    with connect(reference_warehouse_url, autocommit=True) as conn:
        tables = public_tables(conn)

    result = materialize([kalshi_markets], fault_resources(reference_warehouse_url, fault_sandbox, kalshi_key),
                         dagster_instance)

    assert result.success, failure_text(result)
    with connect(reference_warehouse_url, autocommit=True) as conn:
        assert conn.execute("SELECT title FROM markets_current WHERE ticker = %s", (target,)).fetchone() == (title,)
        assert public_tables(conn) == tables
    assert rejects(reference_warehouse_url) == []
    assert _versions_and_tickers(reference_warehouse_url) == _versions_and_tickers(fully_loaded_template.url)
