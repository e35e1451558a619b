"""HTTP plumbing shared by our clients (Kalshi and ESPN): sending, decoding, retrying.

Exponential backoff with jitter, bounded both in attempts and in total time, on errors the
caller marks as transient (:class:`TransientError`): HTTP 429, 5xx, connection resets,
timeouts, truncated bodies. Anything else (a 400, a 401, a 404) fails at once.

Built on tenacity rather than urllib3's ``Retry``: we need an attempt cap AND a wall-clock
cap together (``stop_after_attempt | stop_before_delay``), and we retry on our own typed
exceptions raised after the body was read (e.g. a 200 whose JSON is cut short), which
urllib3 never sees. Kalshi's 429 carries no ``Retry-After``, so the backoff is ours alone.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import requests
import tenacity

T = TypeVar("T")

PROJECT_URL = "https://github.com/precog-pipelines/precog-pipelines"


class TransientError(Exception):
    """Marker base class: the request may succeed if it is sent again."""


class TransportError(TransientError):
    """The connection failed, timed out or was cut before the whole body arrived."""


class MalformedBody(TransientError):
    """A success status whose body is not the JSON object the contract promises.

    Treated as transient: in practice it is a body cut short by a proxy or a reset, and a
    second request usually gets the whole of it (bounded by the retry policy anyway).
    """


def user_agent() -> str:
    """An honest User-Agent: who we are and where to read about it (ESPN refuses browser
    look-alikes and empty agents). ``PRECOG_HTTP_USER_AGENT`` overrides it."""
    configured = os.environ.get("PRECOG_HTTP_USER_AGENT", "").strip()
    if configured:
        return configured
    try:
        version = importlib.metadata.version("precog-pipelines")
    except importlib.metadata.PackageNotFoundError:
        version = "0"
    return f"precog-pipelines/{version} (+{PROJECT_URL}) python-requests/{requests.__version__}"


def json_session() -> requests.Session:
    """A connection-pooling session that announces us honestly and asks for JSON."""
    session = requests.Session()
    session.headers.update({"User-Agent": user_agent(), "Accept": "application/json"})
    return session


def send(session: requests.Session, method: str, url: str, *, timeout: float, **kwargs) -> requests.Response:
    """One HTTP exchange with the body fully read; network failures become :class:`TransportError`."""
    try:
        return session.request(method, url, timeout=timeout, **kwargs)
    except requests.Timeout:
        raise TransportError(f"no answer within {timeout:g} s") from None
    except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as error:
        raise TransportError(f"connection failed: {_short(error)}") from None


def json_object(response: requests.Response) -> dict:
    """The body of a success response as a JSON object, or :class:`MalformedBody`."""
    try:
        body = response.json()
    except ValueError:
        raise MalformedBody(
            f"HTTP {response.status_code} body is not valid JSON ({len(response.content)} bytes)"
        ) from None
    if not isinstance(body, dict):
        raise MalformedBody(f"HTTP {response.status_code} body is JSON {type(body).__name__}, not an object")
    return body


def _short(error: Exception, limit: int = 200) -> str:
    text = str(error)
    return text if len(text) <= limit else text[:limit] + "..."


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try before giving up.

    The wait before retry ``n`` (1-based) is ``min(initial * 2**(n-1) + U(0, jitter), max)``.
    No attempt starts after ``max_total_seconds`` from the first one, so the total time is at
    most that plus one request timeout.
    """

    max_attempts: int = 6
    max_total_seconds: float = 60.0
    initial_backoff_seconds: float = 0.5
    max_backoff_seconds: float = 10.0
    jitter_seconds: float = 0.5

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {self.max_attempts}")
        if self.max_total_seconds <= 0:
            raise ValueError(f"max_total_seconds must be positive, got {self.max_total_seconds}")


@dataclass(frozen=True)
class GaveUp:
    """What the caller needs to build its 'retries exhausted' error."""

    last_error: Exception
    attempts: int
    elapsed_seconds: float
    policy: RetryPolicy

    def describe(self) -> str:
        return (
            f"gave up after {self.attempts} attempt(s) in {self.elapsed_seconds:.1f} s "
            f"(limit {self.policy.max_attempts} attempts / {self.policy.max_total_seconds:g} s); "
            f"last error: {self.last_error}"
        )


def call_with_retries(
    send: Callable[[], T],
    *,
    policy: RetryPolicy,
    what: str,
    gave_up: Callable[[GaveUp], Exception],
    logger: logging.Logger,
) -> T:
    """Call ``send()`` until it returns, raises a non-transient error, or the policy runs out.

    ``what`` names the request in log lines (method and path, never headers). When the policy
    runs out, the exception built by ``gave_up`` is raised, chained to the last error.
    """
    started = time.monotonic()

    def log_retry(state: tenacity.RetryCallState) -> None:
        error = str(state.outcome.exception()) if state.outcome else ""
        wait = state.next_action.sleep if state.next_action else 0.0
        message = error if error.startswith(what) else f"{what}: {error}"
        logger.warning("%s; retry %d/%d in %.2f s", message, state.attempt_number, policy.max_attempts - 1, wait)

    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_attempt(policy.max_attempts) | tenacity.stop_before_delay(policy.max_total_seconds),
        wait=tenacity.wait_exponential_jitter(
            multiplier=policy.initial_backoff_seconds, max=policy.max_backoff_seconds, jitter=policy.jitter_seconds
        ),
        retry=tenacity.retry_if_exception_type(TransientError),
        before_sleep=log_retry,
        reraise=False,
    )
    try:
        return retrying(send)
    except tenacity.RetryError as exhausted:
        last_error = exhausted.last_attempt.exception()
        assert isinstance(last_error, Exception)
        report = GaveUp(
            last_error=last_error,
            attempts=exhausted.last_attempt.attempt_number,
            elapsed_seconds=time.monotonic() - started,
            policy=policy,
        )
        raise gave_up(report) from last_error
