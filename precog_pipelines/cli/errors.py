"""Turning the errors a user can cause into one line, never a traceback."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import click

from precog_pipelines.lib.espn import EspnError
from precog_pipelines.lib.kalshi import KalshiError
from precog_pipelines.lib.warehouse.migrations import MigrationError
from precog_pipelines.lib.warehouse.readiness import WarehouseNotMigrated
from precog_pipelines.lib.warehouse.server import WarehouseUnavailable
from precog_pipelines.lib.warehouse.urls import InvalidDatabaseUrl

F = TypeVar("F", bound=Callable[..., Any])

USER_ERRORS: tuple[type[Exception], ...] = (
    WarehouseUnavailable, WarehouseNotMigrated, MigrationError, InvalidDatabaseUrl, KalshiError, EspnError,
)


def user_errors(func: F) -> F:
    """Report known user-facing errors as ``Error: <message>`` with exit status 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except USER_ERRORS as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper  # type: ignore[return-value]

