"""A small client for ESPN's public NFL scoreboard (ESPN_API.md), with the shared retry policy.

ESPN is unauthenticated and undocumented: we send an honest User-Agent with a URL (browser
look-alikes get 403), ask for one US-Eastern day or one season week per call, send at most
two requests a second, and back off on 429/5xx/resets like the Kalshi client does.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from datetime import date
from typing import Any

from precog_pipelines.lib.espn.parse import (
    EspnError,
    GameState,
    TeamMapping,
    iter_event_payloads,
    parse_game_state,
    season_context,
)
from precog_pipelines.lib.kalshi.ratelimit import token_bucket_limiter
from precog_pipelines.lib.resilient_http import (
    GaveUp,
    RetryPolicy,
    TransientError,
    call_with_retries,
    json_object,
    json_session,
    send,
)
from precog_pipelines.lib.wire_values import short_text

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://site.api.espn.com/apis/site/v2/sports/football/nfl"
DEFAULT_REQUESTS_PER_SECOND = 2
# The scoreboards of one season, as (season type, week): the regular season (18 weeks since
# 2021) and the playoffs (1 Wild Card, 2 Divisional, 3 Conference, 5 Super Bowl; 4 is the
# Pro Bowl, which has no game that counts).
REGULAR_SEASON_WEEKS = 18
POSTSEASON_WEEKS = (1, 2, 3, 5)
SEASON_SCOREBOARDS = tuple((2, w) for w in range(1, REGULAR_SEASON_WEEKS + 1)) + tuple((3, w) for w in POSTSEASON_WEEKS)


class EspnHTTPError(EspnError):
    """ESPN answered with an error status that retrying cannot fix (e.g. 400, 403, 404)."""

    def __init__(self, status: int, url: str, body: str) -> None:
        self.status = status
        hint = " (ESPN refuses browser-like or empty User-Agents)" if status == 403 else ""
        super().__init__(f"GET {url}: HTTP {status}{hint}: {short_text(body, 200)}")


class EspnTransientHTTPError(EspnHTTPError, TransientError):
    """429 or 5xx: retried."""


class EspnRetryError(EspnError):
    """A transient failure persisted until the retry policy ran out."""

    def __init__(self, message: str, last_error: Exception) -> None:
        super().__init__(message)
        self.last_error = last_error


def espn_base_url(environ: Mapping[str, str] | None = None) -> str:
    """``ESPN_API_BASE_URL`` (e.g. the sandbox's) or ESPN's NFL site API."""
    env = os.environ if environ is None else environ
    return (env.get("ESPN_API_BASE_URL") or DEFAULT_BASE_URL).strip().rstrip("/")


class EspnClient:
    """Fetches NFL scoreboards. ``base_url`` ends in ``.../sports/football/nfl``."""

    def __init__(
        self,
        base_url: str | None = None,
        *,
        retry_policy: RetryPolicy | None = None,
        timeout_seconds: float = 15.0,
        requests_per_second: int = DEFAULT_REQUESTS_PER_SECOND,
    ) -> None:
        if requests_per_second < 1:
            raise ValueError(f"requests_per_second must be at least 1, got {requests_per_second}")
        self.base_url = (base_url or espn_base_url()).rstrip("/")
        self.retry_policy = retry_policy or RetryPolicy()
        self.timeout_seconds = timeout_seconds
        self._session = json_session()
        # ESPN publishes no limit; a backfill walks dozens of weeks, so it goes no faster
        # than this, retries included (one request at a time, no burst).
        self._limiter = token_bucket_limiter(requests_per_second, burst=1)

    def __enter__(self) -> EspnClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._session.close()
        self._limiter.close()

    def scoreboard_payload(
        self,
        *,
        day: date | None = None,
        season: int | None = None,
        season_type: int | None = None,
        week: int | None = None,
    ) -> dict:
        """The raw scoreboard: one US-Eastern ``day``, or one ``season``/``season_type``/``week``,
        or (no arguments) ESPN's current week."""
        if day is not None and season is not None:
            raise ValueError("ask for a day or for a season week, not both")
        if season is not None and (season_type is None or week is None):
            raise ValueError("a season week needs season, season_type and week")
        params: dict[str, Any] = {}
        if day is not None:
            params["dates"] = day.strftime("%Y%m%d")
        elif season is not None:
            params = {"dates": str(season), "seasontype": season_type, "week": week}
        return self._get("/scoreboard", params)

    def scoreboard(self, *, teams: TeamMapping | None = None, **query: Any) -> list[GameState]:
        """Parsed games of one scoreboard (raises on the first bad event; the ingestion asset
        parses :meth:`scoreboard_payload` event by event instead, to keep the good ones)."""
        payload = self.scoreboard_payload(**query)
        context = season_context(payload)
        return [parse_game_state(event, teams, season=context) for event in iter_event_payloads(payload)]

    def _get(self, path: str, params: dict[str, Any]) -> dict:
        url = self.base_url + path
        what = f"GET {url}"

        def attempt() -> dict:
            self._limiter.try_acquire("espn", blocking=True)
            response = send(self._session, "GET", url, timeout=self.timeout_seconds, params=params)
            if response.status_code == 429 or response.status_code >= 500:
                raise EspnTransientHTTPError(response.status_code, url, response.text)
            if response.status_code >= 400:
                raise EspnHTTPError(response.status_code, url, response.text)
            return json_object(response)

        def gave_up(report: GaveUp) -> Exception:
            return EspnRetryError(f"{what}: {report.describe()}", report.last_error)

        return call_with_retries(attempt, policy=self.retry_policy, what=what, gave_up=gave_up, logger=log)
