"""NFL history to the present: the sandbox's ESPN serves the shipped 2021-2025 results, the
``espn_season_games`` backfill loads them through Dagster without duplicating the files' games,
the files take precedence over ESPN for a game both know, and a finished backfill re-rates Elo
from the first season it changed."""

from __future__ import annotations

import csv
import time
from collections import Counter
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import dagster as dg
import pytest

from precog_pipelines.defs.elo.jobs import elo_ratings_job
from precog_pipelines.defs.elo.sensors import elo_rerate_after_espn_backfill
from precog_pipelines.defs.espn import checks as espn_checks
from precog_pipelines.defs.espn.assets import espn_season_games
from precog_pipelines.lib.elo.engine import Game
from precog_pipelines.lib.elo.seasons import first_season_to_rerate
from precog_pipelines.lib.elo.sources import GameSource
from precog_pipelines.lib.elo.store import record_historical_games
from precog_pipelines.lib.espn import EspnClient, GameState
from precog_pipelines.lib.espn.client import SEASON_SCOREBOARDS
from precog_pipelines.lib.ingest.espn_store import load_scoreboard
from precog_pipelines.lib.warehouse.server import connect
from precog_pipelines.resources.sources import EspnResource
from precog_pipelines.resources.warehouse import WarehouseResource
from precog_pipelines.sandbox.espn_history import shipped_past_games
from precog_pipelines_tests.support import factories as f
from precog_pipelines_tests.support.elo import ELO_DEFINITIONS, elo_resources, range_tags, rating_rows, run_replay

pytestmark = pytest.mark.slow

SEASON_CHECKS = espn_checks.season_game_checks
SHIPPED_2021_2025 = 1_203


def test_sandbox_serves_every_past_week_with_the_shipped_results(sandbox):
    with EspnClient(sandbox.espn_base_url, requests_per_second=50) as espn:
        opener = espn.scoreboard(season=2021, season_type=2, week=1)
        super_bowl = espn.scoreboard(season=2021, season_type=3, week=5)
        pro_bowl = espn.scoreboard(season=2021, season_type=3, week=4)
        week_4_2025 = espn.scoreboard(season=2025, season_type=2, week=4)
        finals = sum(game.is_final for s in range(2021, 2026) for t, w in SEASON_SCOREBOARDS
                     for game in espn.scoreboard(season=s, season_type=t, week=w))

    assert len(opener) == 16 and all(g.is_final and g.completed for g in opener)
    first = next(g for g in opener if g.home_abbreviation == "TB")
    assert (first.away_abbreviation, first.home_score, first.away_score, first.game_date) == ("DAL", 31, 29, date(2021, 9, 9))
    assert (first.season_year, first.season_type, first.week) == (2021, 2, 1)
    [game] = super_bowl
    assert (game.home_abbreviation, game.away_abbreviation, game.home_score, game.away_score) == ("CIN", "LAR", 20, 23)
    assert game.neutral_site and game.season_type == 3 and game.game_date == date(2022, 2, 13)
    assert pro_bowl == []
    assert {g.game_date for g in week_4_2025} >= {date(2025, 9, 28), date(2025, 9, 29)}
    # Every shipped game 2021-2025 in exactly one week (the simulated 2025 week 10 is not played yet).
    assert finals == SHIPPED_2021_2025


def test_playoff_rounds_and_weeks_follow_the_calendar():
    rounds = Counter((g.season, g.week) for g in shipped_past_games() if g.season_type == 3)
    # 2021: six Wild Card games, four Divisional, two Conference, the Super Bowl; no Pro Bowl game.
    assert [rounds[(2021, week)] for week in (1, 2, 3, 4, 5)] == [6, 4, 2, 0, 1]
    regular = Counter(g.week for g in shipped_past_games() if g.season == 2023 and g.season_type == 2)
    assert sorted(regular) == list(range(1, 19)) and sum(regular.values()) == 272


