"""The sandbox's Kalshi endpoints under ``/trade-api/v2``: request in, ``(status, body)`` out.

Lists use opaque cursors (unpadded base64 of the last key returned plus a fingerprint of the
filters; reusing a cursor with other filters is a 400) and end with ``"cursor": ""``. The
market ``status`` filter maps to response statuses as in KALSHI_API.md section 7.1, takes one
value only, and the timestamp filters refuse the documented wrong combinations with a 400.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from bisect import bisect_right
from collections.abc import Callable
from datetime import datetime
from typing import Any

from precog_pipelines.sandbox.candles import SAMPLE_MINUTES as CANDLE_PERIODS
from precog_pipelines.sandbox.candles import market_candles
from precog_pipelines.sandbox.exchange import ExchangeError, SandboxExchange
from precog_pipelines.sandbox.kalshi_payloads import event_payload, market_payload, series_payload
from precog_pipelines.sandbox.world import MarketState, SandboxWorld

STATUS_FILTERS: dict[str, frozenset[str]] = {
    "unopened": frozenset({"initialized"}),
    "open": frozenset({"active", "inactive"}),
    "paused": frozenset({"inactive"}),
    "closed": frozenset({"closed", "determined", "disputed", "amended"}),
    "settled": frozenset({"finalized"}),
}
# Timestamp filter families and the status filters each may be combined with (section 3.1).
TIMESTAMP_FAMILIES = {
    "created": ({"min_created_ts", "max_created_ts"}, {None, "unopened", "open"}),
    "close": ({"min_close_ts", "max_close_ts"}, {None, "closed"}),
    "settled": ({"min_settled_ts", "max_settled_ts"}, {None, "settled"}),
}
MARKETS_LIMIT = (100, 1000)
EVENTS_LIMIT = (200, 200)
PORTFOLIO_LIMIT = (100, 1000)

Response = tuple[int, dict]


class BadRequest(Exception):
    def __init__(self, message: str, code: str = "invalid_parameters") -> None:
        super().__init__(message)
        self.code = code


def error_body(code: str, message: str, details: str | None = None) -> dict:
    error = {"code": code, "message": message}
    if details:
        error["details"] = details
    return {"error": error}


NOT_FOUND: Response = (404, error_body("not_found", "not found"))


def _limit(query: dict[str, str], bounds: tuple[int, int]) -> int:
    default, maximum = bounds
    raw = query.get("limit")
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not 0 <= int(raw) <= maximum:
        raise BadRequest(f"limit must be an integer between 0 and {maximum}")
    return int(raw) or default


def _fingerprint(query: dict[str, str]) -> str:
    filters = sorted((k, v) for k, v in query.items() if k not in ("cursor", "limit"))
    return hashlib.sha1(json.dumps(filters).encode()).hexdigest()[:8]


def encode_cursor(position: Any, query: dict[str, str]) -> str:
    raw = json.dumps([position, _fingerprint(query)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(query: dict[str, str]) -> Any:
    cursor = query.get("cursor")
    if not cursor:
        return None
    try:
        position, fingerprint = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, TypeError):
        raise BadRequest("invalid cursor", "invalid_cursor") from None
    if fingerprint != _fingerprint(query):
        raise BadRequest("the cursor belongs to a request with other filters", "invalid_cursor")
    return position


def _status_filter(query: dict[str, str]) -> frozenset[str] | None:
    status = query.get("status")
    if not status:
        return None
    if "," in status:
        raise BadRequest("status accepts one value")
    if status not in STATUS_FILTERS:
        raise BadRequest(f"status must be one of {', '.join(STATUS_FILTERS)}")
    return STATUS_FILTERS[status]


def _timestamp_filter(query: dict[str, str]) -> Callable[[MarketState], bool]:
    used = [name for name, (params, _) in TIMESTAMP_FAMILIES.items() if params & query.keys()]
    if len(used) > 1:
        raise BadRequest(f"timestamp filters {' and '.join(used)} cannot be combined")
    if not used:
        return lambda state: True
    family = used[0]
    params, statuses = TIMESTAMP_FAMILIES[family]
    if (query.get("status") or None) not in statuses:
        raise BadRequest(f"{family} timestamp filters cannot be combined with status={query.get('status')}")
    bounds = {}
    for param in params & query.keys():
        if not query[param].isdigit():
            raise BadRequest(f"{param} must be Unix seconds")
        bounds[param] = int(query[param])

    def moment(state: MarketState) -> datetime | None:
        if family == "created":
            return state.spec.open_time
        return state.close_time if family == "close" else state.settlement_ts

    def keep(state: MarketState) -> bool:
        when = moment(state)
        if when is None:
            return False
        seconds = when.timestamp()
        low = bounds.get(f"min_{family}_ts")
        high = bounds.get(f"max_{family}_ts")
        return (low is None or seconds >= low) and (high is None or seconds <= high)

    return keep


def _page(keys: list[str], query: dict[str, str], limit: int, build: Callable[[str], dict | None]) -> dict:
    """Walk ``keys`` (sorted) after the cursor, collecting up to ``limit`` built items."""
    after = decode_cursor(query)
    start = bisect_right(keys, after) if after is not None else 0
    items: list[dict] = []
    last = None
    for position in range(start, len(keys)):
        item = build(keys[position])
        if item is not None:
            items.append(item)
            last = keys[position]
            if len(items) == limit:
                more = position + 1 < len(keys)
                return {"items": items, "cursor": encode_cursor(last, query) if more else ""}
    return {"items": items, "cursor": ""}


def get_markets(world: SandboxWorld, query: dict[str, str], now: datetime) -> Response:
    limit = _limit(query, MARKETS_LIMIT)
    statuses = _status_filter(query)
    in_window = _timestamp_filter(query)
    event_ticker = query.get("event_ticker") or None
    if event_ticker and "," in event_ticker:
        raise BadRequest("event_ticker accepts a single event ticker; use tickers= for several markets")
    if query.get("tickers"):
        wanted = {t for t in query["tickers"].split(",") if t}
        keys = sorted(t for t in wanted if world.market_spec(t) is not None)
    else:
        keys = world.market_tickers(series_ticker=query.get("series_ticker") or None, event_ticker=event_ticker)
    series = query.get("series_ticker") or None

    def build(ticker: str) -> dict | None:
        spec = world.market_spec(ticker)
        if spec is None or (series and spec.series_ticker != series) or (event_ticker and spec.event_ticker != event_ticker):
            return None
        state = world.market_state(spec, now)
        if statuses is not None and state.status not in statuses:
            return None
        return market_payload(state) if in_window(state) else None

    page = _page(keys, query, limit, build)
    return 200, {"cursor": page["cursor"], "markets": page["items"]}


def get_market(world: SandboxWorld, ticker: str, now: datetime) -> Response:
    spec = world.market_spec(ticker)
    if spec is None:
        return NOT_FOUND
    return 200, {"market": market_payload(world.market_state(spec, now))}


def _event_markets(world: SandboxWorld, event_ticker: str, now: datetime) -> list[MarketState]:
    event = world.event_spec(event_ticker)
    assert event is not None
    return [world.market_state(world.market_spec(t), now) for t in event.market_tickers]


def get_events(world: SandboxWorld, query: dict[str, str], now: datetime) -> Response:
    limit = _limit(query, EVENTS_LIMIT)
    statuses = _status_filter(query)
    nested = query.get("with_nested_markets") == "true"
    if query.get("tickers"):
        keys = sorted(t for t in set(query["tickers"].split(",")) if world.event_spec(t) is not None)
    else:
        keys = world.event_tickers(series_ticker=query.get("series_ticker") or None)

    def build(event_ticker: str) -> dict | None:
        states = _event_markets(world, event_ticker, now)
        if statuses is not None and not any(state.status in statuses for state in states):
            return None
        markets = [market_payload(state) for state in states] if nested else None
        return event_payload(world.event_spec(event_ticker), markets)

    page = _page(keys, query, limit, build)
    return 200, {"cursor": page["cursor"], "events": page["items"], "milestones": []}


def get_event(world: SandboxWorld, event_ticker: str, query: dict[str, str], now: datetime) -> Response:
    event = world.event_spec(event_ticker)
    if event is None:
        return NOT_FOUND
    markets = [market_payload(state) for state in _event_markets(world, event_ticker, now)]
    if query.get("with_nested_markets") == "true":
        return 200, {"event": event_payload(event, markets), "markets": []}
    return 200, {"event": event_payload(event), "markets": markets}


def get_series(world: SandboxWorld, ticker: str | None) -> Response:
    if ticker is None:
        return 200, {"series": [series_payload(world, t) for t in world.series_tickers()]}
    payload = series_payload(world, ticker)
    return (200, {"series": payload}) if payload else NOT_FOUND


def get_candlesticks(world: SandboxWorld, series_ticker: str, ticker: str, query: dict[str, str],
                     now: datetime) -> Response:
    spec = world.market_spec(ticker)
    if spec is None or spec.series_ticker != series_ticker:
        return NOT_FOUND
    bounds = {}
    for param in ("start_ts", "end_ts", "period_interval"):
        raw = query.get(param) or ""
        if not raw.isdigit():
            raise BadRequest(f"{param} is required and must be an integer")
        bounds[param] = int(raw)
    if bounds["period_interval"] not in CANDLE_PERIODS:
        raise BadRequest("period_interval must be 1, 60 or 1440")
    if bounds["start_ts"] > bounds["end_ts"]:
        raise BadRequest("start_ts must not be after end_ts")
    candles = market_candles(world, spec, bounds["period_interval"], bounds["start_ts"], bounds["end_ts"], now)
    return 200, {"ticker": ticker, "candlesticks": candles}


def exchange_status() -> Response:
    return 200, {"exchange_active": True, "trading_active": True, "exchange_estimated_resume_time": None}


def _offset_page(items: list[dict], query: dict[str, str], limit: int) -> tuple[list[dict], str]:
    start = decode_cursor(query) or 0
    if not isinstance(start, int) or start < 0:
        raise BadRequest("invalid cursor", "invalid_cursor")
    end = start + limit
    return items[start:end], encode_cursor(end, query) if end < len(items) else ""


def _within(items: list[dict], query: dict[str, str], field: str) -> list[dict]:
    """The items whose ``field`` (an RFC 3339 time) lies within ``min_ts``..``max_ts`` (Unix seconds, inclusive)."""
    bounds = {}
    for param in ("min_ts", "max_ts"):
        if raw := query.get(param):
            if not raw.isdigit():
                raise BadRequest(f"{param} must be Unix seconds")
            bounds[param] = int(raw)
    if not bounds:
        return items
    low, high = bounds.get("min_ts", 0), bounds.get("max_ts")

    def keep(item: dict) -> bool:
        seconds = datetime.fromisoformat(item[field]).timestamp()
        return seconds >= low and (high is None or seconds <= high)

    return [item for item in items if keep(item)]


PORTFOLIO_ROUTES = re.compile(r"^/portfolio/(balance|positions|fills|settlements|orders|orders/[^/]+|events/orders|events/orders/[^/]+)$")


def portfolio(exchange: SandboxExchange, key_id: str, method: str, path: str, query: dict[str, str],
              body: Any, now: datetime) -> Response:
    """Signed portfolio endpoints; ``path`` is relative to /trade-api/v2."""
    try:
        return _portfolio(exchange, key_id, method, path, query, body, now)
    except ExchangeError as refused:
        return refused.status, error_body(refused.code, refused.message)


def _portfolio(exchange: SandboxExchange, key_id: str, method: str, path: str, query: dict[str, str],
               body: Any, now: datetime) -> Response:
    limit = _limit(query, PORTFOLIO_LIMIT) if method == "GET" else 0
    ticker = query.get("ticker") or None
    if (method, path) == ("GET", "/portfolio/balance"):
        return 200, exchange.balance(key_id, now)
    if (method, path) == ("GET", "/portfolio/positions"):
        markets, events = exchange.positions(key_id, now, ticker=ticker)
        page, cursor = _offset_page(markets, query, limit)
        return 200, {"cursor": cursor, "event_positions": events, "market_positions": page}
    if (method, path) == ("GET", "/portfolio/fills"):
        fills = _within(exchange.fills(key_id, now, ticker=ticker, order_id=query.get("order_id")), query, "created_time")
        page, cursor = _offset_page(fills, query, limit)
        return 200, {"cursor": cursor, "fills": page}
    if (method, path) == ("GET", "/portfolio/settlements"):
        page, cursor = _offset_page(_within(exchange.settlements(key_id, now, ticker=ticker), query, "settled_time"),
                                    query, limit)
        return 200, {"cursor": cursor, "settlements": page}
    if (method, path) == ("GET", "/portfolio/orders"):
        orders = _within(exchange.orders(key_id, now, ticker=ticker, status=query.get("status") or None), query,
                         "created_time")
        page, cursor = _offset_page(orders, query, limit)
        return 200, {"cursor": cursor, "orders": page}
    if method == "GET" and path.startswith("/portfolio/orders/"):
        return 200, {"order": exchange.order(key_id, path.rsplit("/", 1)[1], now)}
    if (method, path) == ("POST", "/portfolio/events/orders"):
        return 201, exchange.create_order(key_id, body, now)
    if method == "DELETE" and path.startswith("/portfolio/events/orders/"):
        return 200, exchange.cancel_order(key_id, path.rsplit("/", 1)[1], now)
    return NOT_FOUND
