"""The sandbox's portfolio side: accounts, V2 orders, fills, positions and settlements.

Orders trade against the world's current quotes: a buy (``bid``) crossing the ask walks the
ask levels (the top level is the market's ``yes_ask`` and size, four deeper levels one cent
apart), a sell (``ask``) walks the bids. Whatever does not fill rests (good_till_canceled) or
is cancelled (immediate_or_cancel; fill_or_kill fills all or nothing); a "market order" is an
immediate_or_cancel limit at 0.99 (buy) or 0.01 (sell), which walks the book. Resting orders fill at
their limit when later quotes cross them, and are cancelled when the market closes. The book
refreshes every simulated minute, and our fills never move it. Takers pay Kalshi's quadratic
fee, ``ceil_to_cent(0.07 * count * price * (1 - price))``; makers pay nothing (fee_type
``quadratic``). Finalized markets pay positions out at the settlement value.

Positions are signed YES counts (negative = NO). Buying NO by selling YES costs ``1 - price``
per contract, as on Kalshi.
"""

from __future__ import annotations

import itertools
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation
from typing import Any

from precog_pipelines.sandbox.kalshi_payloads import count as fp
from precog_pipelines.sandbox.kalshi_payloads import dollars, rfc3339
from precog_pipelines.sandbox.world import CENT, MarketState, SandboxWorld, unit

FEE_RATE = Decimal("0.07")
BOOK_DEPTH = 5
TIME_IN_FORCE = ("fill_or_kill", "good_till_canceled", "immediate_or_cancel")
SELF_TRADE_PREVENTION = ("taker_at_cross", "maker")