def test_espn_client_sends_at_most_two_requests_a_second(sandbox):
    with EspnClient(sandbox.espn_base_url) as espn:
        started = time.monotonic()
        for week in range(1, 6):
            espn.scoreboard_payload(season=2021, season_type=2, week=week)
        elapsed = time.monotonic() - started
    assert elapsed >= 2.0  # five requests: four full half-second intervals between them


def _espn_state(espn_id: str, day: date, home: int, away: int, home_score: int, away_score: int) -> GameState:
    return GameState(
        espn_game_id=espn_id, home_espn_team_id=1, away_espn_team_id=2, home_abbreviation=None,
        away_abbreviation=None, home_team_id=home, away_team_id=away, home_score=home_score, away_score=away_score,
        period=4, clock_seconds=Decimal("0"), display_clock="0:00", state="post", status_name="STATUS_FINAL",
        status_detail="Final", completed=True, situation=None, neutral_site=True,
        kickoff=datetime(day.year, day.month, day.day, 23, 30, tzinfo=UTC), kickoff_time_valid=True,
        season_year=2021, season_type=3, week=5, game_date=day)


SUPER_BOWL = Game(date(2022, 2, 13), 2021, True, True, "LAR", "CIN", 23, 20)


def _games(conn) -> list[tuple]:
    return conn.execute(
        "SELECT g.source, h.team_code, a.team_code, g.home_score, g.away_score, g.external_game_id, g.week "
        "FROM games g JOIN teams h ON h.id = g.home_team_id JOIN teams a ON a.id = g.away_team_id").fetchall()


def _super_bowl_from_espn(db, espn_home: str):
    espn_away = "CIN" if espn_home == "LAR" else "LAR"
    home_score, away_score = (23, 20) if espn_home == "LAR" else (20, 23)
    return _espn_state("401326999", SUPER_BOWL.date, f.team_id(db, espn_home), f.team_id(db, espn_away),
                       home_score, away_score)


SUPER_BOWL_OBSERVED = datetime(2022, 2, 14, tzinfo=UTC)
SUPER_BOWL_FILES_ROW = [("spreadspoke", "LAR", "CIN", 23, 20, "401326999", 5)]


# Precedence, both ways round, each in its own fresh warehouse (game_states history cannot be
# deleted to start again: sql/0064).
@pytest.mark.parametrize("espn_home", ["LAR", "CIN"], ids=["same_home", "other_team_home"])
def test_a_game_in_the_files_then_from_espn_is_one_row_with_the_files_result(warehouse_url, db, espn_home):
    """Precedence: ESPN after the files."""
    espn = _super_bowl_from_espn(db, espn_home)
    with connect(warehouse_url) as conn:
        record_historical_games(conn, "nfl", [(SUPER_BOWL, "spreadspoke")])
        load_scoreboard(conn, [espn], SUPER_BOWL_OBSERVED)
    assert _games(db) == SUPER_BOWL_FILES_ROW


@pytest.mark.parametrize("espn_home", ["LAR", "CIN"], ids=["same_home", "other_team_home"])
def test_a_game_from_espn_then_in_the_files_is_one_row_with_the_files_result(warehouse_url, db, espn_home):
    """Precedence: the files after ESPN, then ESPN again."""
    espn_away = "CIN" if espn_home == "LAR" else "LAR"
    espn = _super_bowl_from_espn(db, espn_home)
    with connect(warehouse_url) as conn:
        load_scoreboard(conn, [espn], SUPER_BOWL_OBSERVED)
        assert _games(conn)[0][:3] == ("espn", espn_home, espn_away)
        recorded = record_historical_games(conn, "nfl", [(SUPER_BOWL, "spreadspoke")])
        load_scoreboard(conn, [espn], SUPER_BOWL_OBSERVED)
    assert _games(db) == SUPER_BOWL_FILES_ROW
    assert [r.game_id for r in recorded] == [db.execute("SELECT id FROM games").fetchone()[0]]


