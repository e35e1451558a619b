"""The ``precog`` command line."""

from __future__ import annotations

import click

from precog_pipelines.cli.alerts import alerts
from precog_pipelines.cli.backtest import backtest
from precog_pipelines.cli.db import db
from precog_pipelines.cli.dev import dev, env
from precog_pipelines.cli.elo import elo
from precog_pipelines.cli.kalshi import kalshi
from precog_pipelines.cli.model import model
from precog_pipelines.cli.positions import positions
from precog_pipelines.cli.sandbox import sandbox
from precog_pipelines.cli.strategy import strategy
from precog_pipelines.cli.trading import trading
from precog_pipelines.lib.settings import SettingError, validate_settings


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def precog() -> None:
    """Precog Pipelines: data platform for trading sports prediction markets."""
    # Every command starts by refusing a bad setting, in one line, before it does anything.
    try:
        validate_settings()
    except SettingError as error:
        raise click.ClickException(str(error)) from None


precog.add_command(db)
precog.add_command(dev)
precog.add_command(env)
precog.add_command(kalshi)
precog.add_command(sandbox)
precog.add_command(elo)
precog.add_command(model)
precog.add_command(backtest)
precog.add_command(strategy)
precog.add_command(trading)
precog.add_command(positions)
precog.add_command(alerts)


def main() -> None:
    precog()
