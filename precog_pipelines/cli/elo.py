"""``precog elo``: the Elo engine on files, without Dagster."""

from __future__ import annotations

from pathlib import Path

import click

from precog_pipelines.cli.db import _URL_OPTION as database_url_option
from precog_pipelines.cli.errors import user_errors
from precog_pipelines.lib.elo import NFL_MODEL_NAME, NFL_MODEL_VERSION, csv_files
from precog_pipelines.lib.elo.engine import replay as replay_games
from precog_pipelines.lib.elo.rating_run import ELO_INPUT_ERRORS
from precog_pipelines.lib.elo.report import forecasts
from precog_pipelines.lib.elo.scoring import brier_score
from precog_pipelines.lib.elo.store import EloModel, load_model
from precog_pipelines.lib.settings import precog_home
from precog_pipelines.lib.warehouse.engine import ensure_migrated
from precog_pipelines.lib.warehouse.server import connect, resolve_server

_FILE = click.Path(dir_okay=False, path_type=Path)


@click.group()
def elo() -> None:
    """Elo ratings (FiveThirtyEight's classic NFL model)."""


@elo.command()
@click.option("--games", "games_path", type=_FILE, required=True,
              help="Games CSV (date,season,neutral,playoff,team1,team2,score1,score2), in date order.")
@click.option("--initial", "initial_path", type=_FILE, required=True, help="Initial ratings CSV (team,elo).")
@click.option("--overrides", "overrides_path", type=_FILE, required=True, help="Season-start overrides CSV (team,season,elo).")
@click.option("--output", "output_path", type=_FILE, required=True, help="Where to write one row per game.")
@click.option("--model", "model_name", default=NFL_MODEL_NAME, show_default=True, help="probability_models name.")
@click.option("--model-version", default=NFL_MODEL_VERSION, show_default=True, help="probability_models version.")
@database_url_option
@user_errors
def replay(
    games_path: Path,
    initial_path: Path,
    overrides_path: Path,
    output_path: Path,
    model_name: str,
    model_version: str,
    database_url: str | None,
) -> None:
    """Replay games from CSV files with a model version's parameters (read from the warehouse)
    and write date,season,team1,team2,elo1_pre,elo2_pre,elo_prob1,elo1_post,elo2_post."""
    try:
        games = csv_files.read_games(games_path)
        initial = csv_files.read_initial_ratings(initial_path)
        overrides = csv_files.read_overrides(overrides_path)
        model = _load_model(database_url, model_name, model_version)
        rated = replay_games(games, model.config, initial_ratings=initial, overrides=overrides)
        csv_files.write_replay(output_path, rated)
    except ELO_INPUT_ERRORS as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(f"{output_path}: cannot be written ({exc.strerror or exc})") from None
    score = brier_score(forecasts(rated))
    click.echo(f"{len(rated)} games replayed with {model.label}; wrote {output_path}")
    click.echo(f"Brier score: {score:.6f}" if score is not None else "Brier score: n/a (no games)")


def _load_model(database_url: str | None, name: str, version: str) -> EloModel:
    """The model version from the warehouse (embedded server unless a URL is configured)."""
    server = resolve_server(precog_home(), database_url)
    try:
        ensure_migrated(server.warehouse_url)
        with connect(server.warehouse_url) as conn:
            return load_model(conn, name, version)
    finally:
        server.stop()
