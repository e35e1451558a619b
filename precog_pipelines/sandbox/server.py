"""The sandbox HTTP server: Kalshi and ESPN contracts on one local port, plus admin endpoints.

Built on the standard library's ``ThreadingHTTPServer`` (HTTP/1.1 keep-alive, one thread per
connection): the sandbox needs a dozen JSON routes and byte-level control over broken
responses (resets, truncated bodies), which a framework would only get in the way of.

Paths:
- ``/trade-api/v2/...``: Kalshi (public market data; signed ``/portfolio/...``).
- ``/apis/site/v2/sports/football/nfl/scoreboard``: ESPN.
- ``/_sandbox/...``: admin: clock, faults, quote overrides, keys, world, stats, served markets.

Each Kalshi request passes, in order: fault injection (before), the server-side token
bucket (429 at the configured tier, per API key id or anonymous), routing, signature check
on portfolio routes, the handler, fault injection (after).
"""

from __future__ import annotations

import json
import logging
import re
import socket
import struct
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from cryptography.hazmat.primitives.asymmetric import rsa

from precog_pipelines.lib.kalshi.ratelimit import TIERS, request_cost, token_bucket_limiter
from precog_pipelines.sandbox import kalshi_api
from precog_pipelines.sandbox.auth import AuthFailure, load_public_key, verify_request
from precog_pipelines.sandbox.clock import SandboxClock
from precog_pipelines.sandbox.espn_payloads import scoreboard_response
from precog_pipelines.sandbox.exchange import SandboxExchange
from precog_pipelines.sandbox.faults import AFTER_KINDS, BEFORE_KINDS, Fault, FaultInjector, malform
from precog_pipelines.sandbox.kalshi_payloads import rfc3339
from precog_pipelines.sandbox.world import Quotes, SandboxWorld

log = logging.getLogger(__name__)

KALSHI_PREFIX = "/trade-api/v2"
ESPN_PREFIX = "/apis/site/v2/sports/football/nfl"
TOO_MANY_REQUESTS = {"error": "too many requests"}


@dataclass
class SandboxConfig:
    """How to build a sandbox. ``start`` defaults to now (UTC, whole minute); ``speed`` is
    simulated seconds per real second (0 freezes the clock); ``api_keys`` maps key ids to RSA
    public keys (objects or PEM); ``rate_tier=None`` turns the server's token bucket off;
    ``kickoff_lead_minutes`` delays every kickoff, leaving a longer pre-game window."""

    seed: int = 7
    start: datetime | None = None
    speed: float = 60.0
    extra_markets: int = 0
    settled_markets: int = 0
    include_postponed: bool = True
    initial_balance: Decimal = Decimal("1000.00")
    rate_tier: str | None = "basic"
    timestamp_tolerance_seconds: float = 30.0
    api_keys: dict[str, Any] = field(default_factory=dict)
    kickoff_lead_minutes: int = 0


