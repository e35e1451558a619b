"""The ``elo_ratings`` asset through Dagster into real PostgreSQL: the full shipped history
(1920 to 2025-09-29) in one run, re-rating a season, games after the files from ESPN, and the
schedule."""

from __future__ import annotations

import csv
import shutil
from datetime import date, datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from precog_pipelines.defs.elo.jobs import elo_ratings_job
from precog_pipelines.defs.elo.schedules import elo_current_season_schedule
from precog_pipelines.lib.elo.engine import EloState, Game, replay
from precog_pipelines.lib.elo.sources import GameSource, shipped_history_dir
from precog_pipelines.lib.elo.store import load_model
from precog_pipelines.lib.warehouse.server import connect
from precog_pipelines_tests.support import factories as f
from precog_pipelines_tests.support.elo import (
    ELO_DEFINITIONS,
    elo_resources,
    materialization_metadata,
    materialize_seasons,
    rating_rows,
    run_checks,
    run_replay,
    run_summary,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def full_backfill(elo_history):
    return elo_history


@pytest.fixture
def backfilled_url(rated_warehouse_url):
    return rated_warehouse_url


def test_full_history_backfills_in_one_run_matching_the_cli_row_for_row(full_backfill, tmp_path, dagster_instance):
    result = full_backfill.result
    assert result.success
    partitions = [e.partition for e in result.get_asset_materialization_events()]
    assert partitions == [str(season) for season in range(1920, 2026)]  # every season, one run
    assert all(e.passed for e in result.get_asset_check_evaluations())
    # Each of the five checks records one result per season of the range.
    assert len(result.get_asset_check_evaluations()) == 5 * len(partitions)

    output = tmp_path / "replay.csv"
    cli = run_replay(output, full_backfill.url, games=None)  # the shipped history, as the asset reads it
    assert cli.exit_code == 0, cli.output
    with output.open() as handle:
        replayed = {
            (row["date"], row["team1"], row["team2"]): (
                int(row["season"]), *(float(row[c]) for c in ("elo1_pre", "elo2_pre", "elo_prob1", "elo1_post", "elo2_post"))
            )
            for row in csv.DictReader(handle)
        }
    stored = rating_rows(full_backfill.url)
    assert len(stored) == len(replayed) == 18_013
    assert stored.keys() == replayed.keys()
    for key, expected in replayed.items():
        assert stored[key][0] == expected[0]
        assert stored[key][1:] == pytest.approx(expected[1:], abs=1e-9, rel=0), key

    season_2020 = materialization_metadata(result, 2020)
    assert run_summary(result)["run_games_replayed"] == 18_013
    assert season_2020["games_replayed"] == 269 and season_2020["teams_rated"] == 32
    # The overview's row count is the table's after the run; the season's own rows beside it.
    assert season_2020["season_rows"] == 538 and season_2020["dagster/row_count"] == 2 * 18_013
    assert "| 1 | TB | 1738.7 |" in season_2020["top_five"]
    assert "| 1 | JAX | 1256.0 |" in season_2020["bottom_five"]
    chart = season_2020["ratings_chart"]
    assert [c.name for c in chart.schema.columns] == ["rank", "team", "rating", "change", "chart"]
    assert len(chart.records) == 32
    assert chart.records[0].data == {"rank": 1, "team": "TB", "rating": 1738.7, "change": 240.0, "chart": "█" * 24}
    assert chart.records[-1].data["team"] == "JAX" and 0 < len(chart.records[-1].data["chart"]) < 5
    season_1920 = materialization_metadata(result, 1920)
    assert (season_1920["games_replayed"], season_1920["teams_rated"]) == (90, 49)
    assert season_1920["brier_score"] == pytest.approx(0.1291, abs=1e-4)
    assert season_1920["log_loss"] == pytest.approx(0.5327, abs=1e-4)
    season_2025 = materialization_metadata(result, 2025)
    assert (season_2025["games_replayed"], season_2025["teams_rated"]) == (64, 32)  # weeks 1-4


def test_full_backfill_adds_historical_franchises_and_games(full_backfill):
    history = GameSource()
    with connect(full_backfill.url) as conn:
        teams = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE NOT is_active AND team_name IS NULL) FROM teams"
        ).fetchone()
        assert teams == (123, 91)  # 32 current franchises plus 91 historical ones
        aliases = dict(conn.execute(
            "SELECT a.alias_code, t.team_code FROM team_aliases a JOIN teams t ON t.id = a.team_id "
            "WHERE a.source = 'fivethirtyeight'"
        ).fetchall())
        assert len(aliases) == 123 and aliases["OAK"] == "LV" and aliases["RII"] == "RII"
        assert conn.execute("SELECT count(*) FROM teams WHERE team_code = 'OAK'").fetchone()[0] == 0
        games = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE neutral_site), count(*) FILTER (WHERE playoff), "
            "count(external_game_id) FROM games"
        ).fetchone()
        assert games == (18_013, sum(g.neutral for g in history.games), sum(g.playoff for g in history.games), 0)
        sources = dict(conn.execute("SELECT source, count(*) FROM games GROUP BY source").fetchall())
        assert sources == {"fivethirtyeight": 16_810, "spreadspoke": 1_203}
        current = dict(conn.execute("SELECT team_code, current_elo_rating FROM teams").fetchall())
        assert conn.execute("SELECT count(*) FROM teams WHERE current_elo_rating IS NULL").fetchone()[0] == 0
        config = load_model(conn, "elo_nfl", "1.0").config
    # Each team's rating after its last game of the files (2025-09-29 for the current franchises).
    state: EloState[str] = EloState()
    replay(history.games, config, initial_ratings=history.initial_ratings, overrides=history.overrides, state=state)
    assert current["TB"] == pytest.approx(state.ratings["TB"], abs=1e-9)
    assert current["LV"] == pytest.approx(state.ratings["OAK"], abs=1e-9)
    assert state.seasons["TB"] == 2025


