"""Where alerts go: the routing file, mapping an alert's severity and component to channels.

The file shipped in the package (``alert_routing.yaml`` beside this module) is used unless
``PRECOG_ALERT_ROUTING_FILE`` names another. It is validated whole when Precog starts (the setting's
check, every CLI command and the code location's load) and when the alerting resource starts: a
bad file is refused in one line naming the field and its value. The format is documented in
docs/notes/issue-14-alerts.md and in the shipped file's comments.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

SEVERITIES = ("info", "warning", "error", "critical")
SHIPPED_ROUTING_FILE = Path(__file__).with_name("alert_routing.yaml")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

Severity = Literal["info", "warning", "error", "critical"]


class RoutingError(ValueError):
    """The routing file cannot be used; the message names the file, the field and its value."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path, self.problem = path, problem


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LogChannel(_Strict):
    """Python logging (``precog_pipelines.alerts``) at the alert's severity: Dagster's and `precog dev`'s logs."""

    type: Literal["log"]


class FileChannel(_Strict):
    """One JSON object per line appended to ``path`` (relative paths are under PRECOG_HOME)."""

    type: Literal["file"]
    path: str = Field(min_length=1)


class WebhookChannel(_Strict):
    """The alert POSTed as JSON to ``url``, or to the URL in the variable ``url_env`` (the channel
    is inactive while that variable is unset or empty, so a secret URL need not sit in the file)."""

    type: Literal["webhook"]
    url: str | None = None
    url_env: str | None = None
    timeout_seconds: float = Field(default=10, gt=0, le=120)


class SlackChannel(WebhookChannel):
    """A Slack-compatible incoming webhook: ``{"text": "..."}``."""

    type: Literal["slack"]  # type: ignore[assignment]


