"""ESPN scoreboard parsing (the shared example and edge cases) and the client against the sandbox."""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from precog_pipelines.lib.espn import (
    EspnClient,
    EspnHTTPError,
    EspnParseError,
    EspnRetryError,
    iter_event_payloads,
    parse_game_state,
    season_context,
)
from precog_pipelines.lib.ingest.rejects import parse_batch
from precog_pipelines_tests.conftest import SANDBOX_START, SHARED_DIR

EXAMPLE = SHARED_DIR / "reference" / "examples" / "espn" / "nfl_scoreboard_in_progress.json"
# ESPN team id -> our teams.id as the seed migration numbers them (any mapping will do here).
OUR_TEAM_IDS = {15: 101, 2: 102, 28: 103, 8: 104, 24: 105, 23: 106}


@pytest.fixture
def scoreboard() -> dict:
    return json.loads(EXAMPLE.read_text())


def events_by_state(scoreboard: dict) -> dict[str, dict]:
    return {event["status"]["type"]["state"]: event for event in scoreboard["events"]}


def test_the_shared_example_parses_final_live_and_scheduled(scoreboard):
    context = season_context(scoreboard)
    final, live, scheduled = (parse_game_state(e, OUR_TEAM_IDS, season=context) for e in scoreboard["events"])

    assert (final.espn_game_id, final.state, final.completed, final.is_final) == ("401772830", "post", True, True)
    assert (final.home_abbreviation, final.home_score, final.away_abbreviation, final.away_score) == ("MIA", 13, "BUF", 30)
    assert (final.home_team_id, final.away_team_id) == (101, 102) and final.situation is None

    assert (live.state, live.period, live.clock_seconds, live.display_clock) == ("in", 3, Decimal("462.0"), "7:42")
    assert (live.home_espn_team_id, live.home_abbreviation, live.home_score, live.away_score) == (28, "WSH", 17, 20)
    assert live.situation["possession"] == "28" and live.situation["yardLine"] == 62 and live.is_live

    assert (scheduled.state, scheduled.period, scheduled.home_score, scheduled.completed) == ("pre", 0, 0, False)
    assert scheduled.kickoff == datetime(2025, 11, 10, 1, 20, tzinfo=UTC)
    assert scheduled.game_date == date(2025, 11, 9)  # Sunday night, US-Eastern
    assert {g.season_year for g in (final, live, scheduled)} == {2025}
    assert {(g.season_type, g.week) for g in (final, live, scheduled)} == {(2, 10)}


def test_a_mapping_callable_and_an_unknown_team(scoreboard):
    event = scoreboard["events"][0]

    state = parse_game_state(event, lambda espn_id: espn_id * 10)
    assert (state.home_team_id, state.away_team_id) == (150, 20)
    with pytest.raises(EspnParseError, match=r"ESPN event 401772830: away team.id is not an ESPN team id in our"):
        parse_game_state(event, {15: 1})


@pytest.mark.parametrize(
    ("status_id", "name", "description"),
    [("6", "STATUS_POSTPONED", "Postponed"), ("5", "STATUS_CANCELED", "Canceled")],
)
def test_postponed_and_canceled_games_are_post_but_never_final(scoreboard, status_id, name, description):
    event = copy.deepcopy(events_by_state(scoreboard)["pre"])
    status = {"clock": 0.0, "displayClock": "0:00", "period": 0,
              "type": {"id": status_id, "name": name, "state": "post", "completed": False,
                       "description": description, "detail": description, "shortDetail": description}}
    event["status"] = status
    event["competitions"][0]["status"] = status | {"isTBDFlex": False}

    state = parse_game_state(event)

    assert (state.state, state.completed, state.is_final, state.status_name) == ("post", False, False, name)
    assert (state.home_score, state.away_score) == (0, 0)


def test_tbd_teams_are_rejected_with_a_reason(scoreboard):
    event = copy.deepcopy(events_by_state(scoreboard)["pre"])
    event["competitions"][0]["competitors"][0]["team"]["id"] = "-1"

    with pytest.raises(EspnParseError, match=r"401772866: home team.id is a placeholder.*TBD.*\(got '-1'\)"):
        parse_game_state(event)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda e: e["competitions"][0]["competitors"][1].__setitem__("score", "abc"), "away score is not an integer (got 'abc')"),
        (lambda e: e["competitions"][0]["competitors"][1].__setitem__("score", "-3"), "away score is negative"),
        (lambda e: e["competitions"][0]["competitors"][1].pop("score"), "away score is missing while the game is 'in'"),
        (lambda e: e["competitions"][0]["status"]["type"].__setitem__("state", "live"), "status.type.state is not one of"),
        (lambda e: e["competitions"][0]["status"]["type"].__setitem__("completed", True), "is true while state is 'in'"),
        (lambda e: e["competitions"][0]["status"].__setitem__("clock", "soon"), "status.clock is not a number"),
        (lambda e: e["competitions"][0]["status"].__setitem__("period", 2.5), "status.period is not an integer"),
        (lambda e: e.__setitem__("competitions", []), "competitions is missing or empty"),
        (lambda e: e["competitions"][0]["competitors"].pop(), "is not a list of two teams"),
        (lambda e: e["competitions"][0].__setitem__("date", "Sunday"), "date is not an RFC 3339 timestamp"),
    ],
)
def test_bad_fields_name_the_event_the_field_and_the_value(scoreboard, change, expected):
    event = copy.deepcopy(events_by_state(scoreboard)["in"])
    change(event)

    with pytest.raises(EspnParseError) as caught:
        parse_game_state(event)

    assert str(caught.value).startswith("ESPN event 401772851: ") and expected in str(caught.value)
    assert caught.value.key == "401772851"