def _copy_history(tmp_path: Path) -> Path:
    directory = tmp_path / "nfl"
    shutil.copytree(shipped_history_dir(), directory)
    for file in directory.iterdir():
        file.chmod(0o644)
    return directory


def _rows_of_season(url: str, season: int) -> dict[tuple[int, int], tuple]:
    with connect(url) as conn:
        rows = conn.execute(
            "SELECT game_id, team_id, id, rating_before, rating_after, win_probability FROM elo_rating_history "
            "WHERE season = %s", (season,)
        ).fetchall()
    return {(r[0], r[1]): r[2:] for r in rows}


def test_rematerializing_a_season_replaces_its_rows_and_flags_later_seasons(backfilled_url, tmp_path, dagster_instance):
    before = _rows_of_season(backfilled_url, 2019)

    same = materialize_seasons(backfilled_url, dagster_instance, 2019)
    assert same.success
    unchanged = _rows_of_season(backfilled_url, 2019)
    assert unchanged.keys() == before.keys()  # no duplicates, no gaps
    assert {k: v[1:] for k, v in unchanged.items()} == {k: v[1:] for k, v in before.items()}
    assert min(v[0] for v in unchanged.values()) > max(v[0] for v in before.values())  # new rows
    assert run_summary(same)["seasons_needing_rerun"] == "none"
    assert run_summary(same)["current_ratings_updated"] == 0  # 2025 is the latest season

    # A corrected score in 2019 changes the ratings that 2020 onwards were replayed from.
    history = _copy_history(tmp_path)
    games_file = history / "games_1920_2020.csv"
    text = games_file.read_text()
    assert "2019-09-05,2019,0,0,CHI,GB,3,10" in text
    games_file.write_text(text.replace("2019-09-05,2019,0,0,CHI,GB,3,10", "2019-09-05,2019,0,0,CHI,GB,30,10"))
    corrected = materialize_seasons(backfilled_url, dagster_instance, 2019, history_dir=history)
    assert corrected.success
    assert len(_rows_of_season(backfilled_url, 2019)) == len(before)
    assert run_summary(corrected)["seasons_needing_rerun"] == "2020..2025"

    stale = run_checks(backfilled_url, dagster_instance, 2020, history_dir=history)
    assert not stale["follows_previous_ratings"].passed
    assert stale["follows_previous_ratings"].metadata["seasons_needing_rerun"].value == "2020"
    assert stale["follows_previous_ratings"].partition == "2020"

    rerun = materialize_seasons(backfilled_url, dagster_instance, 2020, 2025, history_dir=history)
    assert rerun.success and all(e.passed for e in rerun.get_asset_check_evaluations())
    assert run_summary(rerun)["current_ratings_updated"] == 123


# ESPN games after the shipped history's last day (2025-09-29): (external id, date, home,
# away, season, season_type, neutral, playoff, states as (state, completed, home score, away
# score), oldest first).
ESPN_AFTER_FILES = [
    ("401772501", date(2025, 10, 2), "SF", "LAR", 2025, 2, False, False, [("post", True, 23, 26)]),
    ("401772502", date(2025, 10, 5), "LV", "IND", 2025, 2, False, False, [("in", False, 7, 3), ("post", True, 6, 40)]),
    ("401772503", date(2025, 10, 5), "KC", "JAX", 2025, 2, False, False, [("post", True, 28, 31)]),
    ("401772504", date(2025, 11, 9), "DET", "WSH", 2025, 2, False, False, [("post", True, 20, 20)]),
    ("401772505", date(2026, 2, 8), "SEA", "NE", 2025, 3, True, True, [("post", True, 29, 13)]),
    # Not final, or not counted: preseason, in progress, postponed.
    ("401772506", date(2026, 8, 14), "NYG", "NYJ", 2026, 1, False, False, [("post", True, 12, 7)]),
    ("401772507", date(2025, 11, 16), "SF", "ARI", 2025, 2, False, False, [("in", False, 10, 7)]),
    ("401772508", date(2025, 11, 17), "DAL", "LV", 2025, 2, False, False, [("post", False, 0, 0)]),
]
FINAL_AFTER_FILES = ESPN_AFTER_FILES[:5]


