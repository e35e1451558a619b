"""Reconciliation: the exchange's account (the `exchange_*` tables) against the ledger.

Three comparisons, each naming the ticker and both numbers:

- ``holdings``, per market and side: contracts the exchange holds plus those it settled
  (``exchange_positions`` current versions, signed YES counts, and ``exchange_settlements``)
  against the ledger's live positions open or settled there. Counting settled contracts on both
  sides keeps the window between the exchange paying a market out and the settlement job booking
  it from looking like a difference.
- ``order_fills``, per exchange order id: contracts the exchange filled (``exchange_fills``)
  against the ledger's live trades with that ``external_order_id``.
- ``settlement``, per settled market and side, once both have booked it: contracts the exchange
  settled against the ledger's settled live positions; and ``settlement_value``, the payout per
  YES contract of each.

Only live positions and trades are compared: a paper trade never reaches the exchange.

Timing. The four portfolio lists are read one after another, and the ledger after them; an order
filled in between shows on one side only. A difference therefore fails the reconciliation only
when it is *confirmed*: seen in the previous reconciliation of the account too, or caused by an
order placed outside Precog. Precog records every order (``entry_orders``, ``exit_orders``, in its
own committed transaction) before sending it (issue 13, item 0), so an exchange order whose client
order id is in neither log was not sent by Precog, and no timing can explain it away.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg
import psycopg.rows
from psycopg.types.json import Jsonb

from precog_pipelines.lib import alerts
from precog_pipelines.lib.trading.breakers import halt_on_reconciliation_mismatch
from precog_pipelines.lib.trading.halts import TradingState

ALERT_COMPONENT = "reconciliation"
MAX_FILLS_SHOWN = 20
# The halt reason shows in sensors' skip reasons and the positions metadata: a few lines, not all.
MAX_NAMED_IN_HALT = 3

# Contracts each live position holds in the ledger: an open one its current quantity; a settled
# one what it held at settlement, its quantity (the whole position) less what its exits sold.
_LEDGER_HELD = """
SELECT p.ticker, p.side, p.status,
       CASE p.status WHEN 'settled' THEN p.quantity - coalesce(x.sold, 0) ELSE p.quantity END AS contracts
  FROM positions_current p
  LEFT JOIN (SELECT position_key, sum(quantity) AS sold FROM position_exits GROUP BY position_key) x
    ON x.position_key = p.position_key
 WHERE p.trading_mode = 'live'
"""

_HOLDINGS = """
WITH exchange AS (
    SELECT ticker, side, sum(contracts) AS contracts FROM (
        SELECT ticker, CASE WHEN position > 0 THEN 'yes' ELSE 'no' END AS side, abs(position) AS contracts
          FROM exchange_positions WHERE row_current_ind AND account_key = %(account)s AND position <> 0
        UNION ALL
        SELECT ticker, 'yes', yes_count FROM exchange_settlements WHERE account_key = %(account)s AND yes_count > 0
        UNION ALL
        SELECT ticker, 'no', no_count FROM exchange_settlements WHERE account_key = %(account)s AND no_count > 0
    ) held GROUP BY ticker, side
), ledger AS (
    SELECT ticker, side, sum(contracts) AS contracts FROM ({held}) ledger_held
     WHERE status IN ('open', 'settled') GROUP BY ticker, side
)
SELECT ticker, side, coalesce(e.contracts, 0) AS exchange, coalesce(l.contracts, 0) AS ledger
  FROM exchange e FULL JOIN ledger l USING (ticker, side)
 WHERE coalesce(e.contracts, 0) <> coalesce(l.contracts, 0)
 ORDER BY ticker, side
"""

_HOLDINGS = _HOLDINGS.replace("{held}", _LEDGER_HELD)

_ORDER_FILLS = """
WITH exchange AS (
    SELECT order_id, min(ticker) AS ticker, sum(count) AS contracts FROM exchange_fills
     WHERE account_key = %(account)s GROUP BY order_id
), ledger AS (
    SELECT external_order_id AS order_id, min(ticker) AS ticker, sum(quantity) AS contracts FROM trades
     WHERE trading_mode = 'live' AND external_order_id IS NOT NULL GROUP BY external_order_id
)
SELECT coalesce(e.ticker, l.ticker) AS ticker, order_id, coalesce(e.contracts, 0) AS exchange,
       coalesce(l.contracts, 0) AS ledger
  FROM exchange e FULL JOIN ledger l USING (order_id)
 WHERE coalesce(e.contracts, 0) <> coalesce(l.contracts, 0)
 ORDER BY ticker, order_id