def test_bad_games_become_rejects_and_the_good_ones_load(scoreboard):
    scoreboard["events"][1]["competitions"][0]["competitors"][0]["score"] = None

    valid, rejected = parse_batch(iter_event_payloads(scoreboard), parse_game_state, "id", (EspnParseError,))

    assert [g.espn_game_id for g in valid] == ["401772830", "401772866"]
    assert rejected[0].business_key == "401772851" and "home score is missing" in rejected[0].reason


# ---- the client against the sandbox ---------------------------------------------------------------


@pytest.fixture
def espn(sandbox, fast_retries):
    with EspnClient(sandbox.espn_base_url, retry_policy=fast_retries) as client:
        yield client


def test_current_week_day_and_season_week_queries(sandbox, espn):
    week = espn.scoreboard_payload()
    day = espn.scoreboard_payload(day=date(2025, 11, 9))
    by_week = espn.scoreboard_payload(season=2025, season_type=2, week=10)
    other_day = espn.scoreboard_payload(day=date(2025, 11, 10))

    assert week["season"] == {"type": 2, "year": 2025} and week["week"] == {"number": 10}
    assert "season" not in day and "week" not in day  # as ESPN does for dates=YYYYMMDD
    assert [e["id"] for e in week["events"]] == [e["id"] for e in day["events"]] == [e["id"] for e in by_week["events"]]
    assert len(week["events"]) == 7 and other_day["events"] == []


def test_sandbox_games_parse_and_move_from_pre_to_in_to_post(sandbox, espn):
    world = sandbox.describe_world()["games"][0]

    before = {g.espn_game_id: g for g in espn.scoreboard()}[world["espn_id"]]
    sandbox.advance(55 * 60)  # kickoff was at +10 min; quarters last 40 simulated minutes
    during = {g.espn_game_id: g for g in espn.scoreboard()}[world["espn_id"]]
    sandbox.set_time(datetime.fromisoformat(world["end"]))
    after = {g.espn_game_id: g for g in espn.scoreboard()}[world["espn_id"]]

    assert (before.state, before.status_name, before.period) == ("pre", "STATUS_SCHEDULED", 0)
    assert before.kickoff == datetime.fromisoformat(world["kickoff"]) and before.game_date == date(2025, 11, 9)
    assert (during.state, during.period, during.is_live) == ("in", 2, True) and during.situation is not None
    assert during.clock_seconds < 900 and during.display_clock.count(":") == 1
    assert (after.state, after.completed, after.status_name) == ("post", True, "STATUS_FINAL")
    assert (after.home_score, after.away_score) == (world["final_score"]["home"], world["final_score"]["away"])
    assert (after.home_abbreviation, after.away_abbreviation) == ("WSH", "DET")


def test_overtime_and_postponed_games_in_the_sandbox(sandbox, espn):
    world = sandbox.describe_world()["games"]
    overtime = next(g for g in world if g["overtime"])
    sandbox.set_time(datetime.fromisoformat(overtime["end"]))
    games = {g.espn_game_id: g for g in espn.scoreboard()}

    ot = games[overtime["espn_id"]]
    postponed = games[next(g for g in world if g["postponed"])["espn_id"]]
    assert (ot.period, ot.status_detail, ot.is_final) == (5, "Final/OT", True)
    assert (postponed.state, postponed.completed, postponed.status_name) == ("post", False, "STATUS_POSTPONED")


def test_espn_faults_are_retried(sandbox, espn):
    sandbox.inject("server_error", path="*/scoreboard", status=503)
    sandbox.inject("reset", path="*/scoreboard")

    assert len(espn.scoreboard()) == 7
    assert sandbox.stats()["fault_server_error"] == sandbox.stats()["fault_reset"] == 1


def test_espn_retries_are_bounded(sandbox, espn):
    sandbox.inject("rate_limit", path="*/scoreboard", count=None, probability=1.0)

    with pytest.raises(EspnRetryError, match=r"gave up after 6 attempt\(s\).*HTTP 429"):
        espn.scoreboard()


def test_a_date_range_is_a_400_and_not_retried(sandbox, espn):
    with pytest.raises(EspnHTTPError, match="HTTP 400"):
        espn._get("/scoreboard", {"dates": "20251109-20251110"})

    assert sandbox.stats()["status_400"] == 1


def test_an_honest_user_agent_is_sent_and_a_browser_one_refused(sandbox, fast_retries, monkeypatch):
    with EspnClient(sandbox.espn_base_url, retry_policy=fast_retries) as client:
        agent = client._session.headers["User-Agent"]
        client.scoreboard()
    monkeypatch.setenv("PRECOG_HTTP_USER_AGENT", "Mozilla/5.0 (X11; Linux x86_64)")
    with EspnClient(sandbox.espn_base_url, retry_policy=fast_retries) as client:
        with pytest.raises(EspnHTTPError, match="403 .*browser-like"):
            client.scoreboard()

    assert agent.startswith("precog-pipelines/") and "(+https://" in agent


def test_default_base_url_and_override(monkeypatch):
    monkeypatch.delenv("ESPN_API_BASE_URL", raising=False)
    assert EspnClient().base_url == "https://site.api.espn.com/apis/site/v2/sports/football/nfl"
    monkeypatch.setenv("ESPN_API_BASE_URL", "http://127.0.0.1:9/x/")
    assert EspnClient().base_url == "http://127.0.0.1:9/x"


def test_sandbox_start_is_what_the_fixture_says(sandbox):
    assert sandbox.now() == SANDBOX_START
