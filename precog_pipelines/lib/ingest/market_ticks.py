"""Incremental Kalshi market crawls: each tick asks only for markets that can have changed.

A market's life runs unopened, open (or paused), closed (closed, determined, disputed,
amended), settled; settled (``finalized``) is terminal. A tick that knows when the previous
successful one started (its watermark, on the exchange's clock) asks, per series, with ``W`` =
the watermark less the overlap (:func:`tick_queries`):

1. ``min_close_ts=W``, no status: every market that closes at or after W, i.e. all unopened,
   open and paused ones (their close time is ahead) plus those closed since W;
2. ``status=closed``: the markets awaiting settlement, whenever they closed (one that closed
   before W still moves to determined, disputed or amended; the set is only the markets between
   game end and payout);
3. ``status=settled&min_settled_ts=W``: the markets settled since W, each fetched by one or two
   ticks (the overlap) and never again.

KALSHI_API.md section 3.1: ``status`` takes one value, close timestamps combine only with
``closed`` or no status, settled ones only with ``settled`` or none, never the two together;
the client refuses other combinations before any request.

The requests go in lifecycle order, so a market that moves on during the tick is found by a
later request (and the later copy, the newer state, is kept). A series with no watermark yet,
or a run asked for it, is crawled whole (every status, no filter): the daily full crawl that
catches whatever the ticks missed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import psycopg

from precog_pipelines.lib import alerts
from precog_pipelines.lib.wire_values import utc_timestamp

MARKETS_SOURCE = "kalshi_markets"  # its watermarks, and the component of its alerts
MISSED_FINGERPRINT = alerts.fingerprint(MARKETS_SOURCE, "missed_by_ticks")
MISSED_SAMPLE = 20
SETTLED_STATUS = "finalized"  # the response status the `settled` filter matches (section 7.1)


class MarketLister(Protocol):
    first_response_date: datetime | None

    def iter_market_payloads(self, **filters: Any) -> Iterable[Any]: ...


@dataclass(frozen=True)
class SeriesCrawl:
    """How one series was fetched: whole (``full``) or incrementally; ``settled_since`` is its
    tick window (watermark less overlap), None when it had no watermark yet."""

    series: str
    full: bool
    settled_since: datetime | None
    fetched: int


@dataclass(frozen=True)
class MarketCrawl:
    """One tick's markets (the newest copy of each ticker), the exchange time the tick started
    at (the next watermark), and per series how it was fetched. ``beyond_ticks`` names the
    settled markets of a full crawl that an incremental tick with the stored watermark would
    not have asked for: what the crawl can find that the ticks missed."""

    payloads: list[Any]
    started_at: datetime
    series: list[SeriesCrawl]
    beyond_ticks: set[str] = field(default_factory=set)

    @property
    def kind(self) -> str:
        """``full``, ``incremental``, or ``mixed`` (a series added since the last tick is crawled whole)."""
        kinds = {s.full for s in self.series}
        return "mixed" if len(kinds) > 1 else ("full" if True in kinds else "incremental")

    @property
    def checks_ticks(self) -> bool:
        """Whether a series with a watermark was crawled whole: then ``beyond_ticks`` means something."""
        return any(s.full and s.settled_since is not None for s in self.series)


def crawl_markets(client: MarketLister, series: Sequence[str], watermarks: Mapping[str, datetime],
                  overlap: timedelta, *, full: bool = False) -> MarketCrawl:
    """Fetch the markets of ``series`` that can have changed since each one's watermark (or all
    of them when ``full`` or when a series has no watermark)."""
    local_start = datetime.now(UTC)
    lists: list[list[Any]] = []
    crawls, beyond = [], set()
    for ticker in series:
        watermark = watermarks.get(ticker)
        since = watermark - overlap if watermark is not None else None
        if full or since is None:
            payloads = list(client.iter_market_payloads(series_ticker=ticker))
            if since is not None:
                beyond |= {_ticker(p) for p in payloads if _settled_before(p, since) and _ticker(p)}
            lists.append(payloads)
            crawls.append(SeriesCrawl(ticker, True, since, len(payloads)))
            continue
        queries = tick_queries(since)
        lists += [list(client.iter_market_payloads(series_ticker=ticker, **query)) for query in queries]
        crawls.append(SeriesCrawl(ticker, False, since, sum(len(p) for p in lists[-len(queries):])))
    # The exchange's Date at the first answer; our own clock only if it sent none.
    started_at = client.first_response_date or local_start
    return MarketCrawl(newest_copies(lists), started_at, crawls, beyond)


def tick_queries(since: datetime) -> list[dict[str, Any]]:
    """The GET /markets filters of one incremental tick from ``since``, in lifecycle order."""
    seconds = int(since.timestamp())  # whole seconds, rounded down: the window only widens
    return [{"min_close_ts": seconds}, {"status": "closed"}, {"status": "settled", "min_settled_ts": seconds}]


def newest_copies(lists: Sequence[Sequence[Any]]) -> list[Any]:
    """The payloads of ``lists`` (requested in lifecycle order) less any market a later list
    returned again: that copy is the newer state. Repeats inside one list (a page boundary
    moving under the crawl) are left for the ingestion to reject as usual."""
    kept: list[list[Any]] = []
    later: set[str] = set()
    for payloads in reversed(lists):
        kept.append([p for p in payloads if _ticker(p) not in later])
        later |= {t for t in map(_ticker, payloads) if t is not None}
    return [p for payloads in reversed(kept) for p in payloads]


def _ticker(payload: Any) -> str | None:
    key = payload.get("ticker") if isinstance(payload, Mapping) else None
    return key if isinstance(key, str) else None


def _settled_before(payload: Any, since: datetime) -> bool:
    """Whether an incremental tick from ``since`` would not ask for this market: settled
    earlier (or settled with no readable settlement time)."""
    if not isinstance(payload, Mapping) or payload.get("status") != SETTLED_STATUS:
        return False
    try:
        settled_at = utc_timestamp(payload.get("settlement_ts"))
    except ValueError:
        return True
    return settled_at is None or settled_at < since


def stored_at(conn: psycopg.Connection, tickers: set[str], observed_at: datetime) -> list[str]:
    """Which of ``tickers`` got a new current version (a new market, or a changed one) from the
    merge observed at ``observed_at``: for a full crawl's ``beyond_ticks``, what the ticks missed."""
    if not tickers:
        return []
    rows = conn.execute(
        "SELECT ticker FROM markets WHERE row_current_ind AND row_start_ts = %s AND ticker = ANY(%s) ORDER BY ticker",
        (observed_at, sorted(tickers)),
    ).fetchall()
    return [ticker for (ticker,) in rows]


def missed_message(missed: Sequence[str]) -> str:
    sample = ", ".join(missed[:5]) + (" ..." if len(missed) > 5 else "")
    return (f"the full market crawl stored {len(missed)} settled market(s) the incremental ticks had missed "
            f"({sample}); look for ticks that failed or a watermark moved by hand")