"""

# Only markets both sides have booked as settled: before the ledger books one, its contracts are
# still open there and the holdings comparison covers them.
_SETTLEMENTS = """
WITH ledger AS (
    SELECT ticker, side, sum(contracts) AS contracts FROM ({held}) ledger_held
     WHERE status = 'settled' GROUP BY ticker, side
), sides AS (
    SELECT x.ticker, s.side, CASE s.side WHEN 'yes' THEN x.yes_count ELSE x.no_count END AS exchange,
           coalesce(l.contracts, 0) AS ledger
      FROM exchange_settlements x
      JOIN settlements b ON b.ticker = x.ticker
     CROSS JOIN (VALUES ('yes'), ('no')) s (side)
      LEFT JOIN ledger l ON l.ticker = x.ticker AND l.side = s.side
     WHERE x.account_key = %(account)s
)
SELECT ticker, side, exchange, ledger FROM sides WHERE exchange <> ledger ORDER BY ticker, side
"""

_SETTLEMENTS = _SETTLEMENTS.replace("{held}", _LEDGER_HELD)

_SETTLEMENT_VALUES = """
SELECT x.ticker, x.value AS exchange, b.settlement_value AS ledger
  FROM exchange_settlements x JOIN settlements b ON b.ticker = x.ticker
 WHERE x.account_key = %(account)s AND x.value IS NOT NULL AND x.value <> b.settlement_value
   AND EXISTS (SELECT 1 FROM positions_current p WHERE p.ticker = x.ticker AND p.trading_mode = 'live')
 ORDER BY x.ticker
"""

# Exchange orders that filled and whose client order id Precog never recorded before a send.
_FOREIGN_ORDERS = """
SELECT o.order_id, o.ticker FROM exchange_orders o
 WHERE o.row_current_ind AND o.account_key = %(account)s AND o.fill_count > 0
   AND NOT EXISTS (SELECT 1 FROM entry_orders e WHERE e.client_order_id = o.client_order_id)
   AND NOT EXISTS (SELECT 1 FROM exit_orders x WHERE x.client_order_id = o.client_order_id)
"""

_FILLS_BEHIND = """
SELECT f.fill_id, f.order_id, o.client_order_id, f.ticker, f.outcome_side, f.book_side, f.count, f.yes_price,
       f.created_time, EXISTS (SELECT 1 FROM trades t WHERE t.external_order_id = f.order_id) AS in_ledger
  FROM exchange_fills f
  LEFT JOIN exchange_orders o ON o.account_key = f.account_key AND o.order_id = f.order_id AND o.row_current_ind
 WHERE f.account_key = %(account)s AND f.ticker = ANY(%(tickers)s)
 ORDER BY f.ticker, f.created_time NULLS LAST, f.id
"""


@dataclass(frozen=True)
class Difference:
    """One disagreement: ``kind`` (holdings, order_fills, settlement, settlement_value), the
    market, ``key`` (the side, or the exchange order id), the exchange's and the ledger's number,
    the exchange's fills behind it and the orders among them placed outside Precog."""

    kind: str
    ticker: str
    key: str
    exchange: Decimal
    ledger: Decimal
    fills: tuple[dict[str, Any], ...] = ()
    foreign_orders: tuple[str, ...] = ()
    confirmed: bool = False

    @property
    def identity(self) -> str:
        """The same difference in another run (the numbers may have moved)."""
        return f"{self.kind}:{self.ticker}:{self.key}"

    def describe(self) -> str:
        what = {"holdings": "contracts held", "order_fills": "contracts filled by order",
                "settlement": "contracts settled", "settlement_value": "settlement value"}[self.kind]
        key = f"{self.key} " if self.kind != "order_fills" else f"order {self.key}, "
        foreign = f" (orders placed outside Precog: {', '.join(self.foreign_orders)})" if self.foreign_orders else ""
        return f"{self.ticker} {key}{what}: exchange {self.exchange}, ledger {self.ledger}{foreign}"

    def as_json(self) -> dict[str, Any]:
        return json.loads(json.dumps(asdict(self), default=str))


