"""Fault injection: make chosen sandbox requests fail the way real servers fail.

A fault matches requests by path (an fnmatch pattern on the URL path, e.g.
``/trade-api/v2/markets`` or ``*/scoreboard``) and optionally method, and fires on the next
``count`` matching requests, or with a ``probability`` drawn from its own seeded generator
(both may be combined: at most ``count`` firings). ``skip`` lets that many matching requests
through untouched first (e.g. fail a crawl's second page, after its first one arrived). Kinds:

- before the request is handled: ``rate_limit`` (429 ``{"error":"too many requests"}``, no
  Retry-After), ``server_error`` (``status``, default 500), ``slow`` (sleeps
  ``delay_seconds``, then answers normally), ``reset`` (drops the connection with an RST);
- on a successful answer: ``truncate`` (announces the full length, sends half, closes),
  ``invalid_json`` (a complete response whose body is cut JSON), ``malform`` (sets ``field``,
  a dotted path, to ``value`` on the first item of the response's list, or on the item whose
  ticker/id is ``ticker``), ``repeat_cursor`` (echoes the request's cursor back; only fires
  on requests that carry one).
"""

from __future__ import annotations

import dataclasses
import fnmatch
import random
import threading
from dataclasses import dataclass
from typing import Any

BEFORE_KINDS = frozenset({"rate_limit", "server_error", "slow", "reset"})
AFTER_KINDS = frozenset({"truncate", "invalid_json", "malform", "repeat_cursor"})
KINDS = BEFORE_KINDS | AFTER_KINDS
LIST_KEYS = ("markets", "events", "series", "settlements", "fills", "orders", "market_positions", "candlesticks")
OBJECT_KEYS = ("market", "event", "series", "order")


@dataclass
class Fault:
    kind: str
    path: str = "*"
    method: str | None = None
    count: int | None = 1
    probability: float | None = None
    seed: int = 0
    status: int = 500
    delay_seconds: float = 2.0
    field: str = "yes_bid_dollars"
    value: Any = "abc"
    ticker: str | None = None
    skip: int = 0
    fired: int = 0
    skipped: int = 0
    _rng: random.Random = dataclasses.field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; one of {sorted(KINDS)}")
        if self.count is None and self.probability is None:
            raise ValueError("a fault needs a count, a probability, or both")
        if self.probability is not None and not 0 <= self.probability <= 1:
            raise ValueError(f"probability must be within 0..1, got {self.probability}")
        if self.skip < 0:
            raise ValueError(f"skip must not be negative, got {self.skip}")
        if self.kind == "server_error" and not 500 <= self.status <= 599:
            raise ValueError(f"a server_error status must be 5xx, got {self.status}")
        self._rng = random.Random(self.seed)

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method.upper() == method) and fnmatch.fnmatchcase(path, self.path)

    @property
    def exhausted(self) -> bool:
        return self.count is not None and self.fired >= self.count

    def describe(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_")}


class FaultInjector:
    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def describe(self) -> list[dict]:
        with self._lock:
            return [fault.describe() for fault in self._faults]

    def fire(self, kinds: frozenset[str], method: str, path: str, applies=lambda fault: True) -> Fault | None:
        """The first live fault of ``kinds`` that matches and fires now, marked as fired."""
        with self._lock:
            for fault in self._faults:
                if fault.kind not in kinds or fault.exhausted or not fault.matches(method, path):
                    continue
                if not applies(fault):
                    continue
                if fault.skipped < fault.skip:
                    fault.skipped += 1
                    continue
                if fault.probability is not None and fault._rng.random() >= fault.probability:
                    continue
                fault.fired += 1
                return fault
        return None


def malform(body: dict, fault: Fault) -> bool:
    """Apply a ``malform`` fault to a response body; False if it has nothing to malform."""
    target = None
    for key in LIST_KEYS:
        items = body.get(key)
        if isinstance(items, list) and items:
            wanted = [item for item in items if fault.ticker is None or _key_of(item) == fault.ticker]
            target = wanted[0] if wanted else None
            break
    else:
        for key in OBJECT_KEYS:
            if isinstance(body.get(key), dict) and (fault.ticker is None or _key_of(body[key]) == fault.ticker):
                target = body[key]
                break
    if target is None:
        return False
    set_path(target, fault.field, fault.value)
    return True


def _key_of(item: Any) -> Any:
    if not isinstance(item, dict):
        return None
    return item.get("ticker") or item.get("event_ticker") or item.get("id")


def set_path(obj: Any, dotted: str, value: Any) -> None:
    """Set ``a.b.0.c`` inside nested dicts and lists."""
    parts = dotted.split(".")
    for part in parts[:-1]:
        obj = obj[int(part)] if isinstance(obj, list) else obj.setdefault(part, {})
    last = parts[-1]
    if isinstance(obj, list):
        obj[int(last)] = value
    else:
        obj[last] = value
