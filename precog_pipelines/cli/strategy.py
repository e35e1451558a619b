"""``precog strategy``: strategy versions, created from YAML files and activated with a reason."""

from __future__ import annotations

import click

from precog_pipelines.cli.model import warehouse_connection
from precog_pipelines.cli.versions import add_version_commands


@click.group()
def strategy() -> None:
    """Strategy versions: list, show, create from a YAML file, activate, deactivate."""


add_version_commands(strategy, "strategy", warehouse_connection)
