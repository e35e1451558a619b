"""Checks that the ledger is the account: against the sandbox exchange (live) or on its own (paper)."""

from __future__ import annotations

from collections import Counter

from precog_pipelines.lib.warehouse.server import connect


def exchange_and_ledger_agree(live: dict, warehouse_url: str) -> dict:
    """The sandbox exchange's orders, fills and positions (signed GETs) agree with the ledger: no
    client order id sent twice, every order recorded before it was sent, the filled orders are
    exactly the trades (quantity and exchange order id), the exchange's position per ticker is
    the ledger's open live positions, and every recorded order has exactly one outcome."""
    with live["kalshi"].client() as client:
        orders = list(client.iter_orders())
        fills = list(client.iter_fills())
        held = {p.ticker: p.position for p in client.iter_positions() if p.position}
    with connect(warehouse_url) as conn:
        trades = {row[0]: row[1:] for row in conn.execute(
            "SELECT client_order_id, quantity, external_order_id, purpose FROM trades")}
        ledger_held: Counter = Counter()
        for ticker, side, quantity in conn.execute(
                "SELECT ticker, side, quantity FROM positions_current WHERE status = 'open' AND trading_mode = 'live'"):
            ledger_held[ticker] += quantity if side == "yes" else -quantity
        entry_outcomes = conn.execute(
            "SELECT o.client_order_id, count(a.id) FROM entry_orders o LEFT JOIN entry_attempts a "
            "ON a.client_order_id = o.client_order_id GROUP BY 1").fetchall()
        exit_outcomes = conn.execute(
            "SELECT o.client_order_id, count(a.id) FROM exit_orders o LEFT JOIN exit_attempts a "
            "ON a.client_order_id = o.client_order_id GROUP BY 1").fetchall()
        recorded = {row[0] for row in conn.execute(
            "SELECT client_order_id FROM entry_orders UNION ALL SELECT client_order_id FROM exit_orders")}
    sent = [order.client_order_id for order in orders]
    assert len(sent) == len(set(sent)), f"a client order id reached the exchange twice: {sorted(sent)}"
    assert set(sent) <= recorded, "an order reached the exchange without being recorded first"
    filled = {order.client_order_id: order for order in orders if order.fill_count > 0}
    assert set(filled) == set(trades), (sorted(filled), sorted(trades))
    for client_order_id, order in filled.items():
        quantity, external_order_id, _ = trades[client_order_id]
        assert (quantity, external_order_id) == (order.fill_count, order.order_id), client_order_id
    assert sum(fill.count for fill in fills) == sum(order.fill_count for order in orders)
    assert held == {ticker: quantity for ticker, quantity in ledger_held.items() if quantity}, (held, ledger_held)
    assert all(count == 1 for _, count in entry_outcomes + exit_outcomes), (entry_outcomes, exit_outcomes)
    return {"orders": orders, "trades": trades, "held": held}


def paper_ledger_is_whole(warehouse_url: str) -> None:
    """A paper order has no exchange: every recorded order has exactly one outcome, each trade is
    one order's, and the paper cash is the seed minus what entries cost plus what exits paid."""
    with connect(warehouse_url) as conn:
        outcomes = conn.execute(
            "SELECT o.client_order_id, count(a.id) FROM entry_orders o LEFT JOIN entry_attempts a "
            "ON a.client_order_id = o.client_order_id GROUP BY 1 UNION ALL "
            "SELECT o.client_order_id, count(a.id) FROM exit_orders o LEFT JOIN exit_attempts a "
            "ON a.client_order_id = o.client_order_id GROUP BY 1").fetchall()
        filled = {row[0] for row in conn.execute(
            "SELECT client_order_id FROM entry_attempts WHERE outcome = 'filled' UNION ALL "
            "SELECT client_order_id FROM exit_attempts WHERE outcome IN ('filled', 'partially_filled')")}
        trades = [row[0] for row in conn.execute("SELECT client_order_id FROM trades")]
        seed, now = conn.execute(
            "SELECT (SELECT balance FROM account_balance WHERE account_key = 'kalshi:paper' ORDER BY id LIMIT 1), "
            "(SELECT balance FROM account_balance_current WHERE account_key = 'kalshi:paper')").fetchone()
        flows = conn.execute(
            "SELECT coalesce(sum(CASE WHEN purpose = 'entry' THEN -(quantity * price + fee) "
            "ELSE quantity * price - fee END), 0) FROM trades").fetchone()[0]
    assert outcomes and all(count == 1 for _, count in outcomes), outcomes
    assert sorted(trades) == sorted(filled) and len(trades) == len(set(trades))
    assert now == seed + flows
