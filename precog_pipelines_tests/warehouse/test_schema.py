"""Every schema rule rejects a bad row against real PostgreSQL, and accepts a good one."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import psycopg
import pytest
from psycopg import errors

from precog_pipelines_tests.support import factories as f
from precog_pipelines_tests.support.factories import NOW

# --- markets: prices, enumerations and SCD Type 2 validity ---------------------------

@pytest.mark.parametrize("column", ["yes_bid", "yes_ask", "no_bid", "no_ask", "last_price"])
@pytest.mark.parametrize("price", [Decimal("1.5"), Decimal("-0.1")])
def test_market_price_outside_unit_interval_is_rejected(db, column, price):
    f.market(db)
    with pytest.raises(errors.CheckViolation, match="price_between_0_and_1"):
        f.market_version(db, **{column: price, "row_current_ind": False, "row_end_ts": NOW + timedelta(1),
                                "row_start_ts": NOW - timedelta(1)})


def test_market_price_with_a_fifth_decimal_is_refused_not_rounded(db):
    """Issue 18, finding 4: numeric(10,4) used to round 0.00005 to 0.0001; the price domain refuses it."""
    f.market(db)
    with pytest.raises(errors.CheckViolation, match="price_at_most_4_decimals"):
        f.market_version(db, yes_bid=Decimal("0.00005"), row_current_ind=False,
                         row_start_ts=NOW - timedelta(2), row_end_ts=NOW - timedelta(1))


@pytest.mark.parametrize("status", ["initialized", "active", "inactive", "closed", "determined",
                                    "disputed", "amended", "finalized"])
def test_market_accepts_every_kalshi_response_status(db, status):
    f.market(db)
    f.market_version(db, ticker=f.market_ticker(db, ticker="KXNFLGAME-26SEP13DALNYG-NYG"),
                     status=status)


@pytest.mark.parametrize("status", ["open", "settled", "Active", "ACTIVE", ""])
def test_market_rejects_filter_values_and_wrong_case_status(db, status):
    f.market(db)
    f.market_ticker(db, ticker="KXNFLGAME-26SEP13DALNYG-NYG")
    with pytest.raises(errors.CheckViolation, match="markets_status_check"):
        f.market_version(db, ticker="KXNFLGAME-26SEP13DALNYG-NYG", status=status)


@pytest.mark.parametrize("result,accepted", [("yes", True), ("no", True), ("scalar", True), ("", True),
                                             ("void", False), ("YES", False)])
def test_market_result_accepts_exactly_the_contract_values(db, result, accepted):
    f.market(db)
    f.market_ticker(db, ticker="KXNFLGAME-26SEP13DALNYG-NYG")
    if accepted:
        f.market_version(db, ticker="KXNFLGAME-26SEP13DALNYG-NYG", result=result)
    else:
        with pytest.raises(errors.CheckViolation, match="markets_result_check"):
            f.market_version(db, ticker="KXNFLGAME-26SEP13DALNYG-NYG", result=result)


def test_two_current_rows_for_one_ticker_are_rejected(db):
    f.market(db)
    # Two guards: the one-current unique index and, behind it, the overlap trigger (sql/0142).
    with db.transaction(), pytest.raises(errors.UniqueViolation, match="markets_one_current_uq"):
        f.market_version(db, yes_bid=Decimal("0.5600"))
    db.execute("DROP INDEX markets_one_current_uq")
    with pytest.raises(errors.ExclusionViolation, match="overlaps version id") as refused:
        f.market_version(db, yes_bid=Decimal("0.5600"))
    assert refused.value.diag.constraint_name == "markets_versions_do_not_overlap"


def test_closed_history_and_one_current_row_are_accepted(db):
    f.market(db)
    f.market_version(db, row_current_ind=False, row_start_ts=NOW - timedelta(hours=2),
                     row_end_ts=NOW - timedelta(hours=1))
    f.market_version(db, row_current_ind=False, row_start_ts=NOW - timedelta(hours=1), row_end_ts=NOW)
    assert db.execute("SELECT count(*) FROM markets_current").fetchone()[0] == 1
    assert db.execute("SELECT count(*) FROM markets").fetchone()[0] == 3


@pytest.mark.parametrize("current,end_offset", [(True, timedelta(hours=1)), (False, None),
                                                (False, timedelta(0)), (False, -timedelta(hours=1))])
def test_validity_flags_must_agree_with_end_timestamp(db, current, end_offset):
    f.market(db)
    f.market_ticker(db, ticker="KXNFLGAME-26SEP13DALNYG-NYG")
    end = None if end_offset is None else NOW + end_offset
    with pytest.raises(errors.CheckViolation, match="markets_validity_ck"):
        f.market_version(db, ticker="KXNFLGAME-26SEP13DALNYG-NYG", row_current_ind=current, row_end_ts=end)


def test_current_version_can_be_closed_once_but_never_edited(db):
    f.market(db)
    version = db.execute("SELECT id FROM markets WHERE row_current_ind").fetchone()[0]
    with pytest.raises(errors.RestrictViolation, match="is immutable"):
        db.execute("UPDATE markets SET yes_bid = 0.6 WHERE id = %s", (version,))

    db.execute("UPDATE markets SET row_current_ind = false, row_end_ts = %s WHERE id = %s",
               (NOW + timedelta(minutes=5), version))

    with pytest.raises(errors.RestrictViolation, match="is closed"):
        db.execute("UPDATE markets SET row_end_ts = %s WHERE id = %s", (NOW + timedelta(minutes=9), version))


def test_market_must_reference_a_known_ticker(db):
    f.market(db)
    with pytest.raises(errors.ForeignKeyViolation):
        f.market_version(db, ticker="KXNFLGAME-26SEP13DALNYG-XXX")


@pytest.mark.parametrize("ticker", ["kxnflgame-lower", "KX NFL", "KX;DROP TABLE markets", ""])
def test_ticker_format_is_enforced(db, ticker):
    f.series(db)
    f.event(db)
    with pytest.raises(errors.CheckViolation, match="market_tickers_ticker_check"):
        f.market_ticker(db, ticker=ticker)


# --- sides, actions and other enumerations -------------------------------------------

@pytest.mark.parametrize("side", ["YES", "Yes", "No", "y", ""])
def test_position_side_is_lowercase_yes_or_no(db, side):
    f.market(db)
    with pytest.raises(errors.CheckViolation, match="positions_side_check"):
        f.position(db, side=side)


@pytest.mark.parametrize("column,value", [("side", "NO"), ("action", "BUY"), ("book_side", "BID"),
                                          ("order_type", "stop"), ("purpose", "hedge"),
                                          ("trading_mode", "LIVE"), ("time_in_force", "gtc")])
def test_trade_enumerations_reject_wrong_values(db, column, value):
    f.market(db)
    position = f.position(db)
    with pytest.raises(errors.CheckViolation, match=f"trades_{column}_check"):
        f.trade(db, position, **{column: value})


@pytest.mark.parametrize("severity", ["fatal", "WARNING", "warn"])
def test_alert_severity_is_enumerated(db, severity):
    with pytest.raises(errors.CheckViolation, match="alerts_severity_check"):
        f.insert(db, "alerts", {"severity": severity, "component": "kalshi", "message": "m",
                                "fingerprint": "fp"})


def test_one_open_alert_per_fingerprint(db):
    row = {"severity": "error", "component": "kalshi", "message": "429 storm", "fingerprint": "fp-1"}
    first = f.insert(db, "alerts", row)
    with pytest.raises(errors.UniqueViolation, match="alerts_open_fingerprint_uq"):
        f.insert(db, "alerts", row)
    db.execute("UPDATE alerts SET resolved_at = now() WHERE id = %s", (first,))
    f.insert(db, "alerts", row)


@pytest.mark.parametrize("result", ["void", "YES", ""])
def test_settlement_result_is_yes_no_or_scalar(db, result):
    f.market(db)
    with pytest.raises(errors.CheckViolation, match="settlements_market_result_check"):
        f.insert(db, "settlements", {"ticker": "KXNFLGAME-26SEP13DALNYG-DAL", "market_result": result,
                                     "settlement_value": Decimal("1"), "settled_at": NOW,
                                     "raw_response": "{}"})


def test_completed_game_state_must_be_post(db):
    f.game(db)
    with pytest.raises(errors.CheckViolation, match="game_states_completed_is_post_ck"):
        f.game_state(db, state="in", completed=True)
    f.game_state(db, state="post", status_name="STATUS_FINAL", completed=True)


# --- append-only ledgers -------------------------------------------------------------

def _ledger_rows(db: psycopg.Connection) -> dict[str, int]:
    f.market(db)
    position = f.position(db)
    trade = f.trade(db, position)
    return {
        "trades": trade,
        "exit_attempts": f.insert(db, "exit_attempts", {
            "position_key": "pos-1", "position_id": position, "exit_reason": "stop_loss",
            "attempt_number": 1, "order_type": "limit", "limit_price": Decimal("0.4000"),
            "outcome": "not_filled"}),
        "position_exits": f.insert(db, "position_exits", {
            "position_key": "pos-1", "position_id": position, "ticker": "KXNFLGAME-26SEP13DALNYG-DAL",
            "exit_reason": "stop_loss", "quantity": Decimal("10"), "exit_price": Decimal("0.4000"),
            "realized_pnl": Decimal("-1.7000"), "trade_id": trade, "attempts": 1, "exited_at": NOW}),
        "settlements": f.insert(db, "settlements", {
            "ticker": "KXNFLGAME-26SEP13DALNYG-DAL", "market_result": "yes",
            "settlement_value": Decimal("1.0000"), "settled_at": NOW, "raw_response": "{}"}),
    }


@pytest.mark.parametrize("table", ["trades", "exit_attempts", "position_exits", "settlements", "trading_halts"])
def test_append_only_tables_reject_update_delete_and_truncate(db, table):
    rows = _ledger_rows(db)
    rows["trading_halts"] = f.insert(db, "trading_halts", {"action": "halt", "reason": "r", "source": "manual",
                                                           "actor": "tester"})
    row_id = rows[table]
    with pytest.raises(errors.RestrictViolation, match=f"{table} is append-only: UPDATE"):
        timestamp = {"exit_attempts": "attempted_at", "trading_halts": "created_at"}.get(table, "recorded_at")
        db.execute(f"UPDATE {table} SET {timestamp} = {timestamp} WHERE id = %s", (row_id,))
    with pytest.raises(errors.RestrictViolation, match=f"{table} is append-only: DELETE"):
        db.execute(f"DELETE FROM {table} WHERE id = %s", (row_id,))
    with pytest.raises(errors.RestrictViolation, match=f"{table} is append-only: TRUNCATE"):
        db.execute(f"TRUNCATE {table} CASCADE")
    assert db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 1


# --- immutable model and strategy versions -------------------------------------------

def test_model_config_cannot_be_edited_only_superseded(db):
    model = f.model_id(db)
    with pytest.raises(errors.RestrictViolation, match="immutable versions: only"):
        db.execute("UPDATE probability_models SET config = config || '{\"k_factor\": 25}' WHERE id = %s",
                   (model,))
    with pytest.raises(errors.RestrictViolation, match="immutable versions: only"):
        db.execute("UPDATE probability_models SET model_version = '1.1' WHERE id = %s", (model,))
    with pytest.raises(errors.RestrictViolation, match="DELETE is not allowed"):
        db.execute("DELETE FROM probability_models WHERE id = %s", (model,))

    db.execute("UPDATE probability_models SET is_active = false WHERE id = %s", (model,))
    f.insert(db, "probability_models", {"model_name": "elo_nfl", "model_version": "1.1", "model_type": "elo",
                                        "league": "nfl", "config": '{"k_factor": 25}'})
    config = db.execute("SELECT config FROM probability_models WHERE id = %s", (model,)).fetchone()[0]
    assert config["k_factor"] == 20


def test_strategy_config_cannot_be_edited(db):
    strategy = f.strategy(db)
    with pytest.raises(errors.RestrictViolation, match="strategies rows are immutable"):
        db.execute("UPDATE strategies SET config = '{\"min_edge\": \"0.01\"}' WHERE id = %s", (strategy,))
    db.execute("UPDATE strategies SET is_active = false WHERE id = %s", (strategy,))


def test_model_version_is_unique(db):
    with pytest.raises(errors.UniqueViolation):
        f.insert(db, "probability_models", {"model_name": "elo_nfl", "model_version": "1.0",
                                            "model_type": "elo", "league": "nfl", "config": "{}"})


def test_seeded_elo_model_carries_the_spec_parameters(db):
    config = db.execute("SELECT config FROM probability_models WHERE model_name = 'elo_nfl' AND model_version = '1.0'").fetchone()[0]
    assert (config["k_factor"], config["home_field_advantage"], config["reversion_mean"]) == (20, 65, 1505)


# --- teams and their codes -----------------------------------------------------------

def test_thirty_two_franchises_are_seeded_with_their_codes(db):
    assert db.execute("SELECT count(*) FROM teams WHERE league = 'nfl' AND is_active").fetchone()[0] == 32
    per_source = dict(db.execute("SELECT source, count(*) FROM team_aliases GROUP BY source").fetchall())
    assert per_source == {"espn": 32, "fivethirtyeight": 32, "kalshi": 33}
    assert db.execute("SELECT count(DISTINCT espn_team_id) FROM teams").fetchone()[0] == 32


@pytest.mark.parametrize("source,alias,team", [
    ("kalshi", "WAS", "WSH"), ("kalshi", "JAC", "JAX"), ("kalshi", "LA", "LAR"), ("kalshi", "LAR", "LAR"),
    ("kalshi", "KC", "KC"), ("fivethirtyeight", "OAK", "LV"), ("fivethirtyeight", "WSH", "WSH"),
    ("espn", "LV", "LV"),
])
def test_team_aliases_resolve_each_source_spelling(db, source, alias, team):
    resolved = db.execute(
        "SELECT t.team_code FROM team_aliases a JOIN teams t ON t.id = a.team_id "
        "WHERE a.league = 'nfl' AND a.source = %s AND a.alias_code = %s", (source, alias)).fetchone()
    assert resolved == (team,)


def test_espn_ids_follow_the_reference_table(db):
    ids = dict(db.execute("SELECT team_code, espn_team_id FROM teams").fetchall())
    assert (ids["ARI"], ids["BAL"], ids["HOU"], ids["WSH"], ids["LV"]) == (22, 33, 34, 28, 13)


# --- column types across the whole schema ---------------------------------------------

def test_every_timestamp_is_timezone_aware(db):
    naive = db.execute(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = 'public' AND data_type = 'timestamp without time zone'").fetchall()
    assert naive == []


def test_every_price_is_numeric_10_4(db):
    """A price is the domain `price` (exactly a numeric(10,4), 0..1: sql/0063), a fee numeric(10,4)."""
    price_columns = db.execute(
        "SELECT table_name, column_name, data_type, "
        "coalesce(numeric_precision, CASE domain_name WHEN 'price' THEN 10 END), "
        "coalesce(numeric_scale, CASE domain_name WHEN 'price' THEN 4 END) "
        "FROM information_schema.columns c JOIN information_schema.tables t USING (table_schema, table_name) "
        "WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE' AND ("
        "  column_name LIKE '%%price%%' OR column_name IN "
        "  ('yes_bid', 'yes_ask', 'no_bid', 'no_ask', 'settlement_value', 'fee_per_contract'))").fetchall()
    assert len(price_columns) >= 15
    wrong = [c for c in price_columns if c[2:] != ("numeric", 10, 4)]
    assert wrong == []


def test_floats_appear_only_in_elo_ratings(db):
    floats = db.execute(
        "SELECT c.table_name || '.' || c.column_name FROM information_schema.columns c "
        "JOIN information_schema.tables t USING (table_schema, table_name) "
        "WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE' "
        "AND c.data_type IN ('real', 'double precision')").fetchall()
    assert {r[0] for r in floats} == {
        "teams.current_elo_rating", "elo_rating_history.rating_before",
        "elo_rating_history.rating_after", "elo_rating_history.win_probability",
    }
