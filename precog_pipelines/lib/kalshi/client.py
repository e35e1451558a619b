"""A synchronous Kalshi Trade API v2 client (requests + cryptography).

Every request goes through the same path: the token-bucket limiter (so a long crawl stays
under the tier's budget), fresh signed headers when the endpoint needs them, one HTTP
exchange, typed errors, and the shared retry policy for transient failures (429, 5xx,
resets, timeouts, truncated bodies). Lists are followed cursor by cursor to the end.

Market data comes two ways: ``*_payload(s)`` methods yield the raw JSON objects (what an
ingestion asset needs to route bad rows to a rejects table), the plain methods yield parsed
dataclasses and raise :class:`KalshiParseError` on the first bad object.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

import requests

from precog_pipelines.lib.kalshi.auth import KalshiSigner
from precog_pipelines.lib.kalshi.candles import CandleRequest
from precog_pipelines.lib.kalshi.errors import (
    KalshiConflictError,
    KalshiInputError,
    KalshiPaginationError,
    KalshiParseError,
    KalshiRateLimitError,
    KalshiRequestError,
    KalshiRetryError,
    error_from_response,
)
from precog_pipelines.lib.kalshi.models import (
    Balance,
    CancelResponse,
    Event,
    Fill,
    Market,
    MarketPosition,
    Order,
    OrderResponse,
    Series,
    Settlement,
)
from precog_pipelines.lib.kalshi.parse import (
    CANDLE_PERIODS,
    parse_balance,
    parse_cancel_response,
    parse_event,
    parse_fill,
    parse_market,
    parse_market_position,
    parse_order,
    parse_order_response,
    parse_series,
    parse_settlement,
)
from precog_pipelines.lib.kalshi.ratelimit import TIERS, KalshiRateLimiter
from precog_pipelines.lib.kalshi.settings import API_PREFIX, KalshiSettings, kalshi_settings_from_env
from precog_pipelines.lib.kalshi.tickers import ticker_problem
from precog_pipelines.lib.resilient_http import (
    GaveUp,
    RetryPolicy,
    TransportError,
    call_with_retries,
    json_object,
    json_session,
    send,
)
from precog_pipelines.lib.wire_values import short_text

log = logging.getLogger(__name__)

MARKETS_PAGE_LIMIT = 1000
EVENTS_PAGE_LIMIT = 200
PORTFOLIO_PAGE_LIMIT = 1000
DEFAULT_MAX_PAGES = 10_000
MARKET_STATUS_FILTERS = frozenset({"unopened", "open", "paused", "closed", "settled"})
ORDER_STATUS_FILTERS = frozenset({"resting", "canceled", "executed"})
# GET /markets timestamp filters: one family per request, each only with these status filters
# (KALSHI_API.md section 3.1; the exchange answers 400 to any other combination).
MARKET_TIMESTAMP_FAMILIES = {
    "close": (("min_close_ts", "max_close_ts"), frozenset({None, "closed"})),
    "settled": (("min_settled_ts", "max_settled_ts"), frozenset({None, "settled"})),
}
TIME_IN_FORCE = frozenset({"fill_or_kill", "good_till_canceled", "immediate_or_cancel"})


@dataclass
class ClientStats:
    """Counters since the client was created (read them for metadata and benchmarks)."""

    requests: int = 0
    rate_limited: int = 0
    server_errors: int = 0
    transport_errors: int = 0
    throttled_seconds: float = 0.0


class KalshiClient:
    """Talks to one Kalshi environment (or the sandbox) as one optional API key.

    Construct with :meth:`from_env` or with explicit :class:`KalshiSettings`. The private key
    is read on the first signed call, so public crawls need no credentials. Thread-safe; close
    it (or use it as a context manager) to release the HTTP connections.
    """

    def __init__(
        self,
        settings: KalshiSettings | None = None,
        *,
        retry_policy: RetryPolicy | None = None,
        rate_limiter: KalshiRateLimiter | None = None,
        max_pages: int = DEFAULT_MAX_PAGES,
    ) -> None:
        self.settings = settings or KalshiSettings()
        self.retry_policy = retry_policy or RetryPolicy()
        self._owns_limiter = rate_limiter is None
        self.rate_limiter = rate_limiter or KalshiRateLimiter(TIERS[self.settings.rate_tier])
        self.max_pages = max_pages
        self.stats = ClientStats()
        # The exchange's clock (HTTP Date) at the first successful response: incremental crawls
        # measure "since" on the clock that stamps close and settlement times, not on ours.
        self.first_response_date: datetime | None = None
        self._stats_lock = threading.Lock()
        self._signer_lock = threading.Lock()
        self._signer: KalshiSigner | None = None
        self._session = json_session()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **kwargs: Any) -> KalshiClient:
        """A client configured by the ``KALSHI_*`` environment variables."""
        return cls(kalshi_settings_from_env(environ), **kwargs)

    def __enter__(self) -> KalshiClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._session.close()
        if self._owns_limiter:
            self.rate_limiter.close()

    def __repr__(self) -> str:
        return f"KalshiClient(base_url={self.settings.base_url!r}, key_id={self.settings.api_key_id!r})"

    # ---- series, events, markets (public) ------------------------------------------------

    def get_series_payload(self, series_ticker: str) -> dict:
        return self._object(self._request("GET", f"/series/{_ticker_segment('series_ticker', series_ticker)}"), "series")

    def get_series(self, series_ticker: str) -> Series:
        return parse_series(self.get_series_payload(series_ticker))

    def list_series_payloads(self, *, category: str | None = None, tags: str | None = None) -> list:
        """``GET /series``: the whole catalogue (large on the real exchange; filter it)."""
        body = self._request("GET", "/series", params=_params(category=category, tags=tags))
        return self._list(body, "series", "/series")

    def iter_event_payloads(
        self, *, series_ticker: str | None = None, status: str | None = None, with_nested_markets: bool = False
    ) -> Iterator[Any]:
        """Every event matching the filters; ``status`` is a filter value (open, closed, ...)."""
        _check_status_filter(status)
        params = _params(
            series_ticker=_ticker_filter("series_ticker", series_ticker),
            status=status,
            with_nested_markets="true" if with_nested_markets else None,
            limit=EVENTS_PAGE_LIMIT,
        )
        return self._paginate("/events", "events", params)

    def iter_events(self, *, series_ticker: str | None = None, status: str | None = None) -> Iterator[Event]:
        for payload in self.iter_event_payloads(series_ticker=series_ticker, status=status):
            yield parse_event(payload)

    def get_event_payload(self, event_ticker: str) -> dict:
        return self._object(self._request("GET", f"/events/{_ticker_segment('event_ticker', event_ticker)}"), "event")

    def iter_market_payloads(
        self,
        *,
        series_ticker: str | None = None,
        event_ticker: str | None = None,
        status: str | None = None,
        tickers: list[str] | tuple[str, ...] | None = None,
        limit: int = MARKETS_PAGE_LIMIT,
        min_close_ts: int | None = None,
        max_close_ts: int | None = None,
        min_settled_ts: int | None = None,
        max_settled_ts: int | None = None,
    ) -> Iterator[Any]:
        """Every market matching the filters, page by page to the end.

        ``status`` takes one filter value: ``unopened``, ``open``, ``paused``, ``closed`` or
        ``settled`` (which match the response statuses of KALSHI_API.md section 7.1). The
        timestamp filters are Unix seconds; close ones go only with ``closed`` (or no status),
        settled ones only with ``settled``, and the two families never together.
        """
        _check_status_filter(status)
        timestamps = {"min_close_ts": min_close_ts, "max_close_ts": max_close_ts,
                      "min_settled_ts": min_settled_ts, "max_settled_ts": max_settled_ts}
        _check_timestamp_filters(status, timestamps)
        if not 1 <= limit <= MARKETS_PAGE_LIMIT:
            raise ValueError(f"limit must be between 1 and {MARKETS_PAGE_LIMIT}, got {limit}")
        params = _params(
            series_ticker=_ticker_filter("series_ticker", series_ticker),
            event_ticker=_ticker_filter("event_ticker", event_ticker),
            status=status,
            tickers=",".join(_ticker_filter("tickers", t) for t in tickers) if tickers else None,
            limit=limit,
            **timestamps,
        )
        return self._paginate("/markets", "markets", params)

    def iter_markets(self, **filters: Any) -> Iterator[Market]:
        """Parsed markets; same filters as :meth:`iter_market_payloads`."""
        for payload in self.iter_market_payloads(**filters):
            yield parse_market(payload)

    def get_market_payload(self, ticker: str) -> dict:
        return self._object(self._request("GET", f"/markets/{_ticker_segment('ticker', ticker)}"), "market")

    def get_market(self, ticker: str) -> Market:
        return parse_market(self.get_market_payload(ticker))

    def get_candlestick_payloads(self, request: CandleRequest) -> list:
        """The raw candles of one market and window (not paginated: one call per window)."""
        if request.period_interval not in CANDLE_PERIODS:
            raise ValueError(f"period_interval must be one of {sorted(CANDLE_PERIODS)}, got {request.period_interval}")
        path = (f"/series/{_ticker_segment('series_ticker', request.series_ticker)}"
                f"/markets/{_ticker_segment('ticker', request.ticker)}/candlesticks")
        body = self._request("GET", path, params={"start_ts": request.start_ts, "end_ts": request.end_ts,
                                                  "period_interval": request.period_interval})
        return self._list(body, "candlesticks", path)

    def get_exchange_status(self) -> dict:
        return self._request("GET", "/exchange/status")

    # ---- portfolio (signed) ----------------------------------------------------------------

    def get_balance(self) -> Balance:
        return parse_balance(self._request("GET", "/portfolio/balance", signed=True))

    def iter_settlement_payloads(
        self,
        *,
        ticker: str | None = None,
        event_ticker: str | None = None,
        min_ts: int | None = None,
        max_ts: int | None = None,
        limit: int = PORTFOLIO_PAGE_LIMIT,
    ) -> Iterator[Any]:
        """The portfolio's settlements as received (signed; ``min_ts``/``max_ts`` Unix seconds)."""
        params = _params(
            ticker=_ticker_filter("ticker", ticker), event_ticker=_ticker_filter("event_ticker", event_ticker),
            min_ts=min_ts, max_ts=max_ts, limit=_portfolio_limit(limit),
        )
        return self._paginate("/portfolio/settlements", "settlements", params, signed=True)

    def iter_settlements(self, **filters: Any) -> Iterator[Settlement]:
        """Parsed settlements; same filters as :meth:`iter_settlement_payloads`."""
        for payload in self.iter_settlement_payloads(**filters):
            yield parse_settlement(payload)

    def iter_position_payloads(
        self, *, ticker: str | None = None, event_ticker: str | None = None, limit: int = PORTFOLIO_PAGE_LIMIT
    ) -> Iterator[Any]:
        """Open (unsettled) market positions as received; the endpoint has no time filter."""
        params = _params(ticker=_ticker_filter("ticker", ticker), event_ticker=_ticker_filter("event_ticker", event_ticker),
                         limit=_portfolio_limit(limit))
        return self._paginate("/portfolio/positions", "market_positions", params, signed=True)

    def iter_positions(self, **filters: Any) -> Iterator[MarketPosition]:
        """Parsed open market positions; settled ones are in :meth:`iter_settlements`."""
        for payload in self.iter_position_payloads(**filters):
            yield parse_market_position(payload)

    def iter_fill_payloads(
        self,
        *,
        ticker: str | None = None,
        order_id: str | None = None,
        min_ts: int | None = None,
        max_ts: int | None = None,
        limit: int = PORTFOLIO_PAGE_LIMIT,
    ) -> Iterator[Any]:
        """The portfolio's fills as received (``min_ts``/``max_ts`` Unix seconds)."""
        params = _params(ticker=_ticker_filter("ticker", ticker), order_id=order_id, min_ts=min_ts, max_ts=max_ts,
                         limit=_portfolio_limit(limit))
        return self._paginate("/portfolio/fills", "fills", params, signed=True)

    def iter_fills(self, **filters: Any) -> Iterator[Fill]:
        """Parsed fills; same filters as :meth:`iter_fill_payloads`."""
        for payload in self.iter_fill_payloads(**filters):
            yield parse_fill(payload)

    def iter_order_payloads(
        self,
        *,
        ticker: str | None = None,
        status: str | None = None,
        min_ts: int | None = None,
        max_ts: int | None = None,
        limit: int = PORTFOLIO_PAGE_LIMIT,
    ) -> Iterator[Any]:
        """The portfolio's orders as received (``status`` resting/canceled/executed; ``min_ts``/``max_ts`` Unix seconds)."""
        if status is not None and status not in ORDER_STATUS_FILTERS:
            raise ValueError(f"order status filter must be one of {sorted(ORDER_STATUS_FILTERS)}, got {status!r}")
        params = _params(ticker=_ticker_filter("ticker", ticker), status=status, min_ts=min_ts, max_ts=max_ts,
                         limit=_portfolio_limit(limit))
        return self._paginate("/portfolio/orders", "orders", params, signed=True)

    def iter_orders(self, **filters: Any) -> Iterator[Order]:
        """Parsed orders; same filters as :meth:`iter_order_payloads`."""
        for payload in self.iter_order_payloads(**filters):
            yield parse_order(payload)

    def get_order(self, order_id: str) -> Order:
        return parse_order(self._object(self._request("GET", f"/portfolio/orders/{_segment(order_id)}", signed=True), "order"))

    def create_order(
        self,
        *,
        ticker: str,
        side: str,
        count: Decimal | int,
        price: Decimal,
        time_in_force: str,
        client_order_id: str | None = None,
        self_trade_prevention_type: str = "taker_at_cross",
        post_only: bool | None = None,
        reduce_only: bool | None = None,
        expiration_time: int | None = None,
    ) -> OrderResponse:
        """Place a V2 order on the YES book: ``side`` ``bid`` buys YES, ``ask`` sells YES.

        A ``client_order_id`` is always sent (a fresh UUID unless given), which makes the call
        idempotent: it is retried like any other request, and if a retry meets 409 because an
        earlier attempt did reach the exchange, the order that attempt created is returned.
        """
        if side not in ("bid", "ask"):
            raise ValueError(f"side must be 'bid' (buy YES) or 'ask' (sell YES), got {side!r}")
        if time_in_force not in TIME_IN_FORCE:
            raise ValueError(f"time_in_force must be one of {sorted(TIME_IN_FORCE)}, got {time_in_force!r}")
        client_order_id = client_order_id or str(uuid.uuid4())
        body = {
            "ticker": ticker,
            "side": side,
            "count": _count_text(count),
            "price": _price_text(price),
            "time_in_force": time_in_force,
            "self_trade_prevention_type": self_trade_prevention_type,
            "client_order_id": client_order_id,
        }
        body |= _params(post_only=post_only, reduce_only=reduce_only, expiration_time=expiration_time)
        try:
            response = self._request("POST", "/portfolio/events/orders", body=body, signed=True)
        except KalshiConflictError as conflict:
            existing = self._order_created_by_earlier_attempt(conflict, ticker, client_order_id)
            if existing is None:
                raise
            return existing
        return parse_order_response(response)

    def cancel_order(self, order_id: str) -> CancelResponse:
        return parse_cancel_response(self._request("DELETE", f"/portfolio/events/orders/{_segment(order_id)}", signed=True))

    def _order_created_by_earlier_attempt(
        self, conflict: KalshiConflictError, ticker: str, client_order_id: str
    ) -> OrderResponse | None:
        if conflict.attempt == 1:
            return None  # the caller reused a client_order_id: a real conflict
        for order in self.iter_orders(ticker=ticker):
            if order.client_order_id == client_order_id:
                log.warning("order %s: a retried create met 409; returning the order the first attempt placed",
                            client_order_id)
                filled_cost = order.taker_fill_cost + order.maker_fill_cost
                fees = order.taker_fees + order.maker_fees
                return OrderResponse(
                    order_id=order.order_id,
                    client_order_id=order.client_order_id,
                    fill_count=order.fill_count,
                    remaining_count=order.remaining_count,
                    average_fill_price=filled_cost / order.fill_count if order.fill_count else None,
                    average_fee_paid=fees / order.fill_count if order.fill_count else None,
                    ts=order.last_update_time or datetime.now(UTC),
                )
        return None

    # ---- plumbing ----------------------------------------------------------------------------

    def _signed_headers(self, method: str, url: str) -> dict[str, str]:
        with self._signer_lock:
            if self._signer is None:
                self._signer = KalshiSigner.from_file(self.settings.api_key_id, self.settings.private_key_path)
        return self._signer.headers(method, url)

    def _count(self, **increments: float) -> None:
        with self._stats_lock:
            for name, amount in increments.items():
                setattr(self.stats, name, getattr(self.stats, name) + amount)

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: dict[str, Any] | None = None,
        signed: bool = False,
    ) -> dict:
        """One API call with limiter, signature, retries and typed errors; returns the JSON body."""
        url = self.settings.base_url + path
        what = f"{method} {API_PREFIX}{path}"
        attempts = 0

        def attempt() -> dict:
            nonlocal attempts
            attempts += 1
            self._count(throttled_seconds=self.rate_limiter.acquire(method, path))
            headers = self._signed_headers(method, url) if signed else {}
            self._count(requests=1)
            try:
                response = send(
                    self._session, method, url, timeout=self.settings.timeout_seconds,
                    params=params, json=body, headers=headers, allow_redirects=False,
                )
            except TransportError:
                self._count(transport_errors=1)
                raise
            if 300 <= response.status_code < 400:
                raise KalshiRequestError(
                    response.status_code, method, API_PREFIX + path, "redirect",
                    f"unexpected redirect to {response.headers.get('Location')!r}; check KALSHI_API_BASE_URL",
                    None,
                )
            if response.status_code >= 400:
                error = error_from_response(response.status_code, method, API_PREFIX + path, _error_body(response))
                error.attempt = attempts
                if isinstance(error, KalshiRateLimitError):
                    self._count(rate_limited=1)
                elif response.status_code >= 500:
                    self._count(server_errors=1)
                raise error
            answer = json_object(response)
            if self.first_response_date is None:
                self.first_response_date = _http_date(response.headers.get("Date"))
            return answer

        def gave_up(report: GaveUp) -> Exception:
            return KalshiRetryError(f"{what}: {report.describe()}", report.last_error)

        return call_with_retries(attempt, policy=self.retry_policy, what=what, gave_up=gave_up, logger=log)

    def _paginate(self, path: str, key: str, params: dict[str, Any], *, signed: bool = False) -> Iterator[Any]:
        """Yield the items of every page; stop on an empty/missing cursor, fail on a repeat."""
        seen: set[str] = set()
        cursor: str | None = None
        pages = 0
        while True:
            page_params = params | ({"cursor": cursor} if cursor else {})
            body = self._request("GET", path, params=page_params, signed=signed)
            pages += 1
            yield from self._list(body, key, path)
            cursor = body.get("cursor")
            if not cursor:
                return
            if not isinstance(cursor, str):
                raise KalshiParseError("page", path, "cursor", cursor, "is not a string")
            if cursor in seen:
                raise KalshiPaginationError(
                    f"GET {API_PREFIX}{path}: the server sent cursor {short_text(cursor, 60)!r} a second time "
                    f"after {pages} page(s); stopped instead of looping"
                )
            if pages >= self.max_pages:
                raise KalshiPaginationError(
                    f"GET {API_PREFIX}{path}: more than {self.max_pages} pages; stopped (max_pages backstop)"
                )
            seen.add(cursor)

    @staticmethod
    def _list(body: dict, key: str, path: str) -> list:
        items = body.get(key)
        if items is None:
            return []
        if not isinstance(items, list):
            raise KalshiParseError("page", path, key, items, "is not a list")
        return items

    @staticmethod
    def _object(body: dict, key: str) -> dict:
        item = body.get(key)
        if not isinstance(item, dict):
            raise KalshiParseError(key, None, key, item, "is missing from the response or not an object")
        return item


