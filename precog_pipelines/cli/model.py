"""``precog model``: how good each model version is against the market, and fitting new ones."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
import psycopg

from precog_pipelines.cli.db import _URL_OPTION as database_url_option
from precog_pipelines.cli.errors import user_errors
from precog_pipelines.cli.params import output_file
from precog_pipelines.cli.versions import add_version_commands
from precog_pipelines.lib.elo.csv_files import CsvInputError
from precog_pipelines.lib.elo.rating_run import ELO_INPUT_ERRORS
from precog_pipelines.lib.elo.seasons import SeasonRangeError, parse_season_range
from precog_pipelines.lib.elo.sources import GameSource
from precog_pipelines.lib.elo.store import load_model, parse_model_key
from precog_pipelines.lib.evaluation.closing_lines import ClosingLineMismatch
from precog_pipelines.lib.evaluation.elo_fit import fit_elo
from precog_pipelines.lib.evaluation.forecasts import MissingForecasts
from precog_pipelines.lib.evaluation.market_model import FIT_FIRST_SEASON, FIT_LAST_SEASON, MarketModelError, fit_margin_sd
from precog_pipelines.lib.evaluation.runs import Evaluation, SourceScores, run_evaluation
from precog_pipelines.lib.settings import precog_home
from precog_pipelines.lib.warehouse.readiness import require_migrated
from precog_pipelines.lib.warehouse.server import connect, resolve_server

EVALUATION_ERRORS = (*ELO_INPUT_ERRORS, CsvInputError, ClosingLineMismatch, MarketModelError, MissingForecasts,
                     SeasonRangeError)
CSV_COLUMNS = ("season", "source", "games", "brier", "log_loss", "accuracy", "brier_minus_market",
               "log_loss_minus_market", "accuracy_minus_market")
_FILE = click.Path(dir_okay=False, path_type=Path)


@contextmanager
def migrated_warehouse(database_url: str | None) -> Iterator[str]:
    """The URL of the warehouse, which must be migrated (`precog db upgrade`): the embedded
    server, running until the block ends, unless a URL is configured."""
    server = resolve_server(precog_home(), database_url)
    try:
        require_migrated(server.warehouse_url)
        yield server.warehouse_url
    finally:
        server.stop()


@contextmanager
def warehouse_connection(database_url: str | None) -> Iterator[psycopg.Connection]:
    """A connection to the migrated warehouse."""
    with migrated_warehouse(database_url) as url, connect(url) as conn:
        yield conn


def _seasons(text: str) -> tuple[int, int]:
    try:
        return parse_season_range(text)
    except SeasonRangeError as exc:
        raise click.BadParameter(str(exc), param_hint="--seasons") from None


@click.group()
def model() -> None:
    """Model versions: list, show, create from a YAML file, activate, deactivate; evaluate them
    against the market, fit new ones."""


def _cell(value: float | None) -> str:
    return "" if value is None else repr(value)


def _csv_rows(evaluation: Evaluation) -> Iterator[tuple]:
    for season in evaluation.seasons:
        market = season.market
        for source, s in season.scores.items():
            versus = source != "market" and s.games
            yield (season.season, source, s.games, _cell(s.brier_score), _cell(s.log_loss), _cell(s.accuracy),
                   _cell(s.brier_score - market.brier_score) if versus else "",
                   _cell(s.log_loss - market.log_loss) if versus else "",
                   _cell(s.accuracy - market.accuracy) if versus else "")


def totals_text(totals: SourceScores) -> str:
    """The totals as an aligned plain-text table."""
    width = max(len(source) for source in totals.scores)
    lines = [f"{'source':<{width}}  {'games':>6}  {'brier':>8}  {'log_loss':>8}  {'accuracy':>8}  "
             f"{'brier-market':>12}  {'log_loss-market':>15}"]
    market = totals.market
    for source, s in totals.scores.items():
        if not s.games:
            lines.append(f"{source:<{width}}  {0:>6}")
            continue
        versus = source != "market"
        lines.append(
            f"{source:<{width}}  {s.games:>6}  {s.brier_score:>8.6f}  {s.log_loss:>8.6f}  {s.accuracy:>8.4f}  "
            f"{f'{s.brier_score - market.brier_score:+.6f}' if versus else '':>12}  "
            f"{f'{s.log_loss - market.log_loss:+.6f}' if versus else '':>15}")
    return "\n".join(lines)


@model.command()
@click.option("--model", "model_keys", multiple=True, metavar="NAME:VERSION",
              help="A model version to score (repeatable). Default: every Elo version in probability_models.")
@click.option("--seasons", default="1979-2025", show_default=True, help="FIRST-LAST seasons to score.")
@click.option("--output", "output_path", type=_FILE, required=True, callback=output_file,
              help="CSV with one row per season and source (market, or NAME:VERSION).")
@database_url_option
@user_errors
def evaluate(model_keys: tuple[str, ...], seasons: str, output_path: Path, database_url: str | None) -> None:
    """Score model versions and the market on the games with a closing line, season by season
    (Brier score, log loss, accuracy; ties count 0.5), store the scores in model_evaluations,
    write them to a CSV and print the totals. Loads the shipped lines and rates the versions
    first when the warehouse does not hold them yet."""
    first, last = _seasons(seasons)
    try:
        with warehouse_connection(database_url) as conn:
            preparation, evaluation = run_evaluation(conn, GameSource(), first, last, list(model_keys) or None, None)
            conn.commit()
    except EVALUATION_ERRORS as exc:
        raise click.ClickException(str(exc)) from None
    try:
        with output_path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(CSV_COLUMNS)
            writer.writerows(_csv_rows(evaluation))
    except OSError as exc:
        raise click.ClickException(f"{output_path}: cannot be written ({exc.strerror or exc})") from None
    if preparation.lines_loaded is not None:
        click.echo(f"loaded {preparation.lines_loaded.lines:,} closing lines")
    for key in preparation.models_rated:
        click.echo(f"rated {key} (its ratings were not stored yet)")
    click.echo(f"seasons {first}-{last}: {evaluation.totals.games:,} games with a closing line; market "
               f"{evaluation.market.key} (margin_sd {evaluation.market.margin_sd}); wrote {output_path}")
    click.echo(totals_text(evaluation.totals))


@model.command("fit-elo")
@click.option("--start", "start_key", default="elo_nfl:1.0", show_default=True, metavar="NAME:VERSION",
              help="The version whose config the fit starts from (and keeps for the parameters it does not fit).")
@click.option("--seasons", default=f"{FIT_FIRST_SEASON}-{FIT_LAST_SEASON}", show_default=True,
              help="Seasons whose log loss is minimised; no game after the last one is read.")
@database_url_option
@user_errors
def fit_elo_command(start_key: str, seasons: str, database_url: str | None) -> None:
    """Fit K, home-field advantage, off-season reversion and the margin multiplier's
    rating-difference coefficient on past seasons of the shipped history (SciPy Nelder-Mead,
    deterministic), and print the new version's config as JSON."""
    first, last = _seasons(seasons)
    history = GameSource()
    try:
        with warehouse_connection(database_url) as conn:
            start = conn.execute("SELECT config FROM probability_models WHERE model_name = %s AND model_version = %s",
                                 parse_model_key(start_key)).fetchone()
            load_model(conn, *parse_model_key(start_key))  # a missing or malformed version is named
        fit = fit_elo(start[0], history.games, history.initial_ratings, history.overrides, first, last)
    except EVALUATION_ERRORS as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(json.dumps(fit.config, indent=4))
    click.echo(f"seasons {first}-{last}, {fit.games_scored:,} games: log loss {fit.start_log_loss:.6f} "
               f"({start_key}) -> {fit.fitted_log_loss:.6f} (fitted) after {fit.evaluations} replays", err=True)


@model.command("fit-market")
@click.option("--seasons", default=f"{FIT_FIRST_SEASON}-{FIT_LAST_SEASON}", show_default=True,
              help="Seasons of the closing lines the standard deviation is fitted on.")
def fit_market_command(seasons: str) -> None:
    """Fit the spread map's margin_sd: the root mean square of (home margin - the margin the line
    expects) over the shipped lines of the seasons, and print it."""
    first, last = _seasons(seasons)
    history = GameSource()
    try:
        results = {(g.date, g.team1, g.team2): g.score1 - g.score2 for g in history.games}
        pairs = [(line.expected_home_margin, results[(line.date, line.team1, line.team2)])
                 for line in history.closing_lines if first <= line.season <= last]
        margin_sd = fit_margin_sd(pairs)
    except (CsvInputError, MarketModelError, KeyError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(json.dumps({"margin_sd": margin_sd, "fitted_seasons": [first, last], "lines": len(pairs)}))


add_version_commands(model, "model", warehouse_connection)
