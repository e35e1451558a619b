"""``precog db``: the warehouse schema."""

from __future__ import annotations

import click

from precog_pipelines.cli.errors import user_errors
from precog_pipelines.cli.params import database_url
from precog_pipelines.lib.settings import precog_home
from precog_pipelines.lib.warehouse import migrations
from precog_pipelines.lib.warehouse.server import resolve_server
from precog_pipelines.lib.warehouse.urls import redacted

_URL_OPTION = click.option(
    "--database-url",
    envvar="PRECOG_DATABASE_URL",
    default=None,
    callback=database_url,
    help="Warehouse URL (default: PRECOG_DATABASE_URL, else the embedded server).",
)


@click.group()
def db() -> None:
    """Manage the warehouse schema (numbered SQL migrations in sql/)."""


@db.command()
@_URL_OPTION
@user_errors
def upgrade(database_url: str | None) -> None:
    """Apply pending migrations in order, each in its own transaction."""
    server = resolve_server(precog_home(), database_url)
    try:
        applied = migrations.upgrade(server.warehouse_url)
    finally:
        server.stop()
    if not applied:
        click.echo(f"{redacted(server.warehouse_url)}: schema is up to date, nothing to apply.")
        return
    for migration in applied:
        click.echo(f"applied {migration.filename}")
    click.echo(f"{redacted(server.warehouse_url)}: {len(applied)} migration(s) applied.")


@db.command()
@_URL_OPTION
@user_errors
def status(database_url: str | None) -> None:
    """List applied and pending migrations."""
    server = resolve_server(precog_home(), database_url)
    try:
        state = migrations.status(server.warehouse_url)
    finally:
        server.stop()
    click.echo(f"database: {redacted(server.warehouse_url)}")
    for row in state.applied:
        click.echo(f"applied  {row.filename}  {row.applied_at:%Y-%m-%d %H:%M:%S%z}  {row.checksum[:12]}")
    for pending in state.pending:
        click.echo(f"pending  {pending.filename}")
    click.echo(f"{len(state.applied)} applied, {len(state.pending)} pending")
