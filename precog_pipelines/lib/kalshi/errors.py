"""Typed errors of the Kalshi client.

Kalshi answers errors in two shapes (KALSHI_API.md section 10): ``{"error": {"code",
"message", "details"}}`` and, for 429, ``{"error": "too many requests"}``. Both become one of
the classes below. No message ever contains a key, a signature or a request header.
"""

from __future__ import annotations

import html
import re
from typing import Any

from precog_pipelines.lib.resilient_http import TransientError
from precog_pipelines.lib.wire_values import short_repr, short_text


class KalshiError(Exception):
    """Base class of everything the Kalshi client raises."""


class KalshiConfigError(KalshiError):
    """Missing or invalid configuration: environment, base URL, key id or key file."""


class KalshiInputError(KalshiError, ValueError):
    """An argument cannot go into a request (e.g. a ticker outside Kalshi's format); nothing was sent."""


class KalshiParseError(KalshiError, ValueError):
    """A payload field is missing or holds a value outside the contract.

    ``entity`` is the kind of object (market, event, ...), ``key`` its ticker or id, ``field``
    the offending field and ``value`` a short repr of what arrived.
    """

    def __init__(self, entity: str, key: str | None, field: str, value: Any, reason: str) -> None:
        self.entity = entity
        self.key = key
        self.field = field
        self.value = short_repr(value)
        self.reason = reason
        super().__init__(f"{entity} {key or '<unknown ticker>'}: field {field!r} {reason} (got {self.value})")


class KalshiPaginationError(KalshiError):
    """The server returned a cursor it had already returned, or more pages than the backstop."""


class KalshiRetryError(KalshiError):
    """A transient failure persisted until the retry policy ran out."""

    def __init__(self, message: str, last_error: Exception) -> None:
        super().__init__(message)
        self.last_error = last_error


class KalshiHTTPError(KalshiError):
    """The exchange answered with an error status."""

    def __init__(self, status: int, method: str, path: str, code: str | None, message: str, details: str | None):
        self.status = status
        self.method = method
        self.path = path
        self.code = code
        self.error_message = message
        self.details = details
        self.attempt = 1  # which attempt of a retried call got this answer
        super().__init__(self._describe())

    def _describe(self) -> str:
        text = f"{self.method} {self.path}: HTTP {self.status}"
        if self.code:
            text += f" {self.code}"
        if self.error_message and self.error_message != self.code:
            text += f": {self.error_message}"
        if self.details:
            text += f" ({short_text(self.details)})"
        return text


class KalshiRequestError(KalshiHTTPError):
    """A 4xx other than the ones below: the request itself is wrong; retrying cannot help."""


class KalshiAuthError(KalshiHTTPError):
    """401: the signature, key id or timestamp was refused."""

    def _describe(self) -> str:
        return (
            super()._describe()
            + ". Check KALSHI_API_KEY_ID and KALSHI_PRIVATE_KEY_PATH: the key id must belong to the"
            " private key, and demo and prod keys differ (KALSHI_ENV selects the environment)."
            " A wrong system clock also causes this (the signed timestamp is checked)."
        )


class KalshiPermissionError(KalshiHTTPError):
    """403: the key lacks the scope for this call (e.g. a read-only key placing an order)."""


class KalshiNotFound(KalshiHTTPError):
    """404: no such series, event, market or order."""


class KalshiConflictError(KalshiHTTPError):
    """409: the resource already exists (e.g. a reused client_order_id) or cannot change."""


class KalshiRateLimitError(KalshiHTTPError, TransientError):
    """429: the token bucket is empty; retried with backoff."""


class KalshiServerError(KalshiHTTPError, TransientError):
    """5xx: retried with backoff."""


_BY_STATUS: dict[int, type[KalshiHTTPError]] = {
    401: KalshiAuthError,
    403: KalshiPermissionError,
    404: KalshiNotFound,
    409: KalshiConflictError,
    429: KalshiRateLimitError,
}


def error_from_response(status: int, method: str, path: str, body: Any) -> KalshiHTTPError:
    """Build the typed error for an HTTP error status from its (already decoded) body.

    ``body`` may be the decoded JSON (either error shape), a string, or None.
    """
    code, message, details = _error_fields(body)
    if status >= 500:
        cls: type[KalshiHTTPError] = KalshiServerError
    else:
        cls = _BY_STATUS.get(status, KalshiRequestError)
    return cls(status, method, path, code, message, details)


def _error_fields(body: Any) -> tuple[str | None, str, str | None]:
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, str):
            return None, error, None
        if isinstance(error, dict):
            code = error.get("code")
            message = error.get("message") or code or ""
            details = error.get("details")
            return (
                str(code) if code is not None else None,
                short_text(str(message)),
                str(details) if details is not None else None,
            )
    if isinstance(body, str) and body.strip():
        return None, short_text(_one_line(body)), None
    return None, "", None


def _one_line(text: str) -> str:
    """A non-JSON error body (a proxy's or server's HTML page) as one line of its words."""
    return " ".join(html.unescape(_MARKUP.sub(" ", text)).split())


_MARKUP = re.compile(r"<[^>]*>")
