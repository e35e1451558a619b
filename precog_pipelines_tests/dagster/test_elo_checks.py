"""Each Elo asset check passes on the ratings the asset wrote and fails once a violating row is
fed into the real table; plus the refusal to rate a season before its predecessors."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from precog_pipelines.lib.warehouse.server import connect
from precog_pipelines_tests.conftest import create_database, drop_database, unique_name
from precog_pipelines_tests.support.elo import ELO_CHECKS, materialize_seasons, run_checks

# The first rating row of 1920 (RII-STP, 1920-09-26) and the game after it.
FIRST_ROW = "(SELECT min(id) FROM elo_rating_history)"
FIRST_GAME = "(SELECT game_id FROM elo_rating_history WHERE id = (SELECT min(id) FROM elo_rating_history))"

VIOLATIONS = {
    "zero_sum_per_game": [
        f"UPDATE elo_rating_history SET rating_after = rating_after + 0.5 WHERE id = {FIRST_ROW}",
    ],
    "one_row_per_team_per_game": [
        # a row for a team that did not play the game
        f"""INSERT INTO elo_rating_history (model_id, game_id, team_id, opponent_team_id, season, game_date,
                is_home, points_for, points_against, rating_before, rating_after, win_probability)
            SELECT model_id, game_id, (SELECT id FROM teams WHERE team_code = 'KC'), opponent_team_id, season,
                   game_date, is_home, points_for, points_against, rating_before, rating_before, 0.5
            FROM elo_rating_history WHERE id = {FIRST_ROW}""",
    ],
    "ratings_within_bounds": [
        f"UPDATE elo_rating_history SET rating_before = 2150, rating_after = 2150 WHERE game_id = {FIRST_GAME}",
    ],
    "season_brier_score_below_ceiling": [
        """UPDATE elo_rating_history SET win_probability = CASE WHEN points_for > points_against THEN 0.05
                                                               ELSE 0.95 END WHERE is_home""",
    ],
    "follows_previous_ratings": [
        """UPDATE elo_rating_history SET rating_before = rating_before + 3, rating_after = rating_after + 3
           WHERE id = (SELECT max(id) FROM elo_rating_history)""",
    ],
}


@pytest.fixture(scope="module")
def season_1920(postgres_server_url, migrated_template, dagster_instance) -> Iterator[tuple[str, object]]:
    """A warehouse with the 1920 season rated through Dagster (checks included)."""
    name = unique_name("precog_test_elo_1920")
    url = create_database(postgres_server_url, name, template=migrated_template)
    result = materialize_seasons(url, dagster_instance, 1920)
    yield name, result
    drop_database(postgres_server_url, name)


@pytest.fixture
def rated_1920(postgres_server_url, season_1920) -> Iterator[str]:
    name = unique_name("precog_test_elo_1920_copy")
    url = create_database(postgres_server_url, name, template=season_1920[0])
    yield url
    drop_database(postgres_server_url, name)


def test_every_check_passes_on_what_the_asset_wrote(season_1920):
    result = season_1920[1]
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}

    assert result.success
    assert set(evaluations) == set(VIOLATIONS) == {c.check_key.name for c in ELO_CHECKS}
    assert all(e.passed and e.partition == "1920" for e in evaluations.values())
    assert evaluations["season_brier_score_below_ceiling"].metadata["brier_score"].value < 0.25


def test_a_game_missing_a_team_row_fails_the_once_per_team_check(rated_1920, dagster_instance):
    with connect(rated_1920, autocommit=True) as conn:
        conn.execute(f"DELETE FROM elo_rating_history WHERE id = {FIRST_ROW}")

    evaluation = run_checks(rated_1920, dagster_instance, 1920)["one_row_per_team_per_game"]

    assert not evaluation.passed
    assert "no row for home team" in evaluation.metadata["first_violations"].value


@pytest.mark.parametrize("check_name", sorted(VIOLATIONS))
def test_violating_row_fails_its_check(check_name, rated_1920, dagster_instance):
    """The same warehouse passed every check when the asset wrote it (test above)."""
    with connect(rated_1920, autocommit=True) as conn:
        for statement in VIOLATIONS[check_name]:
            assert conn.execute(statement).rowcount >= 1

    evaluation = run_checks(rated_1920, dagster_instance, 1920)[check_name]

    assert not evaluation.passed
    assert evaluation.partition == "1920"
    if "violations" in evaluation.metadata:
        assert evaluation.metadata["violations"].value >= 1
    else:
        assert evaluation.metadata["failing_seasons"].value == "1920"


def test_rating_a_season_before_its_predecessors_fails_and_writes_nothing(warehouse_url, dagster_instance):
    result = materialize_seasons(warehouse_url, dagster_instance, 1921)

    assert not result.success
    [failure] = [e for e in result.all_events if e.is_step_failure]
    message = failure.step_failure_data.user_failure_data.description
    assert "seasons before 1921 have games but no elo_nfl v1.0 ratings: 1920" in message
    assert "rate from season 1920 first" in message
    with connect(warehouse_url) as conn:
        assert conn.execute("SELECT count(*) FROM elo_rating_history").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM games").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM teams").fetchone()[0] == 32
