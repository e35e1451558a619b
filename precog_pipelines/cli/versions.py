"""The version commands ``precog strategy`` and ``precog model`` share: list, show, create
--file F.yaml, activate and deactivate. Creation validates the whole file before connecting
(a bad value is one line naming the field and value, and nothing is written); activation and
deactivation need --reason and are recorded with who and when (``version_activations``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import click
import psycopg

from precog_pipelines.cli.db import _URL_OPTION as database_url_option
from precog_pipelines.cli.errors import user_errors
from precog_pipelines.cli.params import operating_system_user
from precog_pipelines.lib.elo.config import EloConfigError
from precog_pipelines.lib.trading.strategy import StrategyConfigError
from precog_pipelines.lib.versions import store
from precog_pipelines.lib.versions.files import VersionFileError, read_model_file, read_strategy_file

VERSION_ERRORS = (VersionFileError, store.VersionError, StrategyConfigError, EloConfigError)
Connection = Callable[[str | None], AbstractContextManager[psycopg.Connection]]


def _actor_option(func: Callable) -> Callable:
    return click.option("--actor", default=operating_system_user, show_default="the operating-system user",
                        help="Who is making the change (recorded).")(func)


def _when(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value is not None else ""


def _state(row: store.VersionRow) -> str:
    if row.in_use:
        return "active, in use"
    if row.is_active:
        return "active, superseded by a newer active version"
    return "inactive"


def _list_text(rows: list[store.VersionRow]) -> str:
    lines = []
    for r in rows:
        last = r.last_event
        event = f"{last.action} {_when(last.at)} by {last.actor}" if last else ""
        lines.append((r.label + (f" ({r.league})" if r.league else ""), _state(r), event))
    if not lines:
        return "no versions"
    widths = [max(len(line[i]) for line in lines) for i in range(2)]
    return "\n".join(f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c}".rstrip() for a, b, c in lines)


def add_version_commands(group: click.Group, kind: str, connection: Connection) -> None:
    """Add list, show, create, activate and deactivate for ``kind`` ("strategy" or "model") to ``group``."""
    read_file = read_strategy_file if kind == "strategy" else read_model_file
    create = store.create_strategy if kind == "strategy" else store.create_model

    @group.command("list", help=f"Every {kind} version: active or not, in use, and its latest recorded change.")
    @database_url_option
    @user_errors
    def list_command(database_url: str | None) -> None:
        with connection(database_url) as conn:
            click.echo(_list_text(store.list_versions(conn, kind)))

    @group.command("show", help=f"One {kind} version: its config, state, and every recorded creation, "
                                "activation and deactivation (who, when, why).")
    @click.argument("name")
    @click.argument("version")
    @database_url_option
    @user_errors
    def show_command(name: str, version: str, database_url: str | None) -> None:
        try:
            with connection(database_url) as conn:
                row = store.show_version(conn, kind, name, version)
                events = store.history(conn, kind, row.id)
                if kind == "model":
                    use = store.model_use(conn, row.id)
                    usage = [f"current edges: {use.current_edges}",
                             f"positions opened from its edges: {use.open_positions} open, {use.closed_positions} closed"]
                else:
                    usage = [f"positions from model {p['model']}: {p['open']} open, {p['closed']} closed"
                             for p in store.positions_by_model(conn, row.id)] or ["positions: none"]
        except VERSION_ERRORS as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"{kind} {row.label}" + (f" ({row.league})" if row.league else "") + f" [id {row.id}]")
        click.echo(f"state: {_state(row)}")
        click.echo(f"created: {_when(row.created_at)}")
        if row.description:
            click.echo(f"description: {row.description}")
        for line in usage:
            click.echo(line)
        click.echo("config:")
        click.echo(json.dumps(row.config, indent=2, sort_keys=True))
        click.echo("history:")
        for e in events:
            click.echo(f"  {_when(e.at)}  {e.action:<11}  by {e.actor}" + (f": {e.reason}" if e.reason else ""))

    @group.command("create", help=f"Create a new, inactive {kind} version from a YAML file (see the README for "
                                  "its fields). The whole file is checked first: a bad value is one line naming "
                                  "the field and value, and nothing is written. An existing name and version is "
                                  "refused: versions are never edited.")
    @click.option("--file", "path", type=click.Path(dir_okay=False, path_type=Path), required=True,
                  help="The version's YAML file.")
    @_actor_option
    @database_url_option
    @user_errors
    def create_command(path: Path, actor: str, database_url: str | None) -> None:
        try:
            spec = read_file(path)
            with connection(database_url) as conn:
                version_id = create(conn, spec, actor)  # type: ignore[arg-type]
                conn.commit()
        except VERSION_ERRORS as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"created {kind} {spec.name} v{spec.version} [id {version_id}], inactive; "
                   f"`precog {kind} activate {spec.name} {spec.version} --reason ...` puts it in use")

    def _change(active: bool) -> Callable:
        verb = "activate" if active else "deactivate"

        @click.argument("name")
        @click.argument("version")
        @click.option("--reason", required=True, help=f"Why you {verb} it (recorded).")
        @_actor_option
        @database_url_option
        @user_errors
        def command(name: str, version: str, reason: str, actor: str, database_url: str | None) -> None:
            try:
                with connection(database_url) as conn:
                    result = store.set_active(conn, kind, name, version, active, actor, reason)
                    conn.commit()
            except VERSION_ERRORS as exc:
                raise click.ClickException(str(exc)) from None
            click.echo(f"{verb}d {kind} {result.version.label}, recorded as by {actor}: {reason.strip()}")
            if result.now_in_use:
                click.echo(f"in use now: {', '.join(result.now_in_use)}")
            else:
                what = (f"strategy {name}" if kind == "strategy"
                        else f"{result.version.league} (edges and positions fail until one is activated)")
                click.echo(f"warning: no active version of {what}", err=True)

        return command

    group.command("activate", help=f"Activate a {kind} version (it must validate); --reason is required. "
                                   + ("Edges are computed for every active model version."
                                      if kind == "model" else
                                      "Positions trade the newest active version of a strategy name."))(_change(True))
    group.command("deactivate", help=f"Deactivate a {kind} version; --reason is required.")(_change(False))