def _season_backfill(url: str, sandbox, instance: dg.DagsterInstance, first: int, last: int):
    resources = {
        "warehouse": WarehouseResource(database_url=url),
        # Many times ESPN's polite rate: the test walks 110 scoreboards; the rate has its own test.
        "espn": EspnResource(base_url=sandbox.espn_base_url, requests_per_second=50,
                             retry_initial_backoff_seconds=0.01),
    }
    return dg.materialize([espn_season_games, *SEASON_CHECKS], resources=resources, instance=instance,
                          tags=range_tags(first, last), raise_on_error=False)


def _rerate_request(instance: dg.DagsterInstance) -> dg.RunRequest:
    result = elo_rerate_after_espn_backfill()(dg.build_sensor_context(instance=instance))
    assert isinstance(result, dg.SensorResult) and len(result.run_requests) == 1, result
    return result.run_requests[0]


def _rerate(url: str, instance: dg.DagsterInstance, request: dg.RunRequest) -> dg.ExecuteInProcessResult:
    definitions = dg.Definitions(assets=[ELO_DEFINITIONS[0]], asset_checks=ELO_DEFINITIONS[1:],
                                 jobs=[elo_ratings_job], resources=elo_resources(url))
    return definitions.resolve_job_def("elo_ratings_job").execute_in_process(
        instance=instance, tags=request.tags, raise_on_error=False)


def _replayed(tmp_path: Path, url: str) -> dict[tuple, tuple]:
    output = tmp_path / "replay.csv"
    assert run_replay(output, url, games=None).exit_code == 0
    with output.open() as handle:
        return {(r["date"], r["team1"], r["team2"]): (int(r["season"]), *(float(r[c]) for c in (
            "elo1_pre", "elo2_pre", "elo_prob1", "elo1_post", "elo2_post"))) for r in csv.DictReader(handle)}


def test_backfill_on_a_fresh_warehouse_then_elo_rates_every_game_once(
        warehouse_url, sandbox, private_dagster_instance, tmp_path):
    backfill = _season_backfill(warehouse_url, sandbox, private_dagster_instance, 2021, 2025)

    assert backfill.success
    assert [e.partition for e in backfill.get_asset_materialization_events()] == [str(s) for s in range(2021, 2026)]
    assert all(e.passed for e in backfill.get_asset_check_evaluations())
    with connect(warehouse_url) as conn:
        finals = conn.execute("SELECT count(*) FROM games g JOIN game_states s ON s.external_game_id = "
                              "g.external_game_id AND s.row_current_ind WHERE s.completed").fetchone()[0]
        assert finals == SHIPPED_2021_2025
    season_2021 = {k: v.value for k, v in backfill.asset_materializations_for_node("espn_season_games")[0].metadata.items()}
    assert season_2021["requests"] == len(SEASON_SCOREBOARDS) and season_2021["final_games_stored"] == 285

    # Elo was never rated: the re-rating starts in 1920 and rates every game once.
    request = _rerate_request(private_dagster_instance)
    assert request.tags["dagster/asset_partition_range_start"] == "1920"
    rated = _rerate(warehouse_url, private_dagster_instance, request)
    assert rated.success and all(e.passed for e in rated.get_asset_check_evaluations())
    with connect(warehouse_url) as conn:
        by_source = dict(conn.execute("SELECT source, count(*) FROM games GROUP BY source").fetchall())
        linked = conn.execute("SELECT count(*) FROM games WHERE source = 'spreadspoke' "
                              "AND external_game_id IS NOT NULL").fetchone()[0]
    # The sandbox's simulated week (2025 week 10, not played yet) is ESPN's alone.
    assert by_source == {"fivethirtyeight": 16_810, "spreadspoke": SHIPPED_2021_2025, "espn": len(sandbox.world.games)}
    assert linked == SHIPPED_2021_2025
    stored = rating_rows(warehouse_url)
    replayed = _replayed(tmp_path, warehouse_url)
    assert stored.keys() == replayed.keys() and len(stored) == 18_013
    for key, expected in replayed.items():
        assert stored[key] == pytest.approx(expected, abs=1e-9, rel=0), key

    # Nothing new since: the sensor skips.
    assert isinstance(elo_rerate_after_espn_backfill()(dg.build_sensor_context(
        instance=private_dagster_instance, cursor=_cursor(private_dagster_instance))), dg.SkipReason)