class ExchangeError(Exception):
    """An order request the exchange refuses: HTTP status, Kalshi error code and message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass
class OrderRecord:
    order_id: str
    client_order_id: str
    ticker: str
    side: str  # bid = buy YES, ask = sell YES
    limit: Decimal
    initial: Decimal
    time_in_force: str
    self_trade_prevention_type: str
    created: datetime
    updated: datetime
    expiration: datetime | None = None
    filled: Decimal = Decimal(0)
    remaining: Decimal = Decimal(0)
    status: str = "resting"
    taker_cost: Decimal = Decimal(0)
    maker_cost: Decimal = Decimal(0)
    taker_fees: Decimal = Decimal(0)
    maker_fees: Decimal = Decimal(0)


@dataclass
class PositionRecord:
    position: Decimal = Decimal(0)
    exposure: Decimal = Decimal(0)  # cost of the contracts held now
    realized: Decimal = Decimal(0)
    traded: Decimal = Decimal(0)
    fees: Decimal = Decimal(0)
    updated: datetime | None = None


@dataclass
class Account:
    balance: Decimal
    orders: dict[str, OrderRecord] = field(default_factory=dict)
    by_client_id: dict[str, str] = field(default_factory=dict)
    fills: list[dict] = field(default_factory=list)
    positions: dict[str, PositionRecord] = field(default_factory=dict)
    settlements: list[dict] = field(default_factory=list)


def taker_fee(contracts: Decimal, price: Decimal) -> Decimal:
    raw = FEE_RATE * contracts * price * (1 - price)
    return raw.quantize(CENT, rounding=ROUND_CEILING)


class SandboxExchange:
    """Portfolio state per API key id; thread-safe."""

    def __init__(self, world: SandboxWorld, initial_balance: Decimal) -> None:
        self.world = world
        self.initial_balance = initial_balance
        self._accounts: dict[str, Account] = {}
        self._ids = itertools.count(1)
        self._lock = threading.RLock()

    def _account(self, key_id: str) -> Account:
        if key_id not in self._accounts:
            self._accounts[key_id] = Account(balance=self.initial_balance)
        return self._accounts[key_id]

    # ---- time passing ------------------------------------------------------------------------

    def sync(self, now: datetime) -> None:
        """Fill or cancel resting orders and pay out finalized markets, as of ``now``."""
        with self._lock:
            for account in self._accounts.values():
                for order in account.orders.values():
                    if order.status == "resting":
                        self._work_resting(account, order, now)
                for ticker, position in list(account.positions.items()):
                    if position.position != 0:
                        self._settle_if_final(account, ticker, position, now)

    def _work_resting(self, account: Account, order: OrderRecord, now: datetime) -> None:
        state = self._state(order.ticker, now)
        if state.status != "active" or (order.expiration is not None and now >= order.expiration):
            order.status, order.remaining, order.updated = "canceled", Decimal(0), now
            return
        quotes = state.quotes
        crossing = quotes.yes_ask <= order.limit if order.side == "bid" else quotes.yes_bid >= order.limit
        available = quotes.yes_ask_size if order.side == "bid" else quotes.yes_bid_size
        if crossing and available > 0:
            quantity = min(order.remaining, available)
            self._fill(account, order, order.limit, quantity, taker=False, now=now)

    def _settle_if_final(self, account: Account, ticker: str, position: PositionRecord, now: datetime) -> None:
        state = self._state(ticker, now)
        if state.status != "finalized" or state.settlement_value is None:
            return
        value = state.settlement_value
        held = position.position
        payout = held * value if held > 0 else -held * (1 - value)
        account.balance += payout
        account.settlements.append({
            "event_ticker": state.spec.event_ticker,
            "exchange_index": 0,
            "fee_cost": "0.0000",
            "market_result": state.result,
            "no_count_fp": fp(-held if held < 0 else Decimal(0)),
            "no_total_cost_dollars": dollars(position.exposure if held < 0 else Decimal(0)),
            "revenue": int((payout * 100).to_integral_value(ROUND_FLOOR)),
            "settled_time": rfc3339(state.settlement_ts or now),
            "ticker": ticker,
            "value": int(value * 100),
            "yes_count_fp": fp(held if held > 0 else Decimal(0)),
            "yes_total_cost_dollars": dollars(position.exposure if held > 0 else Decimal(0)),
        })
        position.realized += payout - position.exposure
        position.position, position.exposure, position.updated = Decimal(0), Decimal(0), now

    def _state(self, ticker: str, now: datetime) -> MarketState:
        spec = self.world.market_spec(ticker)
        assert spec is not None
        return self.world.market_state(spec, now)

    # ---- orders ------------------------------------------------------------------------------

    def create_order(self, key_id: str, body: Any, now: datetime) -> dict:
        request = _validate_order(body)
        spec = self.world.market_spec(request["ticker"])
        if spec is None:
            raise ExchangeError(404, "not_found", "not found")
        with self._lock:
            self.sync(now)
            account = self._account(key_id)
            if request["client_order_id"] in account.by_client_id:
                raise ExchangeError(409, "order_already_exists", "an order with this client_order_id already exists")
            state = self.world.market_state(spec, now)
            if state.status != "active":
                raise ExchangeError(400, "MARKET_INACTIVE", f"market {spec.ticker} is {state.status}, not trading")
            side, limit, wanted = request["side"], request["price"], request["count"]
            plan = self._plan_fills(state, side, limit, wanted, now)
            fillable = sum((quantity for _, quantity in plan), Decimal(0))
            if request["post_only"] and plan:
                raise ExchangeError(400, "post_only_cross", "a post-only order would cross the book")
            if request["time_in_force"] == "fill_or_kill" and fillable < wanted:
                plan = []
            self._check_balance(account, spec.ticker, side, plan)
            order = OrderRecord(
                order_id=f"sbx-{next(self._ids):08d}",
                client_order_id=request["client_order_id"],
                ticker=spec.ticker,
                side=side,
                limit=limit,
                initial=wanted,
                remaining=wanted,
                time_in_force=request["time_in_force"],
                self_trade_prevention_type=request["self_trade_prevention_type"],
                created=now,
                updated=now,
                expiration=request["expiration"],
            )
            account.orders[order.order_id] = order
            account.by_client_id[order.client_order_id] = order.order_id
            for price, quantity in plan:
                self._fill(account, order, price, quantity, taker=True, now=now)
            # A buy takes from the asks, a sell from the bids.
            self.world.take_resting(spec.ticker, "ask" if side == "bid" else "bid", order.filled)
            if order.remaining > 0 and order.time_in_force != "good_till_canceled":
                order.status, order.remaining = "canceled", Decimal(0)
            fees = order.taker_fees + order.maker_fees
            response = {
                "client_order_id": order.client_order_id,
                "fill_count": fp(order.filled),
                "order_id": order.order_id,
                "remaining_count": fp(order.remaining),
                "ts_ms": int(now.timestamp() * 1000),
            }
            if order.filled:
                response["average_fill_price"] = dollars((order.taker_cost + order.maker_cost) / order.filled)
                response["average_fee_paid"] = dollars(fees / order.filled)
            return response

    def _plan_fills(
        self, state: MarketState, side: str, limit: Decimal, wanted: Decimal, now: datetime
    ) -> list[tuple[Decimal, Decimal]]:
        """(price, quantity) taken from the book, best level first, within the limit."""
        plan: list[tuple[Decimal, Decimal]] = []
        left = wanted
        for price, size in self._levels(state, side, now):
            crosses = price <= limit if side == "bid" else price >= limit
            if not crosses or left <= 0:
                break
            take = min(size, left)
            if take > 0:
                plan.append((price, take))
                left -= take
        return plan

    def _levels(self, state: MarketState, side: str, now: datetime) -> list[tuple[Decimal, Decimal]]:
        quotes = state.quotes
        top, size = (quotes.yes_ask, quotes.yes_ask_size) if side == "bid" else (quotes.yes_bid, quotes.yes_bid_size)
        step = CENT if side == "bid" else -CENT
        minute = int(now.timestamp() // 60)
        levels = []
        for depth in range(1 if quotes.resting_only else BOOK_DEPTH):
            price = top + step * depth
            if not CENT <= price <= 1 - CENT:
                break
            level_size = size if depth == 0 else Decimal(
                100 + int(unit(self.world.seed, state.spec.ticker, minute, side, depth) * 2000)
            )
            levels.append((price, level_size))
        return levels

    def _check_balance(self, account: Account, ticker: str, side: str, plan: list[tuple[Decimal, Decimal]]) -> None:
        position = account.positions.get(ticker, PositionRecord())
        held = position.position
        outlay = Decimal(0)
        for price, quantity in plan:
            cash, _ = _cash_flow(held, side, price, quantity)
            outlay -= cash
            outlay += taker_fee(quantity, price)
            held += quantity if side == "bid" else -quantity
        if outlay > account.balance:
            raise ExchangeError(
                400, "insufficient_balance", f"the order needs ${outlay:.2f}; the balance is ${account.balance:.2f}"
            )

    def _fill(self, account: Account, order: OrderRecord, price: Decimal, quantity: Decimal, *, taker: bool,
              now: datetime) -> None:
        position = account.positions.setdefault(order.ticker, PositionRecord())
        fee = taker_fee(quantity, price) if taker else Decimal(0)
        cash, closed = _cash_flow(position.position, order.side, price, quantity)
        average = position.exposure / abs(position.position) if position.position else Decimal(0)
        if closed:
            proceeds = closed * (price if order.side == "ask" else 1 - price)
            released = average * closed
            position.realized += proceeds - released
            position.exposure -= released
        opened = quantity - closed
        if opened:
            position.exposure += opened * (price if order.side == "bid" else 1 - price)
        position.position += quantity if order.side == "bid" else -quantity
        position.traded += quantity * price
        position.fees += fee
        position.updated = now
        account.balance += cash - fee
        order.filled += quantity
        order.remaining -= quantity
        order.updated = now
        if order.remaining == 0:
            order.status = "executed"
        if taker:
            order.taker_cost += quantity * price
            order.taker_fees += fee
        else:
            order.maker_cost += quantity * price
        fill_id = f"sbx-fill-{next(self._ids):08d}"
        outcome_side = "yes" if order.side == "bid" else "no"
        account.fills.append({
            "book_side": order.side,
            "count_fp": fp(quantity),
            "created_time": rfc3339(now),
            "exchange_index": 0,
            "fee_cost": dollars(fee),
            "fill_id": fill_id,
            "is_taker": taker,
            "market_ticker": order.ticker,
            "no_price_dollars": dollars(1 - price),
            "order_id": order.order_id,
            "outcome_side": outcome_side,
            "ticker": order.ticker,
            "trade_id": fill_id,
            "ts": int(now.timestamp()),
            "yes_price_dollars": dollars(price),
        })

    def cancel_order(self, key_id: str, order_id: str, now: datetime) -> dict:
        with self._lock:
            self.sync(now)
            order = self._account(key_id).orders.get(order_id)
            if order is None:
                raise ExchangeError(404, "not_found", "not found")
            if order.status != "resting":
                raise ExchangeError(409, "order_not_cancelable", f"order {order_id} is {order.status}")
            reduced = order.remaining
            order.status, order.remaining, order.updated = "canceled", Decimal(0), now
            return {"client_order_id": order.client_order_id, "order_id": order_id, "reduced_by": fp(reduced),
                    "ts_ms": int(now.timestamp() * 1000)}

    # ---- reads -----------------------------------------------------------------------------

    def order(self, key_id: str, order_id: str, now: datetime) -> dict:
        with self._lock:
            self.sync(now)
            order = self._account(key_id).orders.get(order_id)
            if order is None:
                raise ExchangeError(404, "not_found", "not found")
            return _order_payload(order)

    def orders(self, key_id: str, now: datetime, *, ticker: str | None, status: str | None) -> list[dict]:
        with self._lock:
            self.sync(now)
            return [
                _order_payload(order) for order in self._account(key_id).orders.values()
                if (ticker is None or order.ticker == ticker) and (status is None or order.status == status)
            ]

    def fills(self, key_id: str, now: datetime, *, ticker: str | None, order_id: str | None) -> list[dict]:
        with self._lock:
            self.sync(now)
            return [
                fill for fill in self._account(key_id).fills
                if (ticker is None or fill["ticker"] == ticker) and (order_id is None or fill["order_id"] == order_id)
            ]

    def settlements(self, key_id: str, now: datetime, *, ticker: str | None) -> list[dict]:
        with self._lock:
            self.sync(now)
            return [s for s in self._account(key_id).settlements if ticker is None or s["ticker"] == ticker]

    def positions(self, key_id: str, now: datetime, *, ticker: str | None) -> tuple[list[dict], list[dict]]:
        with self._lock:
            self.sync(now)
            markets, events = [], {}
            for name, position in sorted(self._account(key_id).positions.items()):
                if position.position == 0 or (ticker is not None and name != ticker):
                    continue
                markets.append({
                    "exchange_index": 0,
                    "fees_paid_dollars": dollars(position.fees),
                    "last_updated_ts": rfc3339(position.updated or now),
                    "market_exposure_dollars": dollars(position.exposure),
                    "position_fp": fp(position.position),
                    "realized_pnl_dollars": dollars(position.realized),
                    "ticker": name,
                    "total_traded_dollars": dollars(position.traded),
                })
                event = events.setdefault(name.rsplit("-", 1)[0], [Decimal(0)] * 4)
                for index, amount in enumerate(
                    (position.exposure, abs(position.position), position.realized, position.fees)
                ):
                    event[index] += amount
            event_positions = [
                {"event_exposure_dollars": dollars(e[0]), "event_ticker": name, "fees_paid_dollars": dollars(e[3]),
                 "realized_pnl_dollars": dollars(e[2]), "total_cost_dollars": dollars(e[0]),
                 "total_cost_shares_fp": fp(e[1])}
                for name, e in sorted(events.items())
            ]
            return markets, event_positions

    def balance(self, key_id: str, now: datetime) -> dict:
        with self._lock:
            self.sync(now)
            account = self._account(key_id)
            value = Decimal(0)
            for name, position in account.positions.items():
                if position.position:
                    quotes = self._state(name, now).quotes
                    mark = quotes.yes_bid if position.position > 0 else 1 - quotes.yes_ask
                    value += abs(position.position) * mark
            return {
                "balance": int((account.balance * 100).to_integral_value(ROUND_FLOOR)),
                "balance_dollars": dollars(account.balance),
                "portfolio_value": int((value * 100).to_integral_value(ROUND_FLOOR)),
                "updated_ts": int(now.timestamp()),
            }


def _cash_flow(held: Decimal, side: str, price: Decimal, quantity: Decimal) -> tuple[Decimal, Decimal]:
    """(cash received, contracts closed) for one fill against the position ``held``."""
    if side == "bid":  # buy YES: closes NO first (paid 1 - price back per pair), then opens YES
        closed = min(quantity, max(-held, Decimal(0)))
        return closed * (1 - price) - (quantity - closed) * price, closed
    closed = min(quantity, max(held, Decimal(0)))  # sell YES: closes YES first, then opens NO
    return closed * price - (quantity - closed) * (1 - price), closed


def _order_payload(order: OrderRecord) -> dict:
    outcome = "yes" if order.side == "bid" else "no"
    return {
        "action": "buy" if order.side == "bid" else "sell",
        "book_side": order.side,
        "cancel_order_on_pause": False,
        "client_order_id": order.client_order_id,
        "created_time": rfc3339(order.created),
        "exchange_index": 0,
        "expiration_time": rfc3339(order.expiration) if order.expiration else None,
        "fill_count_fp": fp(order.filled),
        "initial_count_fp": fp(order.initial),
        "last_update_time": rfc3339(order.updated),
        "maker_fees_dollars": dollars(order.maker_fees),
        "maker_fill_cost_dollars": dollars(order.maker_cost),
        "no_price_dollars": dollars(1 - order.limit),
        "order_group_id": None,
        "order_id": order.order_id,
        "outcome_side": outcome,
        "remaining_count_fp": fp(order.remaining),
        "self_trade_prevention_type": order.self_trade_prevention_type,
        "side": "yes",
        "status": order.status,
        "subaccount_number": 0,
        "taker_fees_dollars": dollars(order.taker_fees),
        "taker_fill_cost_dollars": dollars(order.taker_cost),
        "ticker": order.ticker,
        "type": "limit",
        "user_id": "sandbox-user",
        "yes_price_dollars": dollars(order.limit),
    }


def _validate_order(body: Any) -> dict:
    """The V2 create-order body, checked field by field (400 ``invalid_parameters`` otherwise)."""
    if not isinstance(body, dict):
        raise ExchangeError(400, "invalid_parameters", "the body must be a JSON object")

    def bad(field_name: str, why: str) -> ExchangeError:
        return ExchangeError(400, "invalid_parameters", f"{field_name}: {why}")

    ticker = body.get("ticker")
    if not isinstance(ticker, str) or not ticker:
        raise bad("ticker", "required")
    side = body.get("side")
    if side not in ("bid", "ask"):
        raise bad("side", "must be bid or ask")
    count = _decimal(body.get("count"), 2)
    if count is None or count <= 0:
        raise bad("count", "must be a positive fixed-point string with at most 2 decimals")
    price = _decimal(body.get("price"), 4)
    if price is None or not CENT <= price <= 1 - CENT or price % CENT:
        raise ExchangeError(400, "invalid_price", "invalid price: must be on the cent grid between 0.01 and 0.99")
    if body.get("time_in_force") not in TIME_IN_FORCE:
        raise bad("time_in_force", f"must be one of {', '.join(TIME_IN_FORCE)}")
    if body.get("self_trade_prevention_type") not in SELF_TRADE_PREVENTION:
        raise bad("self_trade_prevention_type", f"must be one of {', '.join(SELF_TRADE_PREVENTION)}")
    client_order_id = body.get("client_order_id") or f"sbx-auto-{uuid.uuid4()}"
    expiration = body.get("expiration_time")
    return {
        "ticker": ticker,
        "side": side,
        "count": count,
        "price": price,
        "time_in_force": body["time_in_force"],
        "self_trade_prevention_type": body["self_trade_prevention_type"],
        "client_order_id": str(client_order_id),
        "post_only": body.get("post_only") is True,
        "expiration": datetime.fromtimestamp(expiration, tz=UTC) if isinstance(expiration, int) else None,
    }


def _decimal(value: Any, places: int) -> Decimal | None:
    if not isinstance(value, str):
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        return None
    if not number.is_finite() or number.as_tuple().exponent < -places:
        return None
    return number