@dataclass(frozen=True)
class Reconciliation:
    """One comparison of the account with the ledger: every difference, and whether any is
    confirmed (which fails it)."""

    account_key: str
    trading_mode: str
    differences: tuple[Difference, ...] = ()
    checked_at: datetime | None = None
    id: int | None = None
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def confirmed(self) -> tuple[Difference, ...]:
        return tuple(d for d in self.differences if d.confirmed)

    @property
    def passed(self) -> bool:
        return not self.confirmed

    def summary(self) -> str:
        if not self.differences:
            return f"{self.account_key}: the exchange and the ledger agree"
        if self.passed:
            return (f"{self.account_key}: {len(self.differences)} difference(s) seen once, confirmed only if the "
                    f"next reconciliation sees them again: " + "; ".join(d.describe() for d in self.differences))
        return f"{self.account_key}: " + "; ".join(d.describe() for d in self.confirmed)


def _rows(conn: psycopg.Connection, query: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cursor:
        return cursor.execute(query, params).fetchall()


def find_differences(conn: psycopg.Connection, account_key: str) -> list[Difference]:
    """Every difference between the stored exchange account and the ledger, not yet confirmed."""
    params = {"account": account_key}
    found = [("holdings", r["ticker"], r["side"], r["exchange"], r["ledger"])
             for r in _rows(conn, _HOLDINGS, params)]
    found += [("order_fills", r["ticker"], r["order_id"], r["exchange"], r["ledger"])
              for r in _rows(conn, _ORDER_FILLS, params)]
    found += [("settlement", r["ticker"], r["side"], r["exchange"], r["ledger"])
              for r in _rows(conn, _SETTLEMENTS, params)]
    found += [("settlement_value", r["ticker"], "yes", r["exchange"], r["ledger"])
              for r in _rows(conn, _SETTLEMENT_VALUES, params)]
    if not found:
        return []
    foreign: dict[str, list[str]] = {}
    for order_id, ticker in conn.execute(_FOREIGN_ORDERS, params).fetchall():
        foreign.setdefault(ticker, []).append(order_id)
    fills: dict[str, list[dict[str, Any]]] = {}
    for fill in _rows(conn, _FILLS_BEHIND, params | {"tickers": sorted({f[1] for f in found})}):
        fills.setdefault(fill["ticker"], []).append(_plain(fill))
    differences = []
    for kind, ticker, key, exchange, ledger in found:
        behind = [f for f in fills.get(ticker, []) if kind != "order_fills" or f["order_id"] == key]
        outside = [o for o in foreign.get(ticker, []) if kind != "order_fills" or o == key]
        differences.append(Difference(kind, ticker, key, Decimal(exchange), Decimal(ledger),
                                      tuple(behind[-MAX_FILLS_SHOWN:]), tuple(outside)))
    return differences


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, datetime) else str(v) if isinstance(v, Decimal) else v)
            for k, v in row.items()}


def previous_identities(conn: psycopg.Connection, account_key: str) -> set[str]:
    """Identities of the differences the account's latest reconciliation found."""
    row = conn.execute("SELECT differences FROM reconciliations WHERE account_key = %s ORDER BY id DESC LIMIT 1",
                       (account_key,)).fetchone()
    return {f"{d['kind']}:{d['ticker']}:{d['key']}" for d in (row[0] if row else [])}


def reconcile(conn: psycopg.Connection, account_key: str, trading_mode: str,
              dagster_run_id: str | None = None) -> Reconciliation:
    """Compare, confirm against the previous run, and record the result (``reconciliations``),
    in the caller's transaction. Serialized per account, so two runs never confirm each other
    out of order."""
    conn.execute("SELECT pg_advisory_xact_lock(hashtextextended('precog.reconciliation.' || %s, 0))",
                 (account_key,))
    seen_before = previous_identities(conn, account_key)
    differences = tuple(
        Difference(d.kind, d.ticker, d.key, d.exchange, d.ledger, d.fills, d.foreign_orders,
                   confirmed=bool(d.foreign_orders) or d.identity in seen_before)
        for d in find_differences(conn, account_key))
    result = Reconciliation(account_key, trading_mode, differences)
    row = conn.execute(
        "INSERT INTO reconciliations (account_key, trading_mode, passed, differences, confirmed, dagster_run_id) "
        "VALUES (%s, %s, %s, %s, %s, %s) RETURNING id, checked_at",
        (account_key, trading_mode, result.passed, Jsonb([d.as_json() for d in differences]),
         len(result.confirmed), dagster_run_id)).fetchone()
    return Reconciliation(account_key, trading_mode, differences, row[1], row[0], _counts(conn, account_key))


