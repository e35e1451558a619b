"""Every setting Precog reads from the environment, declared once: name, default, meaning, and
what values it accepts.

The registry feeds the resources' defaults (``defs/resources.py`` binds a setting's variable only
when it is set), `precog env` and `precog dev` (which export the settings the code location
reads), and the README's configuration table (a test keeps them equal). `validate_settings` is
called once at every start (`precog dev`, `precog env`, every CLI command, the code location's
load): a bad value is refused in one line naming the variable, the value and what is accepted,
before anything starts.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from precog_pipelines.lib.kalshi.ratelimit import TIERS
from precog_pipelines.lib.kalshi.tickers import TICKER_FORMAT, ticker_problem
from precog_pipelines.lib.warehouse.urls import redact_url
from precog_pipelines.lib.wire_values import short_repr

DEFAULT_HOME = ".precog"


class SettingError(ValueError):
    """A setting holds a value Precog cannot use; the message names it, its value and what is accepted."""


@dataclass(frozen=True)
class Setting:
    """One environment variable. ``default`` is what an unset (or empty) variable means;
    ``shown_default`` says it in the README when the literal is not the whole story.
    ``code_location`` settings are bound to resources or read by definitions: `precog dev`
    and `precog env` export them (the caller's value, else the default) to Dagster's processes."""

    name: str
    default: str
    meaning: str
    code_location: bool = False
    shown_default: str | None = None
    choices: tuple[str, ...] = ()
    check: Callable[[str], str | None] | None = None  # returns why the value is wrong, or None
    path: bool = False  # a file or folder: relative to the directory the command was started in

    def value(self, environ: Mapping[str, str] | None = None) -> str:
        """The variable's value, or the default when unset or empty."""
        env = os.environ if environ is None else environ
        return (env.get(self.name) or "").strip() or self.default

    def problem(self, value: str) -> str | None:
        """Why ``value`` cannot be used, naming the variable, the value and what is accepted."""
        reason = self.reason(value)
        return f"{self.name} {reason}" if reason else None

    def reason(self, value: str) -> str | None:
        """Why ``value`` cannot be used, naming the value and what is accepted (not the variable:
        an option taking the same value says its own name)."""
        if self.choices and value not in self.choices:
            return f"{value!r} is not one of {', '.join(self.choices)}"
        reason = self.check(value) if self.check and value else None
        return f"{_shown(value)} {reason}" if reason else None


def _shown(value: str) -> str:
    """A value as an error message may show it: URLs without their passwords."""
    return repr(redact_url(value)) if "://" in value else repr(value[:200])


def _http_url(value: str) -> str | None:
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 (raises on a bad port)
    except ValueError:
        return "is not a valid URL (check the host and that the port is a number from 1 to 65535)"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "is not an http(s) URL (e.g. https://host/path)"
    return None


def http_url_problem(value: str) -> str | None:
    """Why ``value`` is not an http(s) URL (without showing it), or None."""
    return _http_url(value)


def _alert_routing_file(value: str) -> str | None:
    from precog_pipelines.lib.alert_routing import routing_problem

    if problem := _user_path(value):
        return problem
    problem = routing_problem(value)
    return f"is not a usable alert routing file: {problem}" if problem else None


def _kalshi_base_url(value: str) -> str | None:
    from precog_pipelines.lib.kalshi.errors import KalshiConfigError
    from precog_pipelines.lib.kalshi.settings import validate_base_url

    if problem := _http_url(value):
        return problem
    try:
        validate_base_url(value)
    except KalshiConfigError as error:
        return str(error).replace(f"KALSHI_API_BASE_URL {value!r} ", "")
    return None


def _database_url(value: str) -> str | None:
    from precog_pipelines.lib.warehouse.urls import InvalidDatabaseUrl, libpq_problem, named_database

    try:
        name = named_database(value)
    except InvalidDatabaseUrl as error:
        return str(error).removeprefix("database URL ")
    if not name:
        return "names no database (postgresql://user:password@host:port/database)"
    return libpq_problem(value)


def _user_path(value: str) -> str | None:
    """A path whose ``~user`` (if any) names a user of this machine."""
    try:
        Path(value).expanduser()
    except RuntimeError:
        return f"starts with {value.split('/', 1)[0]!r}, a home folder of no user of this machine (give the full path)"
    return None


def _key_id(value: str) -> str | None:
    from precog_pipelines.lib.kalshi.auth import key_id_problem

    return key_id_problem(value)


def _series_tickers(value: str) -> str | None:
    tickers = [t.strip() for t in value.split(",")]
    bad = [t for t in tickers if ticker_problem(t)]
    return f"holds {short_repr(bad[0], 60)}, not a Kalshi series ticker ({TICKER_FORMAT})" if bad else None


def _whole_number(of: str = "") -> Callable[[str], str | None]:
    """A check for a whole number from 1 to 999999 (``of`` names its unit in the error)."""
    def check(value: str) -> str | None:
        return None if re.fullmatch(r"[1-9][0-9]{0,5}", value) else f"is not a whole number{of} from 1 to 999999"
    return check


_positive_minutes = _whole_number(" of minutes")
_positive_count = _whole_number()


def _folder(value: str) -> str | None:
    if problem := _user_path(value):
        return problem
    return None if Path(value).expanduser().is_dir() else "is not a folder"


SETTINGS: tuple[Setting, ...] = (
    Setting("PRECOG_DATABASE_URL", "", "`postgresql://user:pass@host:port/db` of the warehouse (PostgreSQL 14+). "
            "Unset, `precog` starts an embedded PostgreSQL (the `pgserver` wheel) under `$PRECOG_HOME/pgdata` and "
            "reuses it on the next start.", shown_default="unset: embedded server", check=_database_url),
    Setting("PRECOG_HOME", DEFAULT_HOME, "Embedded database, Dagster's instance home (`dagster_home/`) and logs.",
            shown_default="`.precog/` in the current directory", check=_user_path, path=True),
    Setting("DAGSTER_PG_URL", "", "Dagster's own run, event-log and schedule storage (read by `dagster.yaml`). "
            "`precog dev` puts it in a `precog_dagster` database beside the warehouse.",
            shown_default="set by `precog dev`", check=_database_url),
    Setting("DAGSTER_HOME", "", "Folder holding `dagster.yaml`; `precog dev` uses `$PRECOG_HOME/dagster_home`.",
            shown_default="set by `precog dev`", check=_user_path, path=True),
    Setting("PRECOG_TEST_DATABASE_URL", "", "Server the tests create their throw-away databases on.",
            shown_default="unset: embedded server", check=_database_url),
    Setting("PRECOG_BENCH_DATABASE_URL", "", "Server the `bench/` scripts create their throw-away databases on.",
            shown_default="unset: `PRECOG_DATABASE_URL`'s server, else embedded", check=_database_url),
    Setting("PRECOG_SQL_DIR", "", "Where `precog db` finds the migrations.",
            shown_default="`sql/` of the checkout, else the copy inside the installed package", check=_folder, path=True),
    Setting("KALSHI_ENV", "demo", "Kalshi environment: `demo` (external-api.demo.kalshi.co) or `prod` "
            "(external-api.kalshi.com). API keys belong to one environment.", code_location=True,
            choices=("demo", "prod")),
    Setting("KALSHI_API_BASE_URL", "", "Overrides the Kalshi base URL, e.g. the sandbox's "
            "`http://127.0.0.1:8765/trade-api/v2`. Must end in `/trade-api/v2` (it is part of the signed path).",
            code_location=True, shown_default="the `KALSHI_ENV` host + `/trade-api/v2`", check=_kalshi_base_url),
    Setting("KALSHI_API_KEY_ID", "", "Kalshi API key id; needed for portfolio calls (balance, orders, fills, "
            "positions, settlements), not for market data.", code_location=True, shown_default="unset",
            check=_key_id),
    Setting("KALSHI_PRIVATE_KEY_PATH", "", "PEM file of that key's RSA private key (PKCS#1 or PKCS#8, "
            "unencrypted). Only its path ever appears in messages.", code_location=True, shown_default="unset",
            check=_user_path, path=True),
    Setting("KALSHI_RATE_TIER", "basic", "Usage tier the client-side token buckets follow (`basic`, `advanced`, "
            "`expert`, `premier`, `paragon`, `prime`, `prestige`).", code_location=True, choices=tuple(TIERS)),
    Setting("ESPN_API_BASE_URL", "", "Overrides ESPN's NFL site API, e.g. the sandbox's "
            "`http://127.0.0.1:8765/apis/site/v2/sports/football/nfl`.", code_location=True,
            shown_default="`https://site.api.espn.com/apis/site/v2/sports/football/nfl`", check=_http_url),
    Setting("PRECOG_HTTP_USER_AGENT", "", "User-Agent of the Kalshi and ESPN clients (ESPN refuses browser-like "
            "and empty ones).", shown_default="`precog-pipelines/<version> (+<project URL>) python-requests/<version>`"),
    Setting("PRECOG_ELO_HISTORY_DIR", "", "Folder replacing the shipped `games_1920_2020.csv`, "
            "`games_2021_2025.csv`, `initial_elos.csv`, `season_overrides.csv` and `closing_lines_1979_2025.csv` "
            "(same names and columns), read by `elo_ratings`, `closing_lines`, `model_evaluation` and "
            "`strategy_backtests`.", code_location=True, shown_default="empty: the NFL history shipped in the package",
            check=_folder, path=True),
    Setting("PRECOG_DATA", "sandbox", "What `precog dev` reads: `sandbox` (the local exchange) or `live` (Kalshi "
            "per `KALSHI_*`, and ESPN).", choices=("sandbox", "live")),
    Setting("PRECOG_KALSHI_SERIES", "KXNFLGAME", "Comma-separated Kalshi series the ingestion loads.",
            code_location=True, check=_series_tickers),
    Setting("PRECOG_KALSHI_TICK_OVERLAP_MINUTES", "5", "Incremental market ticks ask for markets settled since "
            "the previous successful tick started, less this many minutes (a late settlement timestamp is still "
            "caught); the daily full crawl catches anything older.", code_location=True, check=_positive_minutes),
    Setting("PRECOG_TRADING_MODE", "paper", "`paper` simulates fills at the current executable price; `live` "
            "sends orders to Kalshi (demo unless `KALSHI_ENV=prod`).", code_location=True, choices=("paper", "live")),
    Setting("PRECOG_ALERT_WEBHOOK_URL", "", "The shipped alert routing file's `webhook` channel: alerts of "
            "severity error and critical are POSTed here as JSON (alert_id, severity, component, message, "
            "fingerprint, occurrences, details).", code_location=True, shown_default="empty: no webhook",
            check=_http_url),
    Setting("PRECOG_ALERT_ROUTING_FILE", "", "YAML file mapping alert severity and component to channels (log, "
            "JSON-lines file, webhook, Slack-compatible webhook, SMTP email), with the deduplication window and "
            "retries; validated whole at every start. Format: the shipped "
            "`precog_pipelines/lib/alert_routing.yaml`.", code_location=True,
            shown_default="empty: the shipped `alert_routing.yaml`", check=_alert_routing_file, path=True),
    Setting("PRECOG_MARKET_STALL_MINUTES", "30", "Market data is stalled when no new market version has been "
            "stored for this many minutes while a market is open: `market_data_stall_sensor` then raises a critical "
            "alert (the `alerts` table and the webhook), resolved when data flows again.", code_location=True,
            check=_positive_minutes),
    Setting("PRECOG_HALT_AFTER_ORDER_ERRORS", "5", "Circuit breaker: this many failed order requests in a row "
            "(entries and exits, counted from `entry_attempts` and `exit_attempts`; a success or a resume starts the "
            "count again) halt trading until `precog trading resume`.", code_location=True, check=_positive_count),
    Setting("PRECOG_HALT_STALE_MARKET_MINUTES", "30", "Circuit breaker: no new market version for this many "
            "minutes while a market is open and positions are open halts trading (checked by "
            "`position_exit_sensor` and before each `positions` run) until `precog trading resume`.",
            code_location=True, check=_positive_minutes),
    Setting("PRECOG_DEV_AUTOMATION", "0", "`1` starts every schedule and sensor (the Elo daily schedule too) in "
            "the RUNNING state when the definitions load, and runs them at `precog dev`'s faster cadences.",
            code_location=True, shown_default="unset: schedules and sensors stopped; `precog dev` sets `1`",
            choices=("0", "1")),
)
SETTINGS_BY_NAME = {s.name: s for s in SETTINGS}


def setting(name: str) -> Setting:
    return SETTINGS_BY_NAME[name]


def setting_problem(name: str, value: str) -> str | None:
    """Why ``value`` cannot be the value of setting ``name`` (without naming the variable), or None."""
    return SETTINGS_BY_NAME[name].reason(value)


def setting_value(name: str, environ: Mapping[str, str] | None = None) -> str:
    """A setting's value from the environment, or its default."""
    return SETTINGS_BY_NAME[name].value(environ)


def validate_settings(environ: Mapping[str, str] | None = None) -> None:
    """Raise :class:`SettingError` naming every setting that holds a value Precog cannot use
    (all of them in one line, so that one attempt shows everything to fix)."""
    env = os.environ if environ is None else environ
    problems = [problem for item in SETTINGS if (problem := item.problem(item.value(env)))]
    if problems:
        raise SettingError("; ".join(problems))


def code_location_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Every setting the code location reads: the caller's value when set, else its default."""
    return {s.name: s.value(environ) for s in SETTINGS if s.code_location}


def automation_enabled(environ: Mapping[str, str] | None = None) -> bool:
    """Whether schedules and sensors start running (``PRECOG_DEV_AUTOMATION=1``, set by `precog dev`)."""
    return setting_value("PRECOG_DEV_AUTOMATION", environ) == "1"


def precog_home() -> Path:
    """The folder holding the embedded database, Dagster's instance home and logs.

    ``PRECOG_HOME`` when set, else ``.precog/`` under the current directory, so that a
    clone of the repository keeps its state beside it.
    """
    return Path(setting_value("PRECOG_HOME")).expanduser().resolve()


def repository_root() -> Path:
    """The checkout this package was installed from (editable installs)."""
    return Path(__file__).resolve().parents[2]


def with_absolute_paths(environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` with every file and folder setting made absolute against the current directory,
    for a process started elsewhere (``precog dev`` starts Dagster in its own home)."""
    resolved = dict(environ)
    for item in SETTINGS:
        value = (environ.get(item.name) or "").strip()
        if item.path and value:
            resolved[item.name] = str(Path(value).expanduser().resolve())
    return resolved


def configuration_table() -> str:
    """The README's configuration table, rendered from the registry."""
    lines = ["| Variable | Default | Meaning |", "| --- | --- | --- |"]
    for item in SETTINGS:
        default = item.shown_default or f"`{item.default}`"
        lines.append(f"| `{item.name}` | {default} | {item.meaning} |")
    return "\n".join(lines)