class SandboxServer:
    """A running (or startable) sandbox. Use as a context manager in tests::

        with SandboxServer(SandboxConfig(speed=0, api_keys={key_id: public_key})) as sandbox:
            client = KalshiClient(KalshiSettings(base_url=sandbox.kalshi_base_url, ...))
            sandbox.advance(3600)
    """

    def __init__(self, config: SandboxConfig | None = None, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.config = config or SandboxConfig()
        start = self.config.start or datetime.now(UTC).replace(second=0, microsecond=0)
        self.world = SandboxWorld(
            self.config.seed, start,
            extra_markets=self.config.extra_markets, include_postponed=self.config.include_postponed,
            kickoff_lead_minutes=self.config.kickoff_lead_minutes, settled_markets=self.config.settled_markets,
        )
        self.clock = SandboxClock(start, self.config.speed)
        self.exchange = SandboxExchange(self.world, self.config.initial_balance)
        self.faults = FaultInjector()
        self._keys: dict[str, rsa.RSAPublicKey] = {}
        for key_id, public_key in self.config.api_keys.items():
            self.register_key(key_id, public_key)
        self._limiters: dict[tuple[str, str], Any] = {}
        self._limiters_lock = threading.Lock()
        self._stats: Counter[str] = Counter()
        # How many Kalshi responses carried each market (tests and benchmarks count the requests
        # "about" a market); kept apart from the stats so /_sandbox/stats stays small.
        self._served: Counter[str] = Counter()
        self._stats_lock = threading.Lock()
        # Bounded: a long `precog sandbox` session must not grow without end.
        self._signatures: deque[str] = deque(maxlen=10_000)
        self._httpd = ThreadingHTTPServer((host, port), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    # ---- lifecycle ---------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def kalshi_base_url(self) -> str:
        return self.base_url + KALSHI_PREFIX

    @property
    def espn_base_url(self) -> str:
        return self.base_url + ESPN_PREFIX

    def start(self) -> SandboxServer:
        """Serve in a background daemon thread."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._httpd.serve_forever, name="precog-sandbox", daemon=True)
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until :meth:`stop` (from another thread) or Ctrl-C."""
        self._httpd.serve_forever()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        with self._limiters_lock:
            for limiter in self._limiters.values():
                limiter.close()
            self._limiters.clear()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # ---- controls (also reachable over HTTP under /_sandbox) ---------------------------------

    def now(self) -> datetime:
        return self.clock.now()

    def advance(self, seconds: float) -> datetime:
        return self.clock.advance(seconds)

    def set_time(self, at: datetime) -> datetime:
        return self.clock.set(at)

    def register_key(self, key_id: str, public_key: rsa.RSAPublicKey | bytes | str) -> None:
        self._keys[key_id] = load_public_key(public_key)

    def inject(self, kind: str, *, path: str = "*", count: int | None = 1, **options: Any) -> Fault:
        """Add a fault (see :mod:`.faults` for kinds and options)."""
        return self.faults.add(Fault(kind=kind, path=path, count=count, **options))

    def clear_faults(self) -> None:
        self.faults.clear()

    def set_quotes(
        self,
        ticker: str,
        *,
        yes_bid: Decimal | str,
        yes_ask: Decimal | str,
        yes_bid_size: Decimal | str = "1000",
        yes_ask_size: Decimal | str = "1000",
        last_price: Decimal | str | None = None,
        resting_only: bool = False,
    ) -> None:
        """Pin an active market's quotes until :meth:`clear_quotes` (scripted price moves).
        ``resting_only``: the book is only these two quotes, and orders use their sizes up
        (a bid of 40 sells 40 contracts once: how a test makes an exit fill in parts)."""
        bid, ask = Decimal(yes_bid), Decimal(yes_ask)
        if not Decimal("0") <= bid <= ask <= Decimal("1"):
            raise ValueError(f"quotes must satisfy 0 <= yes_bid <= yes_ask <= 1, got {bid} / {ask}")
        self.world.override_quotes(
            ticker, Quotes(bid, ask, Decimal(yes_bid_size), Decimal(yes_ask_size), Decimal(last_price or ask),
                           resting_only=bool(resting_only))
        )

    def clear_quotes(self, ticker: str | None = None) -> None:
        self.world.clear_override(ticker)

    def stats(self) -> dict[str, int]:
        with self._stats_lock:
            return dict(self._stats)

    def reset_stats(self) -> None:
        with self._stats_lock:
            self._stats.clear()
            self._served.clear()

    def served_markets(self) -> dict[str, int]:
        """Per market ticker, how many Kalshi responses since the last reset included it."""
        with self._stats_lock:
            return dict(self._served)

    def _count_served(self, payload: dict) -> None:
        markets = payload.get("markets")
        tickers = [m.get("ticker") for m in markets if isinstance(m, dict)] if isinstance(markets, list) else []
        if isinstance(payload.get("market"), dict):
            tickers.append(payload["market"].get("ticker"))
        if tickers:
            with self._stats_lock:
                self._served.update(t for t in tickers if t)

    def received_signatures(self) -> list[str]:
        """The last 10,000 KALSHI-ACCESS-SIGNATURE headers received, valid or not, in arrival order (tests
        search logs and tables for them: a signature must never leave the signing code)."""
        with self._stats_lock:
            return list(self._signatures)

    def record_signature(self, signature: str | None) -> None:
        if signature:
            with self._stats_lock:
                self._signatures.append(signature)

    def count(self, *names: str) -> None:
        with self._stats_lock:
            self._stats.update(names)

    def environment(self) -> dict[str, str]:
        """Variables pointing our clients at this sandbox (credentials come separately)."""
        return {"KALSHI_API_BASE_URL": self.kalshi_base_url, "ESPN_API_BASE_URL": self.espn_base_url}

    def describe_world(self) -> dict:
        """The schedule and outcomes, for tests and humans choosing a game to script."""
        games = []
        for game in self.world.games:
            home, away = game.final_score()
            games.append({
                "espn_id": game.espn_id,
                "away": game.away.espn_abbreviation,
                "home": game.home.espn_abbreviation,
                "kickoff": rfc3339(game.kickoff),
                "end": rfc3339(game.end) if game.end else None,
                "determined_at": rfc3339(game.determined_at) if game.determined_at else None,
                "finalized_at": rfc3339(game.finalized_at) if game.finalized_at else None,
                "postponed": game.postponed,
                "overtime": game.overtime,
                "final_score": None if game.postponed else {"home": home, "away": away},
                "winner": game.winner.espn_abbreviation if game.winner else None,
                "event_ticker": game.event_ticker,
                "markets": {team.espn_abbreviation: game.market_ticker(team) for team in game.teams},
            })
        return {"seed": self.world.seed, "start": rfc3339(self.world.start), "now": rfc3339(self.now()),
                "speed": self.clock.speed, "games": games, "extra_markets": self.world.extra_markets,
                "settled_markets": self.world.settled_markets}

    # ---- request pipeline ----------------------------------------------------------------------

    def _rate_limited(self, identity: str, method: str, path: str) -> bool:
        tier = self.config.rate_tier
        if tier is None:
            return False
        bucket, cost = request_cost(method, path)
        with self._limiters_lock:
            limiter = self._limiters.get((identity, bucket))
            if limiter is None:
                rates = TIERS[tier]
                limiter = token_bucket_limiter(rates.rate(bucket), rates.capacity(bucket))
                self._limiters[(identity, bucket)] = limiter
        return not limiter.try_acquire(bucket, weight=cost, blocking=False)

    def handle_kalshi(self, method: str, path: str, query: dict, headers: Any, body: Any) -> tuple[int, dict]:
        """Route one Kalshi request; ``path`` is relative to /trade-api/v2."""
        if self._rate_limited(headers.get("KALSHI-ACCESS-KEY") or "anonymous", method, path):
            self.count("rate_limited")
            return 429, TOO_MANY_REQUESTS
        now = self.clock.now()
        try:
            if path.startswith("/portfolio/"):
                return self._portfolio(method, path, query, headers, body, now)
            if method != "GET":
                return kalshi_api.NOT_FOUND
            status, payload = self._public(path, query, now)
            self._count_served(payload)
            return status, payload
        except kalshi_api.BadRequest as bad:
            return 400, kalshi_api.error_body(bad.code, str(bad))

    def _public(self, path: str, query: dict, now: datetime) -> tuple[int, dict]:
        world = self.world
        if path == "/markets":
            return kalshi_api.get_markets(world, query, now)
        if path == "/events":
            return kalshi_api.get_events(world, query, now)
        if path == "/series":
            return kalshi_api.get_series(world, None)
        if path == "/exchange/status":
            return kalshi_api.exchange_status()
        candles = re.fullmatch(r"/series/([^/]+)/markets/([^/]+)/candlesticks", path)
        if candles is not None:
            return kalshi_api.get_candlesticks(world, *candles.groups(), query, now)
        match = re.fullmatch(r"/(markets|events|series)/([^/]+)", path)
        if match is None:
            return kalshi_api.NOT_FOUND
        kind, key = match.groups()
        if kind == "markets":
            return kalshi_api.get_market(world, key, now)
        if kind == "events":
            return kalshi_api.get_event(world, key, query, now)
        return kalshi_api.get_series(world, key)

    def _portfolio(self, method: str, path: str, query: dict, headers: Any, body: Any, now: datetime):
        if (method, path) == ("POST", "/portfolio/orders"):
            return 400, kalshi_api.error_body("deprecated", "Please switch to the V2 endpoints")
        if not kalshi_api.PORTFOLIO_ROUTES.match(path):
            return kalshi_api.NOT_FOUND
        try:
            key_id = verify_request(
                headers, method, KALSHI_PREFIX + path, self._keys,
                now_ms=int(time.time() * 1000),
                tolerance_ms=int(self.config.timestamp_tolerance_seconds * 1000),
            )
        except AuthFailure as failure:
            self.count("auth_failures")
            return 401, kalshi_api.error_body(
                "authentication_error", "authentication_error", f"rpc error: code = Unauthenticated desc = {failure}"
            )
        return kalshi_api.portfolio(self.exchange, key_id, method, path, query, body, now)

    def handle_admin(self, method: str, path: str, body: Any) -> tuple[int, dict]:
        try:
            return self._admin(method, path, body)
        except (ValueError, KeyError, TypeError, InvalidOperation) as error:
            return 400, {"error": {"code": "invalid_parameters", "message": str(error)}}

    def _admin(self, method: str, path: str, body: Any) -> tuple[int, dict]:
        body = body if isinstance(body, dict) else {}
        if path in ("/_sandbox", "/_sandbox/world") and method == "GET":
            return 200, self.describe_world() | {"kalshi_base_url": self.kalshi_base_url,
                                                 "espn_base_url": self.espn_base_url}
        if path == "/_sandbox/clock":
            if method == "POST":
                if "speed" in body:
                    self.clock.set_speed(float(body["speed"]))
                if "advance_seconds" in body:
                    self.advance(float(body["advance_seconds"]))
                if "at" in body:
                    self.set_time(datetime.fromisoformat(str(body["at"])))
            return 200, {"now": rfc3339(self.now()), "speed": self.clock.speed}
        if path == "/_sandbox/faults":
            if method == "POST":
                fault = self.inject(**body)
                return 200, {"fault": fault.describe()}
            if method == "DELETE":
                self.clear_faults()
            return 200, {"faults": self.faults.describe()}
        match = re.fullmatch(r"/_sandbox/markets/([^/]+)/quotes", path)
        if match:
            if method == "DELETE":
                self.clear_quotes(match.group(1))
            else:
                self.set_quotes(match.group(1), **body)
            return 200, {"ticker": match.group(1)}
        if path == "/_sandbox/keys" and method == "POST":
            self.register_key(str(body["key_id"]), str(body["public_key_pem"]))
            return 200, {"key_id": body["key_id"]}
        if path == "/_sandbox/served" and method == "GET":
            return 200, {"served": self.served_markets()}
        if path == "/_sandbox/stats":
            if method == "DELETE":
                self.reset_stats()
            return 200, {"stats": self.stats()}
        return 404, kalshi_api.error_body("not_found", "not found")


def _handler_for(sandbox: SandboxServer) -> type[BaseHTTPRequestHandler]:
    class Handler(_SandboxHandler):
        pass

    Handler.sandbox = sandbox
    return Handler


class _SandboxHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "PrecogSandbox/1"
    # Headers and body go out in separate writes; without TCP_NODELAY, Nagle plus delayed ACKs
    # would add ~40 ms to every keep-alive request.
    disable_nagle_algorithm = True
    sandbox: SandboxServer

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def date_time_string(self, timestamp: float | None = None) -> str:
        # The Date header tells the sandbox's simulated time, as a real exchange's tells its own
        # clock: clients measure "since the last tick" on the clock that stamps the markets.
        return format_datetime(self.sandbox.now().astimezone(UTC), usegmt=True)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("sandbox: %s", format % args)  # request lines only; headers are never logged

    def _handle(self) -> None:
        try:
            self._dispatch()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (e.g. timed out on a slow fault)

    def _dispatch(self) -> None:
        sandbox = self.sandbox
        method = self.command
        parts = urlsplit(self.path)
        path = parts.path
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        body = self._read_body()
        sandbox.count("requests")
        sandbox.record_signature(self.headers.get("KALSHI-ACCESS-SIGNATURE"))  # before faults: they see it too
        if path.startswith("/_sandbox"):
            self._send(*sandbox.handle_admin(method, path, body))
            return
        if path != "/" and path.endswith("/"):  # Kalshi redirects trailing slashes
            self._redirect(path.rstrip("/"))
            return
        before = sandbox.faults.fire(BEFORE_KINDS, method, path)
        if before is not None:
            sandbox.count(f"fault_{before.kind}")
            if before.kind == "reset":
                self._reset()
                return
            if before.kind == "rate_limit":
                self._send(429, TOO_MANY_REQUESTS)
                return
            if before.kind == "server_error":
                self._send(before.status, kalshi_api.error_body("internal_server_error", "internal server error"))
                return
            time.sleep(before.delay_seconds)  # slow: then answer normally
        if path.startswith(KALSHI_PREFIX + "/"):
            status, payload = sandbox.handle_kalshi(method, path[len(KALSHI_PREFIX):], query, self.headers, body)
        elif path == ESPN_PREFIX + "/scoreboard" and method == "GET":
            status, payload = self._espn(query)
        else:
            status, payload = kalshi_api.NOT_FOUND
        if status >= 300:
            self._send(status, payload)
            return
        after = sandbox.faults.fire(AFTER_KINDS, method, path, lambda fault: self._applies(fault, payload, query))
        if after is not None:
            sandbox.count(f"fault_{after.kind}")
            if after.kind == "malform":
                malform(payload, after)
            elif after.kind == "repeat_cursor":
                payload["cursor"] = query["cursor"]
        self._send(status, payload, truncate=after is not None and after.kind == "truncate",
                   cut_json=after is not None and after.kind == "invalid_json")

    def _espn(self, query: dict) -> tuple[int, dict]:
        agent = self.headers.get("User-Agent", "")
        if not agent or agent.startswith("Mozilla/"):  # ESPN refuses browser look-alikes (ESPN_API.md)
            return 403, {"code": 403, "message": "Forbidden"}
        return scoreboard_response(self.sandbox.world, query, self.sandbox.now())

    @staticmethod
    def _applies(fault: Fault, payload: dict, query: dict) -> bool:
        if fault.kind == "repeat_cursor":
            return bool(query.get("cursor")) and "cursor" in payload
        if fault.kind == "malform":
            return malform(json.loads(json.dumps(payload)), fault)  # dry run on a copy
        return True

    def _read_body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        if not length:
            return None
        raw = self.rfile.read(length)
        try:
            return json.loads(raw)
        except ValueError:
            return raw.decode(errors="replace")

    def _send(self, status: int, payload: dict, *, truncate: bool = False, cut_json: bool = False) -> None:
        self.sandbox.count(f"status_{status}")
        data = json.dumps(payload, separators=(",", ":")).encode()
        if cut_json:
            data = data[: len(data) // 2]
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if truncate:
            self.wfile.write(data[: len(data) // 2])
            self.close_connection = True
            return
        self.wfile.write(data)

    def _redirect(self, location: str) -> None:
        self.send_response(301)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _reset(self) -> None:
        """Abort the connection with an RST (SO_LINGER 0), answering nothing."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()


def start_sandbox(config: SandboxConfig | None = None, *, host: str = "127.0.0.1", port: int = 0) -> SandboxServer:
    """Build a sandbox and serve it in a background thread (``precog dev`` uses this)."""
    return SandboxServer(config, host=host, port=port).start()