class EmailChannel(_Strict):
    """A mail over SMTP (``smtplib``) from ``sender`` to every address of ``to``."""

    type: Literal["email"]
    host: str = Field(min_length=1)
    port: int = Field(default=25, ge=1, le=65535)
    security: Literal["none", "starttls", "ssl"] = "none"
    sender: str = Field(min_length=3, pattern=r"^[^@\s]+@[^@\s]+$")
    to: list[Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")]] = Field(min_length=1)
    username: str | None = None
    # The variable holding the SMTP password (never the password itself).
    password_env: str | None = None
    timeout_seconds: float = Field(default=10, gt=0, le=120)


Channel = Annotated[LogChannel | FileChannel | WebhookChannel | SlackChannel | EmailChannel,
                    Field(discriminator="type")]
CHANNEL_TYPES = ("log", "file", "webhook", "slack", "email")


class Route(_Strict):
    """Alerts of one of ``severities`` from a component matching one of ``components`` (shell
    patterns, ``*`` for any) go to ``channels``."""

    severities: list[Severity] | Literal["*"] = Field(min_length=1)
    components: list[Annotated[str, Field(min_length=1)]] = Field(default=["*"], min_length=1)
    channels: list[str] = Field(min_length=1)

    def matches(self, severity: str, component: str) -> bool:
        return ((self.severities == "*" or severity in self.severities)
                and any(fnmatch.fnmatchcase(component, pattern) for pattern in self.components))


class Retry(_Strict):
    """Each channel is tried ``attempts`` times, waiting ``wait_seconds`` then doubling between tries,
    and not tried again once ``max_seconds`` have passed since its first try (a sensor has 60)."""

    attempts: int = Field(default=3, ge=1, le=10)
    wait_seconds: float = Field(default=1, ge=0, le=60)
    max_seconds: float = Field(default=20, gt=0, le=300)


class Routing(_Strict):
    """The whole file. Routes are tried in order; the first that matches an alert decides its channels."""

    # A repeat of an alert already delivered to a channel within this window, at the same severity,
    # is counted on the alert row but not sent again; 0 sends every occurrence.
    dedupe_window_minutes: int = Field(default=60, ge=0, le=10080)
    retry: Retry = Retry()
    channels: dict[Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,100}$")], Channel] = Field(min_length=1)
    routes: list[Route] = Field(min_length=1)

    def channels_for(self, severity: str, component: str) -> list[str]:
        """The channels of the first route matching the alert; none when no route matches."""
        for route in self.routes:
            if route.matches(severity, component):
                return list(dict.fromkeys(route.channels))
        return []


@dataclass(frozen=True)
class LoadedRouting:
    path: Path
    routing: Routing


def routing_path(value: str) -> Path:
    """The routing file a PRECOG_ALERT_ROUTING_FILE value names (empty: the shipped one)."""
    return Path(value).expanduser() if value else SHIPPED_ROUTING_FILE


def load_routing(path: Path, environ: Mapping[str, str] | None = None) -> Routing:
    """Read and validate the routing file whole; :class:`RoutingError` in one line otherwise.
    ``environ`` gives the variables the file names (``url_env``, ``password_env``)."""
    env = os.environ if environ is None else environ
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RoutingError(path, f"cannot be read ({exc.strerror or type(exc).__name__})") from None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise RoutingError(path, f"not valid YAML{where}: {problem}") from None
    if not isinstance(document, dict):
        raise RoutingError(path, f"holds {_shown(document)}, not a mapping with channels and routes")
    try:
        routing = Routing.model_validate(document)
    except ValidationError as exc:
        raise RoutingError(path, f"{_first_error(exc)}") from None
    if problem := _cross_reference_problem(routing, env):
        raise RoutingError(path, f"{problem}")
    return routing


def routing_problem(value: str, environ: Mapping[str, str] | None = None) -> str | None:
    """Why the routing file a PRECOG_ALERT_ROUTING_FILE value names cannot be used (the field
    and its value, not the file's path), or None."""
    try:
        load_routing(routing_path(value), environ)
    except RoutingError as exc:
        return exc.problem
    return None


def _cross_reference_problem(routing: Routing, env: Mapping[str, str]) -> str | None:
    from precog_pipelines.lib.settings import http_url_problem

    for name, channel in routing.channels.items():
        where = f"channels.{name}"
        if isinstance(channel, WebhookChannel):
            if (channel.url is None) == (channel.url_env is None):
                return f"{where}: give exactly one of url and url_env"
            if channel.url_env is not None and not _ENV_NAME.fullmatch(channel.url_env):
                return f"{where}.url_env = {_shown(channel.url_env)}: not an environment variable name"
            # A URL is never shown: a Slack webhook URL is a secret.
            url = channel.url if channel.url is not None else (env.get(channel.url_env or "") or "").strip()
            if url and (problem := http_url_problem(url)):
                source = "url" if channel.url is not None else f"url_env ({channel.url_env})"
                return f"{where}.{source}: the URL {problem}"
        if isinstance(channel, EmailChannel) and channel.password_env is not None:
            if not _ENV_NAME.fullmatch(channel.password_env):
                return f"{where}.password_env = {_shown(channel.password_env)}: not an environment variable name"
            if not env.get(channel.password_env):
                return f"{where}.password_env = {_shown(channel.password_env)}: that variable is not set"
            if channel.username is None:
                return f"{where}.password_env: a password needs a username"
    for index, route in enumerate(routing.routes):
        for position, name in enumerate(route.channels):
            if name not in routing.channels:
                return (f"routes[{index}].channels[{position}] = {_shown(name)}: not a channel of channels "
                        f"({', '.join(routing.channels)})")
    return None


def _first_error(exc: ValidationError) -> str:
    """Pydantic's first error in one line: the field's path, its value and what is wrong."""
    error = exc.errors(include_url=False)[0]
    loc = list(error["loc"])
    # A channel's fields sit under its type tag in pydantic's path (channels.ops.webhook.url): drop it.
    if len(loc) >= 3 and loc[0] == "channels" and loc[2] in CHANNEL_TYPES:
        del loc[2]
    # Nor the member labels of a union (severities: a list, or "*").
    loc = [part for part in loc if isinstance(part, int) or not any(c in part for c in "[(")]
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    path = path or "(top level)"
    message = error["msg"]
    if error["type"] == "missing":
        return f"{path}: missing (required)"
    if error["type"] == "extra_forbidden":
        return f"{path} = {_shown(error['input'])}: not a known field"
    if error["type"] == "union_tag_invalid":
        return f"{path}.type = {_shown(error['input'].get('type'))}: not one of {', '.join(CHANNEL_TYPES)}"
    if error["type"] == "union_tag_not_found":
        return f"{path}.type: missing (one of {', '.join(CHANNEL_TYPES)})"
    return f"{path} = {_shown(error['input'])}: {message[0].lower() + message[1:]}"


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
