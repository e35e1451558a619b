"""Kalshi connection settings, read from the environment when asked (never at import)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from precog_pipelines.lib.kalshi.errors import KalshiConfigError
from precog_pipelines.lib.kalshi.ratelimit import TIERS

API_PREFIX = "/trade-api/v2"

# KALSHI_API.md section 1: the recommended external-api hosts.
ENVIRONMENTS: dict[str, str] = {
    "demo": "https://external-api.demo.kalshi.co" + API_PREFIX,
    "prod": "https://external-api.kalshi.com" + API_PREFIX,
}
DEFAULT_ENVIRONMENT = "demo"


@dataclass(frozen=True)
class KalshiSettings:
    """Where and as whom to talk to Kalshi.

    ``base_url`` ends in ``/trade-api/v2`` (the signed path starts there). Credentials are
    optional: public market data needs none, portfolio calls need both.
    """

    environment: str = DEFAULT_ENVIRONMENT
    base_url: str = ENVIRONMENTS[DEFAULT_ENVIRONMENT]
    api_key_id: str | None = None
    private_key_path: Path | None = None
    rate_tier: str = "basic"
    timeout_seconds: float = 15.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "base_url", validate_base_url(self.base_url))
        if self.rate_tier not in TIERS:
            raise KalshiConfigError(
                f"KALSHI_RATE_TIER {self.rate_tier!r} is not one of {', '.join(TIERS)}"
            )

    @property
    def has_credentials(self) -> bool:
        return bool(self.api_key_id) and self.private_key_path is not None


def validate_base_url(url: str) -> str:
    """The base URL without a trailing slash, or a clear error.

    It must be http(s) and end in ``/trade-api/v2``: the signature covers the full path, and a
    missing or doubled prefix is the commonest cause of ``INCORRECT_API_KEY_SIGNATURE``.
    """
    cleaned = url.strip().rstrip("/")
    parts = urlsplit(cleaned)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise KalshiConfigError(f"KALSHI_API_BASE_URL {url!r} is not an http(s) URL")
    if parts.query or parts.fragment:
        raise KalshiConfigError(f"KALSHI_API_BASE_URL {url!r} must not carry a query or fragment")
    if not parts.path.endswith(API_PREFIX) or parts.path.count(API_PREFIX) != 1:
        raise KalshiConfigError(
            f"KALSHI_API_BASE_URL {url!r} must end in {API_PREFIX} exactly once "
            f"(e.g. {ENVIRONMENTS['demo']})"
        )
    return cleaned


def kalshi_settings(
    environment: str, base_url: str = "", api_key_id: str = "", private_key_path: str = "",
    rate_tier: str = "basic", *, timeout_seconds: float = 15.0,
) -> KalshiSettings:
    """Validated settings from their raw values ("" means not set: the environment's URL, no key)."""
    environment = environment.strip().lower() or DEFAULT_ENVIRONMENT
    if environment not in ENVIRONMENTS:
        raise KalshiConfigError(f"KALSHI_ENV {environment!r} is not one of {', '.join(ENVIRONMENTS)}")
    key_path = private_key_path.strip()
    try:
        expanded = Path(key_path).expanduser() if key_path else None
    except RuntimeError:  # "~someone/..." and no user someone
        raise KalshiConfigError(
            f"KALSHI_PRIVATE_KEY_PATH {key_path!r} starts with {key_path.split('/', 1)[0]!r}, a home folder of no "
            "user of this machine (give the full path)") from None
    return KalshiSettings(
        environment=environment,
        base_url=base_url.strip() or ENVIRONMENTS[environment],
        api_key_id=api_key_id.strip() or None,
        private_key_path=expanded,
        rate_tier=rate_tier.strip().lower() or "basic",
        timeout_seconds=timeout_seconds,
    )


def kalshi_settings_from_env(environ: Mapping[str, str] | None = None) -> KalshiSettings:
    """Settings from ``KALSHI_ENV``, ``KALSHI_API_BASE_URL``, ``KALSHI_API_KEY_ID``,
    ``KALSHI_PRIVATE_KEY_PATH`` and ``KALSHI_RATE_TIER`` (the CLI's way in; resources have fields)."""
    env = os.environ if environ is None else environ
    return kalshi_settings(env.get("KALSHI_ENV") or DEFAULT_ENVIRONMENT, env.get("KALSHI_API_BASE_URL") or "",
                           env.get("KALSHI_API_KEY_ID") or "", env.get("KALSHI_PRIVATE_KEY_PATH") or "",
                           env.get("KALSHI_RATE_TIER") or "basic")