def _params(**values: Any) -> dict[str, Any]:
    return {name: value for name, value in values.items() if value is not None}


def _portfolio_limit(limit: int) -> int:
    if not 1 <= limit <= PORTFOLIO_PAGE_LIMIT:
        raise ValueError(f"limit must be between 1 and {PORTFOLIO_PAGE_LIMIT}, got {limit}")
    return limit


def _ticker_filter(name: str, value: str | None) -> str | None:
    """A ticker filter, checked: an empty one would match every market of every series."""
    if value is not None and (problem := ticker_problem(value)):
        raise KalshiInputError(f"{name} {problem}")
    return value


def _ticker_segment(name: str, value: str) -> str:
    """A ticker as a URL path segment: checked, then encoded (so no value can climb to another path)."""
    _ticker_filter(name, value)
    return _segment(value)


def _segment(value: str) -> str:
    """Any identifier as one URL path segment: ``/``, ``..``'s slashes, ``?`` and ``%`` encoded."""
    return quote(str(value), safe="")


def _check_status_filter(status: str | None) -> None:
    if status is not None and status not in MARKET_STATUS_FILTERS:
        raise ValueError(
            f"status filter must be one of {sorted(MARKET_STATUS_FILTERS)} (response statuses such as "
            f"'active' map to 'open'), got {status!r}"
        )


