"""Option types shared by the commands: every number range-checked and every path and address
checked by click as it parses, so a bad value is one ``Invalid value for '--option'`` line
naming it, before anything starts."""

from __future__ import annotations

import getpass
import math
import os
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from precog_pipelines.lib.kalshi.tickers import ticker_problem
from precog_pipelines.lib.settings import setting_problem

# 0 lets the operating system pick a free port (the sandbox prints the one it got).
ANY_PORT = click.IntRange(0, 65535)
# A port a browser can be pointed at.
FIXED_PORT = click.IntRange(1, 65535)
# Simulated seconds per real second: 0 freezes the clock; 10,000x plays a week in about a minute.
MAX_SPEED = 10_000.0


class FiniteFloatRange(click.FloatRange):
    """click's FloatRange, which lets ``nan`` through (it compares false with both bounds)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{number} is not in the range {self._describe_range()}.", param, ctx)
        return number


SPEED = FiniteFloatRange(0.0, MAX_SPEED)


class Host(click.ParamType):
    """A host name or address this machine can resolve (what a server can be asked to listen on)."""

    name = "host"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        try:
            socket.getaddrinfo(value, None, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as error:
            reason = getattr(error, "strerror", None) or str(error)
            self.fail(f"{value!r} is not an address or host name this machine can resolve ({reason})", param, ctx)
        return value


HOST = Host()


class KalshiTicker(click.ParamType):
    """A series, event or market ticker in Kalshi's format (an empty one would match everything)."""

    name = "ticker"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if problem := ticker_problem(value):
            self.fail(problem, param, ctx)
        return value


TICKER = KalshiTicker()


class UtcTime(click.ParamType):
    """A moment in UTC: ``2025-11-09``, ``2025-11-09T17:00`` or ``2025-11-09T17:00:30Z``; a time with
    another offset is converted, one without is read as UTC. Kalshi's time filters are Unix seconds
    from 1970 on, so an earlier moment is refused rather than sent as a negative number."""

    name = "utc_time"
    EXAMPLE = "2025-11-09 or 2025-11-09T17:00Z"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, datetime):
            return value
        try:
            moment = datetime.fromisoformat(value.strip())
            moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
        except (ValueError, AttributeError, OverflowError):
            self.fail(f"{value!r} is not a UTC date or time such as {self.EXAMPLE}", param, ctx)
        if moment < datetime(1970, 1, 1, tzinfo=UTC):
            self.fail(f"{value!r} is before 1970-01-01, the start of Kalshi's time filters", param, ctx)
        return moment


UTC_TIME = UtcTime()


def output_file(_ctx: click.Context, _param: click.Parameter, value: Path | None) -> Path | None:
    """An ``--output`` file goes in a folder that exists and can be written (checked before the
    command spends minutes producing it)."""
    if value is None:
        return None
    folder = value.parent
    if not folder.exists():
        raise click.BadParameter(f"folder '{folder}' does not exist.")
    if not folder.is_dir():
        raise click.BadParameter(f"'{folder}' is not a folder.")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise click.BadParameter(f"folder '{folder}' is not writable.")
    return value


def database_url(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    """A ``--database-url`` checked as PRECOG_DATABASE_URL is (the option bypasses the registry)."""
    if value and (problem := setting_problem("PRECOG_DATABASE_URL", value)):
        raise click.BadParameter(problem)
    return value


def operating_system_user() -> str:
    """Who runs the command, as recorded with halts, activations and acknowledgements."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name (a container's anonymous uid)
        return "unknown"