def _counts(conn: psycopg.Connection, account_key: str) -> dict[str, int]:
    row = conn.execute(
        "SELECT (SELECT count(*) FROM exchange_positions WHERE row_current_ind AND account_key = %(a)s AND position <> 0),"
        " (SELECT count(*) FROM positions_current WHERE trading_mode = 'live' AND status = 'open'),"
        " (SELECT count(*) FROM exchange_fills WHERE account_key = %(a)s),"
        " (SELECT count(*) FROM trades WHERE trading_mode = 'live'),"
        " (SELECT count(*) FROM exchange_settlements WHERE account_key = %(a)s)",
        {"a": account_key}).fetchone()
    return dict(zip(("exchange_positions", "ledger_open_live_positions", "exchange_fills", "ledger_live_trades",
                     "exchange_settlements"), row, strict=True))


def alert_fingerprint(account_key: str) -> str:
    return alerts.fingerprint(ALERT_COMPONENT, account_key)


def act_on(conn: psycopg.Connection, result: Reconciliation) -> tuple[alerts.Alert | None, TradingState | None]:
    """A confirmed difference in live mode raises a critical alert naming it and halts new entries
    (exits go on: they sell what the exchange holds, and an exit the exchange refuses is an error
    of its own). In paper mode Precog sends nothing to the exchange: a difference there is a
    person's trading on the same account, so it is a warning, and paper trading goes on. A
    reconciliation that passes resolves the alert (trading stays halted until a person resumes)."""
    fingerprint = alert_fingerprint(result.account_key)
    if result.passed:
        alerts.resolve_alert(conn, fingerprint)
        return None, None
    live = result.trading_mode == "live"
    details = {"account": result.account_key, "reconciliation_id": result.id,
               "differences": [d.as_json() for d in result.confirmed]}
    alert = alerts.raise_alert(conn, "critical" if live else "warning", ALERT_COMPONENT,
                               f"reconciliation mismatch: {result.summary()}", fingerprint, details)
    if not live:
        return alert, None
    named = [d.describe() for d in result.confirmed[:MAX_NAMED_IN_HALT]]
    if len(result.confirmed) > MAX_NAMED_IN_HALT:
        named.append(f"and {len(result.confirmed) - MAX_NAMED_IN_HALT} more (reconciliation {result.id})")
    state = halt_on_reconciliation_mismatch(
        conn, "; ".join(named),
        {"account": result.account_key, "reconciliation_id": result.id})
    return alert, state


def run_reconciliation(conn: psycopg.Connection, dagster_run_id: str) -> Reconciliation | None:
    """The reconciliation the Dagster run recorded, as recorded (None when it recorded none)."""
    row = conn.execute("SELECT id, account_key, trading_mode, differences, checked_at FROM reconciliations "
                       "WHERE dagster_run_id = %s ORDER BY id DESC LIMIT 1", (dagster_run_id,)).fetchone()
    if row is None:
        return None
    differences = tuple(
        Difference(d["kind"], d["ticker"], d["key"], Decimal(d["exchange"]), Decimal(d["ledger"]), tuple(d["fills"]),
                   tuple(d["foreign_orders"]), d["confirmed"]) for d in row[3])
    return Reconciliation(row[1], row[2], differences, row[4], row[0], _counts(conn, row[1]))


def report_markdown(result: Reconciliation) -> str:
    """The differences, and the exchange fills behind each, as a markdown report for the UI."""
    if not result.differences:
        return f"The exchange account {result.account_key} and the ledger's live positions, trades and settlements agree."
    lines = ["| status | kind | ticker | side / order | exchange | ledger | placed outside Precog |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for d in result.differences:
        lines.append(f"| {'MISMATCH' if d.confirmed else 'seen once'} | {d.kind} | {d.ticker} | {d.key} | "
                     f"{d.exchange} | {d.ledger} | {', '.join(d.foreign_orders) or '-'} |")
    fills = {(f["fill_id"], d.ticker): f for d in result.differences for f in d.fills}
    if fills:
        lines += ["", "Exchange fills behind them:", "",
                  "| ticker | fill | order | client order id | outcome side | book side | count | yes price | time | in ledger |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
        for f in fills.values():
            lines.append(f"| {f['ticker']} | {f['fill_id']} | {f['order_id']} | {f['client_order_id'] or '-'} | "
                         f"{f['outcome_side']} | {f['book_side']} | {f['count']} | {f['yes_price']} | "
                         f"{f['created_time'] or '-'} | {'yes' if f['in_ledger'] else 'no'} |")
    return "\n".join(lines)