def _insert_espn_games(url: str) -> None:
    """What the ESPN ingestion writes: games by ESPN code, SCD2 game states."""
    with connect(url, autocommit=True) as conn:
        for external_id, day, home, away, season, season_type, neutral, playoff, states in ESPN_AFTER_FILES:
            f.game(conn, external_game_id=external_id, season=season, season_type=season_type, game_date=day,
                   home_team_id=f.team_id(conn, home), away_team_id=f.team_id(conn, away),
                   neutral_site=neutral, playoff=playoff)
            for i, (state, completed, home_score, away_score) in enumerate(states):
                start = datetime(day.year, day.month, day.day, 17, i, tzinfo=timezone.utc)
                if i:
                    conn.execute(
                        "UPDATE game_states SET row_current_ind = false, row_end_ts = %s "
                        "WHERE external_game_id = %s AND row_current_ind", (start, external_id))
                f.game_state(conn, external_game_id=external_id, state=state, completed=completed,
                             status_name="STATUS_FINAL" if completed else "STATUS_IN_PROGRESS",
                             home_score=home_score, away_score=away_score, period=4, row_start_ts=start)


def test_games_after_the_files_come_from_completed_espn_games(backfilled_url, dagster_instance):
    _insert_espn_games(backfilled_url)
    before_2024 = _rows_of_season(backfilled_url, 2024)

    result = materialize_seasons(backfilled_url, dagster_instance, 2025)

    assert result.success and all(e.passed for e in result.get_asset_check_evaluations())
    metadata = materialization_metadata(result)
    # 2025 is part files (weeks 1-4, 64 games) and part ESPN (five final games after 2025-09-29).
    assert metadata["games_replayed"] == 64 + 5 and metadata["teams_rated"] == 32
    assert run_summary(result)["current_ratings_updated"] == 123

    # The engine on the files, then on the same five games by 538 code (the Raiders are OAK).
    history = GameSource()
    with connect(backfilled_url) as conn:
        config = load_model(conn, "elo_nfl", "1.0").config
    state: EloState[str] = EloState()
    kwargs = {"initial_ratings": history.initial_ratings, "overrides": history.overrides, "state": state}
    files_rated = replay(history.games, config, **kwargs)
    code = {"LV": "OAK"}
    espn_games = [
        Game(day, season, neutral, playoff, code.get(home, home), code.get(away, away), states[-1][2], states[-1][3])
        for _, day, home, away, season, _, neutral, playoff, states in FINAL_AFTER_FILES
    ]
    expected = {(r.game.date.isoformat(), r.game.team1, r.game.team2): (2025, r.elo1_pre, r.elo2_pre, r.prob1, r.elo1_post, r.elo2_post)
                for r in [*files_rated, *replay(espn_games, config, **kwargs)] if r.game.season == 2025}
    stored = rating_rows(backfilled_url, 2025, 2025)
    assert stored.keys() == expected.keys()
    for key, values in expected.items():
        assert stored[key] == pytest.approx(values, abs=1e-9, rel=0), key
    assert _rows_of_season(backfilled_url, 2024) == before_2024

    with connect(backfilled_url) as conn:
        current = dict(conn.execute("SELECT team_code, current_elo_rating FROM teams").fetchall())
    assert current["LV"] == pytest.approx(state.ratings["OAK"], abs=1e-9)
    assert current["SEA"] == pytest.approx(state.ratings["SEA"], abs=1e-9)

    # A season without final games after the latest one: rated, empty, nothing moved.
    empty = materialize_seasons(backfilled_url, dagster_instance, 2026)
    assert empty.success
    assert materialization_metadata(empty)["games_replayed"] == 0
    assert materialization_metadata(empty)["brier_score"] is None


def test_schedule_rates_the_season_in_progress_through_the_job(backfilled_url, dagster_instance):
    with connect(backfilled_url, autocommit=True) as conn:
        f.game(conn, external_game_id="401772001", season=2026, season_type=2, game_date=date(2026, 11, 22),
               home_team_id=f.team_id(conn, "NYG"), away_team_id=f.team_id(conn, "DAL"))
        f.game_state(conn, state="post", status_name="STATUS_FINAL", completed=True, home_score=20, away_score=17)
    morning = datetime(2026, 11, 23, 6, 0, tzinfo=ZoneInfo("America/New_York"))
    request = elo_current_season_schedule()(dg.build_schedule_context(scheduled_execution_time=morning))
    assert request.partition_key == "2026"

    definitions = dg.Definitions(
        assets=[ELO_DEFINITIONS[0]], asset_checks=ELO_DEFINITIONS[1:], jobs=[elo_ratings_job],
        schedules=[elo_current_season_schedule()], resources=elo_resources(backfilled_url),
    )
    result = definitions.resolve_job_def("elo_ratings_job").execute_in_process(
        partition_key=request.partition_key, instance=dagster_instance
    )

    assert result.success
    assert {e.check_name for e in result.get_asset_check_evaluations() if e.passed} == {c.check_key.name for c in ELO_DEFINITIONS[1:]}
    assert materialization_metadata(result)["games_replayed"] == 1
    assert rating_rows(backfilled_url, 2026, 2026).keys() == {("2026-11-22", "NYG", "DAL")}
