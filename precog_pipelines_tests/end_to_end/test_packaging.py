"""The installed package carries everything the product reads at run time: built as a wheel,
installed (not editable) into a scratch folder and run from a directory with no ``shared/``
anywhere above it, it applies its migrations and rates every shipped game, through the CLI and
through Dagster."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from precog_pipelines.lib.settings import repository_root
from precog_pipelines_tests.conftest import scratch_database

pytestmark = pytest.mark.slow

SOURCES = ("setup.py", "pyproject.toml", "README.md", "precog_pipelines", "sql")


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``pip install --no-deps --target`` of a wheel built from a clean copy of the sources."""
    work = tmp_path_factory.mktemp("packaging")
    source = work / "source"
    for name in SOURCES:
        origin = repository_root() / name
        if origin.is_dir():
            shutil.copytree(origin, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            source.mkdir(exist_ok=True)
            shutil.copy2(origin, source / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(work / "wheel"), str(source)],
                   check=True, capture_output=True, timeout=300)
    [wheel] = (work / "wheel").glob("precog_pipelines-*.whl")
    target = work / "site"
    subprocess.run([*pip, "install", "--no-deps", "--target", str(target), str(wheel)],
                   check=True, capture_output=True, timeout=300)
    shutil.rmtree(source)  # nothing of the checkout is left to fall back on
    return target


def _run(installed: Path, cwd: Path, *args: str, database_url: str) -> subprocess.CompletedProcess:
    assert not any((folder / "shared").exists() for folder in (cwd, *cwd.parents)), "a shared/ folder is above"
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("PRECOG_", "DAGSTER_"))}
    environment |= {"PYTHONPATH": str(installed), "PRECOG_DATABASE_URL": database_url, "PRECOG_HOME": str(cwd)}
    return subprocess.run([sys.executable, *args], cwd=cwd, env=environment, capture_output=True, text=True,
                          timeout=600)


def test_the_wheel_ships_the_history_its_attribution_and_the_migrations(installed):
    package = installed / "precog_pipelines"
    names = {p.name for p in (package / "data" / "nfl").iterdir()}
    assert names >= {"games_1920_2020.csv", "games_2021_2025.csv", "initial_elos.csv", "season_overrides.csv",
                     "closing_lines_1979_2025.csv", "README.md"}
    assert "CC BY 4.0" in (package / "data" / "nfl" / "README.md").read_text()
    assert sorted(p.name for p in (package / "sql").glob("*.sql")) == sorted(
        p.name for p in (repository_root() / "sql").glob("*.sql"))
    for module in package.rglob("*.py"):
        assert "../shared" not in module.read_text(), module


def test_installed_cli_replays_every_shipped_game_without_shared(installed, tmp_path, postgres_server_url):
    run_dir = tmp_path / "elsewhere"
    run_dir.mkdir()
    with scratch_database(postgres_server_url, "precog_test_wheel") as database:
        located = _run(installed, run_dir, "-c", "import precog_pipelines; print(precog_pipelines.__file__)",
                       database_url=database.url)
        assert located.stdout.strip().startswith(str(installed)), located
        upgraded = _run(installed, run_dir, "-m", "precog_pipelines.cli", "db", "upgrade", database_url=database.url)
        assert upgraded.returncode == 0, upgraded.stderr
        replayed = _run(installed, run_dir, "-m", "precog_pipelines.cli", "elo", "replay", "--output", "elo.csv",
                        database_url=database.url)
    assert replayed.returncode == 0, replayed.stderr
    assert "18013 games replayed with elo_nfl v1.0" in replayed.stdout
    assert len((run_dir / "elo.csv").read_text().splitlines()) == 1 + 18_013


MATERIALIZE_EVERY_SEASON = textwrap.dedent("""
    import dagster as dg
    from precog_pipelines.defs.elo import checks
    from precog_pipelines.defs.elo.assets import elo_ratings
    from precog_pipelines.resources.elo_games import EloGameSourceResource
    from precog_pipelines.resources.warehouse import WarehouseResource
    import os

    result = dg.materialize(
        [elo_ratings, *[c for c in vars(checks).values() if isinstance(c, dg.AssetChecksDefinition)]],
        resources={"warehouse": WarehouseResource(database_url=os.environ["PRECOG_DATABASE_URL"]),
                   "elo_games": EloGameSourceResource()},
        instance=dg.DagsterInstance.ephemeral(),
        tags={"dagster/asset_partition_range_start": "1920", "dagster/asset_partition_range_end": "2025"},
    )
    print("success", result.success, "games", result.asset_observations_for_node("elo_ratings")[-1]
          .metadata["run_games_replayed"].value)
""")


def test_installed_elo_asset_rates_every_shipped_game_without_shared(installed, tmp_path, postgres_server_url):
    run_dir = tmp_path / "elsewhere"
    run_dir.mkdir()
    with scratch_database(postgres_server_url, "precog_test_wheel") as database:
        upgraded = _run(installed, run_dir, "-m", "precog_pipelines.cli", "db", "upgrade", database_url=database.url)
        assert upgraded.returncode == 0, upgraded.stderr
        rated = _run(installed, run_dir, "-c", MATERIALIZE_EVERY_SEASON, database_url=database.url)
    assert rated.returncode == 0, rated.stderr[-3000:]
    assert "success True games 18013" in rated.stdout