def _cursor(instance: dg.DagsterInstance) -> str:
    records = instance.fetch_materializations(dg.AssetKey("espn_season_games"), limit=1).records
    return str(records[0].storage_id)


def test_backfill_after_the_files_were_rated_links_them_and_rerates_from_2021(
        rated_warehouse_url, sandbox, private_dagster_instance):
    before = rating_rows(rated_warehouse_url)
    for season in range(1920, 2026):  # what the session's backfill recorded, on this private instance
        private_dagster_instance.report_runless_asset_event(
            dg.AssetMaterialization("elo_ratings", partition=str(season)))

    backfill = _season_backfill(rated_warehouse_url, sandbox, private_dagster_instance, 2021, 2025)
    assert backfill.success

    request = _rerate_request(private_dagster_instance)
    assert request.tags["dagster/asset_partition_range_start"] == "2021"
    rated = _rerate(rated_warehouse_url, private_dagster_instance, request)
    assert rated.success
    with connect(rated_warehouse_url) as conn:
        assert conn.execute("SELECT count(*) FROM games WHERE source <> 'espn'").fetchone()[0] == 18_013
    after = rating_rows(rated_warehouse_url)
    assert after.keys() == before.keys()
    for key, expected in before.items():
        assert after[key] == pytest.approx(expected, abs=1e-9, rel=0), key


def test_backfilling_again_changes_nothing_and_requests_no_rerating(warehouse_url, sandbox, private_dagster_instance):
    assert _season_backfill(warehouse_url, sandbox, private_dagster_instance, 2023, 2023).success
    first = _rerate_request(private_dagster_instance)
    again = _season_backfill(warehouse_url, sandbox, private_dagster_instance, 2023, 2023)

    metadata = again.asset_materializations_for_node("espn_season_games")[0].metadata
    assert metadata["games_changed"].value == 0
    result = elo_rerate_after_espn_backfill()(dg.build_sensor_context(
        instance=private_dagster_instance, cursor=first.run_key.removeprefix("espn-backfill-")))
    assert isinstance(result, dg.SensorResult) and not result.run_requests
    assert "changed no game" in result.skip_reason.skip_message


def test_a_disagreeing_espn_final_is_flagged(warehouse_url, sandbox, private_dagster_instance):
    with connect(warehouse_url) as conn:  # the files say TB 31-29 DAL on the 2021 opener
        record_historical_games(conn, "nfl", [(Game(date(2021, 9, 9), 2021, False, False, "TB", "DAL", 30, 29),
                                               "spreadspoke")])
    result = _season_backfill(warehouse_url, sandbox, private_dagster_instance, 2021, 2021)

    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    disagreement = evaluations["espn_finals_agree_with_history"]
    assert not disagreement.passed and disagreement.severity == dg.AssetCheckSeverity.WARN
    assert disagreement.metadata["violations"].value == 1
    assert evaluations["every_game_has_a_current_state"].passed


def test_where_a_rerating_starts():
    assert first_season_to_rerate([], set(range(1920, 2026)), 1920) is None
    assert first_season_to_rerate([2023, 2021], set(range(1920, 2026)), 1920) == 2021
    assert first_season_to_rerate([2021], set(range(1920, 2019)), 1920) == 1920  # 2019 and 2020 never rated
    assert first_season_to_rerate([1920], set(), 1920) == 1920


def test_the_shipped_files_know_their_last_day():
    source = GameSource()
    assert source.files_end == date(2025, 9, 29)
    assert len(source.games) == 18_013
