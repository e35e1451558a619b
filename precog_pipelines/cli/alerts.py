"""``precog alerts``: the alerts Precog raised, and a person's answer to them."""

from __future__ import annotations

import click

from precog_pipelines.cli.db import _URL_OPTION as database_url_option
from precog_pipelines.cli.errors import user_errors
from precog_pipelines.cli.model import warehouse_connection
from precog_pipelines.cli.params import operating_system_user
from precog_pipelines.lib import alerts as alert_store


@click.group()
def alerts() -> None:
    """Alerts: list them, acknowledge one (seen; repeats are counted, not sent again), resolve one."""


def _alert_id(ctx: click.Context, param: click.Parameter, value: int) -> int:
    if value < 1:
        raise click.BadParameter(f"{value} is not an alert id (a whole number from 1)", ctx, param)
    return value


@alerts.command("list")
@click.option("--open", "open_only", is_flag=True, help="Only alerts not resolved yet.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10000), help="How many, newest first.")
@database_url_option
@user_errors
def list_command(open_only: bool, limit: int, database_url: str | None) -> None:
    """The newest alerts by last occurrence: id, severity, state, occurrences, component, message,
    and the last delivery on each channel."""
    with warehouse_connection(database_url) as conn:
        rows = alert_store.list_alerts(conn, open_only=open_only, limit=limit)
    if not rows:
        click.echo("no open alerts" if open_only else "no alerts")
        return
    click.echo("id\tseverity\tstate\toccurrences\tlast_seen_utc\tcomponent\tmessage\tdeliveries")
    for row in rows:
        message = " ".join(row.message.split())
        message = message if len(message) <= 120 else message[:117] + "..."
        click.echo(f"{row.id}\t{row.severity}\t{row.state}\t{row.occurrence_count}\t"
                   f"{row.last_seen_at:%Y-%m-%d %H:%M:%S}\t{row.component}\t{message}\t{row.deliveries or '-'}")


@alerts.command()
@click.argument("alert_id", type=int, callback=_alert_id)
@database_url_option
@user_errors
def ack(alert_id: int, database_url: str | None) -> None:
    """Acknowledge open alert ALERT_ID: someone is on it; repeats are counted but not sent again."""
    with warehouse_connection(database_url) as conn:
        try:
            outcome = alert_store.acknowledge_alert(conn, alert_id, operating_system_user())
        except alert_store.AlertNotFound as exc:
            raise click.ClickException(str(exc)) from None
        conn.commit()
    click.echo(f"alert {alert_id}: " + {"resolved": "already resolved, nothing to acknowledge"}.get(outcome, outcome))


@alerts.command()
@click.argument("alert_id", type=int, callback=_alert_id)
@database_url_option
@user_errors
def resolve(alert_id: int, database_url: str | None) -> None:
    """Resolve alert ALERT_ID: the problem is over; its next occurrence opens a new alert."""
    with warehouse_connection(database_url) as conn:
        try:
            resolved = alert_store.resolve_alert_by_id(conn, alert_id)
        except alert_store.AlertNotFound as exc:
            raise click.ClickException(str(exc)) from None
        conn.commit()
    click.echo(f"alert {alert_id}: " + ("resolved" if resolved else "already resolved"))
