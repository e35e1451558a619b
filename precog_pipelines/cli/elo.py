"""``precog elo``: the Elo engine on files, without Dagster."""

from __future__ import annotations

import os
from pathlib import Path

import click

from precog_pipelines.cli.db import _URL_OPTION as database_url_option
from precog_pipelines.cli.errors import user_errors
from precog_pipelines.cli.params import output_file
from precog_pipelines.lib.elo import NFL_MODEL_NAME, NFL_MODEL_VERSION, csv_files
from precog_pipelines.lib.elo.engine import replay as replay_games
from precog_pipelines.lib.elo.rating_run import ELO_INPUT_ERRORS
from precog_pipelines.lib.elo.report import forecasts
from precog_pipelines.lib.elo.scoring import brier_score
from precog_pipelines.lib.elo.sources import GAMES_FILES, INITIAL_RATINGS_FILE, OVERRIDES_FILE, GameSource
from precog_pipelines.lib.elo.store import EloModel, load_model
from precog_pipelines.lib.settings import precog_home
from precog_pipelines.lib.warehouse.readiness import require_migrated
from precog_pipelines.lib.warehouse.server import connect, resolve_server

_FILE = click.Path(dir_okay=False, path_type=Path)


@click.group()
def elo() -> None:
    """Elo ratings (FiveThirtyEight's classic NFL model)."""


@elo.command()
@click.option("--games", "games_paths", type=_FILE, multiple=True,
              help="Games CSV (date,season,neutral,playoff,team1,team2,score1,score2), in date order; may be "
                   "given more than once (a game listed twice is refused). Default: the NFL history shipped "
                   "with Precog, 1920 to 2025-09-29.")
@click.option("--initial", "initial_path", type=_FILE, default=None,
              help="Initial ratings CSV (team,elo). Default: the shipped FiveThirtyEight file.")
@click.option("--overrides", "overrides_path", type=_FILE, default=None,
              help="Season-start overrides CSV (team,season,elo). Default: the shipped FiveThirtyEight file.")
@click.option("--output", "output_path", type=_FILE, required=True, callback=output_file,
              help="Where to write one row per game.")
@click.option("--model", "model_name", default=NFL_MODEL_NAME, show_default=True, help="probability_models name.")
@click.option("--model-version", default=NFL_MODEL_VERSION, show_default=True, help="probability_models version.")
@database_url_option
@user_errors
def replay(
    games_paths: tuple[Path, ...],
    initial_path: Path | None,
    overrides_path: Path | None,
    output_path: Path,
    model_name: str,
    model_version: str,
    database_url: str | None,
) -> None:
    """Replay games from CSV files (by default the shipped NFL history) with a model version's
    parameters (read from the warehouse) and write
    date,season,team1,team2,elo1_pre,elo2_pre,elo_prob1,elo1_post,elo2_post."""
    shipped = GameSource()
    games_paths = games_paths or tuple(shipped.history_dir / f.name for f in GAMES_FILES)
    initial_path = initial_path or shipped.history_dir / INITIAL_RATINGS_FILE
    overrides_path = overrides_path or shipped.history_dir / OVERRIDES_FILE
    _refuse_overwriting_inputs(output_path, (*games_paths, initial_path, overrides_path))
    try:
        games = csv_files.read_game_files(games_paths)
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


def _refuse_overwriting_inputs(output_path: Path, inputs: tuple[Path, ...]) -> None:
    """Writing the replay onto one of its own inputs would destroy that input (by any name: the same
    path spelled another way, a symlink or a hard link)."""
    for path in inputs:
        if _same_file(output_path, path):
            raise click.BadParameter(f"{str(output_path)!r} is also an input file ({path}); choose another path.",
                                     param_hint="'--output'")


def _same_file(first: Path, second: Path) -> bool:
    try:
        return os.path.samefile(first, second)
    except OSError:  # one of them does not exist (yet)
        return first.resolve() == second.resolve()


def _load_model(database_url: str | None, name: str, version: str) -> EloModel:
    """The model version from the warehouse (embedded server unless a URL is configured)."""
    server = resolve_server(precog_home(), database_url)
    try:
        require_migrated(server.warehouse_url)
        with connect(server.warehouse_url) as conn:
            return load_model(conn, name, version)
    finally:
        server.stop()