def _check_timestamp_filters(status: str | None, timestamps: dict[str, int | None]) -> None:
    """Refuse, before any request, the combinations the exchange answers with a 400."""
    for name, value in timestamps.items():
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise ValueError(f"{name} must be Unix seconds (a non-negative int), got {value!r}")
    used = [family for family, (names, _) in MARKET_TIMESTAMP_FAMILIES.items()
            if any(timestamps[name] is not None for name in names)]
    if len(used) > 1:
        raise ValueError(f"GET /markets takes one timestamp filter family; got {' and '.join(used)} filters together")
    for family in used:
        low, high = (timestamps[name] for name in MARKET_TIMESTAMP_FAMILIES[family][0])
        if low is not None and high is not None and low > high:
            raise ValueError(f"min_{family}_ts {low} is after max_{family}_ts {high}")
    if used and status not in MARKET_TIMESTAMP_FAMILIES[used[0]][1]:
        allowed = sorted(s for s in MARKET_TIMESTAMP_FAMILIES[used[0]][1] if s)
        raise ValueError(f"{used[0]} timestamp filters go only with status {allowed} or none, got status={status!r}")


def _http_date(value: str | None) -> datetime | None:
    """An HTTP ``Date`` header as an aware datetime; None when absent or malformed."""
    if not value:
        return None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _error_body(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


def _count_text(count: Decimal | int) -> str:
    value = Decimal(count)
    if value <= 0 or value != value.quantize(Decimal("0.01")):
        raise ValueError(f"count must be positive with at most 2 decimals, got {count}")
    return f"{value.quantize(Decimal('0.01')):f}"


def _price_text(price: Decimal) -> str:
    value = Decimal(price)
    if not Decimal(0) < value < Decimal(1) or value != value.quantize(Decimal("0.0001")):
        raise ValueError(f"price must be between 0 and 1 dollars with at most 4 decimals, got {price}")
    return f"{value.quantize(Decimal('0.0001')):f}"

