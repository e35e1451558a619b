"""The sandbox itself: determinism, the game and market lifecycle, the Kalshi contract details
(filters, cursors, errors, value formats), the admin endpoints and the server's token bucket."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
import requests

from precog_pipelines.lib.kalshi import KalshiSettings, parse_market
from precog_pipelines.sandbox import SandboxConfig, SandboxServer
from precog_pipelines_tests.conftest import SANDBOX_START


def get(sandbox: SandboxServer, path: str, **params) -> requests.Response:
    return requests.get(sandbox.base_url + path, params=params, timeout=10, allow_redirects=False)


def markets(sandbox: SandboxServer, **params) -> list[dict]:
    found, cursor = [], None
    while True:
        body = get(sandbox, "/trade-api/v2/markets", **params, **({"cursor": cursor} if cursor else {})).json()
        found += body["markets"]
        cursor = body["cursor"]
        if not cursor:
            return found


def snapshot(sandbox: SandboxServer) -> tuple:
    scoreboard = get(sandbox, "/apis/site/v2/sports/football/nfl/scoreboard", ).json()
    return markets(sandbox), get(sandbox, "/trade-api/v2/events").json(), scoreboard


def test_same_seed_and_time_give_identical_payloads_and_another_seed_does_not():
    def run(seed: int) -> list[tuple]:
        with SandboxServer(SandboxConfig(seed=seed, start=SANDBOX_START, speed=0)) as sandbox:
            taken = []
            for minutes in (0, 50, 130, 400):
                sandbox.set_time(SANDBOX_START + timedelta(minutes=minutes))
                taken.append(snapshot(sandbox))
            return taken

    first, second, other = run(7), run(7), run(8)

    assert first == second
    assert first != other
    assert first[1][0] != first[2][0]  # prices moved between the snapshots


def test_world_has_real_franchises_spelled_per_source(sandbox):
    world = sandbox.describe_world()["games"]
    board = get(sandbox, "/apis/site/v2/sports/football/nfl/scoreboard").json()
    tickers = {t for g in world for t in g["markets"].values()}

    assert {"KXNFLGAME-25NOV09DETWAS-WAS", "KXNFLGAME-25NOV09JACTEN-JAC", "KXNFLGAME-25NOV09LASF-LA"} <= tickers
    teams = {(c["team"]["abbreviation"], c["team"]["id"]) for e in board["events"]
             for c in e["competitions"][0]["competitors"]}
    assert {("WSH", "28"), ("JAX", "30"), ("LAR", "14")} <= teams
    kickoffs = sorted({g["kickoff"] for g in world})
    assert len(kickoffs) >= 4 and kickoffs[0] > "2025-11-09T17:00"  # staggered after the start


def test_a_game_and_its_markets_go_through_the_whole_lifecycle(sandbox, kalshi_client):
    game = sandbox.describe_world()["games"][0]
    winner, loser = game["markets"][game["winner"]], next(t for k, t in game["markets"].items() if k != game["winner"])
    moments = {
        "pre": datetime.fromisoformat(game["kickoff"]) - timedelta(minutes=1),
        "in": datetime.fromisoformat(game["kickoff"]) + timedelta(minutes=60),
        "closed": datetime.fromisoformat(game["end"]),
        "determined": datetime.fromisoformat(game["determined_at"]),
        "finalized": datetime.fromisoformat(game["finalized_at"]),
    }
    seen = {}
    for phase, moment in moments.items():
        sandbox.set_time(moment)
        seen[phase] = (kalshi_client.get_market(winner), kalshi_client.get_market(loser))

    assert [seen[p][0].status for p in moments] == ["active", "active", "closed", "determined", "finalized"]
    pre, live = seen["pre"][0], seen["in"][0]
    assert pre.yes_bid < pre.yes_ask and live.yes_bid < live.yes_ask and pre.yes_bid_size > 0
    assert live.volume > pre.volume and live.close_time == pre.close_time  # the two-week buffer
    closed = seen["closed"][0]
    assert closed.close_time == moments["closed"] and closed.result == "" and closed.yes_bid_size == 0
    determined_winner, determined_loser = seen["determined"]
    assert (determined_winner.result, determined_winner.settlement_value) == ("yes", Decimal(1))
    assert (determined_loser.result, determined_loser.settlement_value) == ("no", Decimal(0))
    assert determined_winner.settlement_ts is None
    assert seen["finalized"][0].settlement_ts == moments["finalized"]
    assert seen["finalized"][0].volume == closed.volume  # no trading after the close


def test_prices_follow_the_score(sandbox, kalshi_client):
    """The leader at the end of the fourth quarter is priced far above the trailing team."""
    game = sandbox.describe_world()["games"][0]
    sandbox.set_time(datetime.fromisoformat(game["end"]) - timedelta(minutes=5))
    winner = kalshi_client.get_market(game["markets"][game["winner"]])
    loser = kalshi_client.get_market(next(t for k, t in game["markets"].items() if k != game["winner"]))

    assert winner.yes_bid > Decimal("0.80") and loser.yes_ask < Decimal("0.20")


def test_status_filters_map_to_response_statuses(sandbox):
    late = sandbox.describe_world()["games"][5]
    unopened = markets(sandbox, status="unopened")
    assert {m["ticker"] for m in unopened} == set(late["markets"].values())
    assert {m["status"] for m in unopened} == {"initialized"}

    first = sandbox.describe_world()["games"][0]
    sandbox.set_time(datetime.fromisoformat(first["determined_at"]))
    by_filter = {name: {m["status"] for m in markets(sandbox, status=name)} for name in ("open", "closed", "settled")}
    assert by_filter == {"open": {"active"}, "closed": {"determined"}, "settled": set()}

    sandbox.set_time(datetime.fromisoformat(first["finalized_at"]))
    settled = markets(sandbox, status="settled")
    assert {m["status"] for m in settled} == {"finalized"} and len(settled) >= 2
    events = get(sandbox, "/trade-api/v2/events", status="settled").json()["events"]
    assert first["event_ticker"] in {e["event_ticker"] for e in events}


@pytest.mark.parametrize(
    "params",
    [
        {"status": "open,closed"},
        {"status": "active"},
        {"status": "open", "min_close_ts": "1"},
        {"min_created_ts": "1", "max_close_ts": "2"},
        {"status": "settled", "min_created_ts": "1"},
        {"status": "closed", "min_settled_ts": "1"},
        {"status": "open", "max_settled_ts": "1"},
        {"min_close_ts": "1", "min_settled_ts": "1"},
        {"status": "settled", "min_settled_ts": "yesterday"},
        {"event_ticker": "KXNFLGAME-25NOV09DETWAS,KXNFLGAME-25NOV09JACTEN"},
        {"limit": "5000"},
        {"cursor": "not-a-cursor"},
    ],
)
def test_wrong_filter_combinations_are_400(sandbox, params):
    response = get(sandbox, "/trade-api/v2/markets", **params)

    assert response.status_code == 400 and set(response.json()["error"]) >= {"code", "message"}


def test_a_cursor_only_works_with_its_own_filters(sandbox):
    first = get(sandbox, "/trade-api/v2/markets", series_ticker="KXNFLGAME", limit=2).json()

    again = get(sandbox, "/trade-api/v2/markets", series_ticker="KXNFLGAME", limit=2, cursor=first["cursor"])
    other = get(sandbox, "/trade-api/v2/markets", status="open", limit=2, cursor=first["cursor"])

    assert again.status_code == 200 and again.json()["markets"][0]["ticker"] > first["markets"][-1]["ticker"]
    assert other.status_code == 400 and other.json()["error"]["code"] == "invalid_cursor"


def test_timestamp_filters_select_by_close_time(sandbox):
    games = sandbox.describe_world()["games"]
    first = games[0]
    sandbox.set_time(datetime.fromisoformat(first["finalized_at"]))
    end = int(datetime.fromisoformat(first["end"]).timestamp())

    found = markets(sandbox, min_close_ts=str(end), max_close_ts=str(end))

    expected = {t for g in games if g["end"] == first["end"] for t in g["markets"].values()}
    assert {m["ticker"] for m in found} == expected and len(expected) == 4  # two games end together


def test_settled_timestamp_filters_select_by_settlement_time(sandbox):
    games = sandbox.describe_world()["games"]
    first = games[0]
    sandbox.set_time(datetime.fromisoformat(first["finalized_at"]) + timedelta(hours=1))
    settled_at = int(datetime.fromisoformat(first["finalized_at"]).timestamp())

    exactly = markets(sandbox, status="settled", min_settled_ts=str(settled_at), max_settled_ts=str(settled_at))
    later = markets(sandbox, min_settled_ts=str(settled_at + 1))  # no status: settled ones only, by their time

    expected = {t for g in games if g["finalized_at"] == first["finalized_at"] for t in g["markets"].values()}
    assert {m["ticker"] for m in exactly} == expected
    assert not expected & {m["ticker"] for m in later} and {m["status"] for m in later} <= {"finalized"}


def test_the_date_header_is_the_simulated_clock(sandbox):
    sandbox.set_time(SANDBOX_START + timedelta(days=3, seconds=7))

    assert get(sandbox, "/trade-api/v2/markets", limit=1).headers["Date"] == "Wed, 12 Nov 2025 17:00:07 GMT"


def test_settled_synthetic_markets_are_finalized_before_the_start_and_cost_one_page_per_thousand():
    config = SandboxConfig(start=SANDBOX_START, speed=0, settled_markets=1500, extra_markets=30, rate_tier=None)
    with SandboxServer(config) as sandbox:
        settled = markets(sandbox, series_ticker="KXSANDBOX", status="settled", limit=1000)
        live = markets(sandbox, series_ticker="KXSANDBOX", status="open")
        recent = markets(sandbox, series_ticker="KXSANDBOX", status="settled",
                         min_settled_ts=str(int(SANDBOX_START.timestamp())))
        served = sandbox.served_markets()

    assert len(settled) == 1500 and {m["status"] for m in settled} == {"finalized"}
    assert all(datetime.fromisoformat(m["settlement_ts"]) < SANDBOX_START for m in settled)
    assert {m["result"] for m in settled} == {"yes", "no"}
    for market in settled[:50]:
        parse_market(market)
    assert len(live) == 30 and {m["status"] for m in live} == {"active"}
    assert recent == []
    assert sum(served.values()) == 1530 and set(served.values()) == {1}


def test_not_found_and_trailing_slash_behave_like_kalshi(sandbox):
    missing = get(sandbox, "/trade-api/v2/markets/NOPE")
    slash = get(sandbox, "/trade-api/v2/markets/")

    assert missing.status_code == 404 and missing.json() == {"error": {"code": "not_found", "message": "not found"}}
    assert slash.status_code == 301 and slash.headers["Location"] == "/trade-api/v2/markets"


def test_payloads_use_only_the_current_value_formats(sandbox):
    sandbox.set_time(SANDBOX_START + timedelta(hours=4))
    found = markets(sandbox)

    legacy = {"yes_bid", "yes_ask", "no_bid", "no_ask", "last_price", "volume", "volume_24h", "open_interest",
              "liquidity", "notional_value", "tick_size", "response_price_units", "category", "settlement_value"}
    for market in found:
        parse_market(market)
        assert not legacy & market.keys(), market["ticker"]
        assert list(market) == sorted(market)
        for key, value in market.items():
            if key.endswith("_dollars"):
                assert re.fullmatch(r"\d\.\d{4}", value), (key, value)
            elif key.endswith("_fp"):
                assert re.fullmatch(r"\d+\.\d{2}", value), (key, value)
            elif key.endswith(("_time", "_ts")) or key == "occurrence_datetime":
                assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z", value), (key, value)
    assert any(m["status"] == "finalized" and "settlement_value_dollars" in m for m in found)


def test_series_and_events_endpoints(sandbox):
    series = get(sandbox, "/trade-api/v2/series/KXNFLGAME").json()["series"]
    listing = get(sandbox, "/trade-api/v2/series").json()["series"]
    page = get(sandbox, "/trade-api/v2/events", series_ticker="KXNFLGAME", limit=3).json()
    event = get(sandbox, "/trade-api/v2/events/KXNFLGAME-25NOV09DETWAS", with_nested_markets="true").json()

    assert (series["fee_type"], series["fee_multiplier"]) == ("quadratic", 0.07)
    assert [s["ticker"] for s in listing] == ["KXNFLGAME"]
    assert len(page["events"]) == 3 and page["cursor"] and page["milestones"] == []
    assert [m["ticker"] for m in event["event"]["markets"]] == [
        "KXNFLGAME-25NOV09DETWAS-DET", "KXNFLGAME-25NOV09DETWAS-WAS"
    ]
    assert event["event"]["sub_title"] == "DET at WAS (Nov 9)"


def test_extra_markets_page_at_the_maximum_limit():
    with SandboxServer(SandboxConfig(start=SANDBOX_START, speed=0, extra_markets=2500, rate_tier=None)) as sandbox:
        pages = []
        cursor = None
        while True:
            body = get(sandbox, "/trade-api/v2/markets", series_ticker="KXSANDBOX", limit=1000,
                       **({"cursor": cursor} if cursor else {})).json()
            pages.append(len(body["markets"]))
            cursor = body["cursor"]
            if not cursor:
                break

    assert pages == [1000, 1000, 500]


def test_admin_endpoints_over_http(sandbox):
    base = sandbox.base_url + "/_sandbox"
    ticker = sandbox.describe_world()["games"][0]["markets"]["DET"]

    clock = requests.post(base + "/clock", json={"advance_seconds": 600}, timeout=5).json()
    jumped = requests.post(base + "/clock", json={"at": "2025-11-09T18:00:00Z"}, timeout=5).json()
    quoted = requests.post(f"{base}/markets/{ticker}/quotes", json={"yes_bid": "0.11", "yes_ask": "0.13"}, timeout=5)
    market = get(sandbox, f"/trade-api/v2/markets/{ticker}").json()["market"]
    fault = requests.post(base + "/faults", json={"kind": "server_error", "path": "/trade-api/v2/series*",
                                                  "status": 503}, timeout=5)
    failed = get(sandbox, "/trade-api/v2/series")
    requests.delete(f"{base}/markets/{ticker}/quotes", timeout=5)
    unpinned = get(sandbox, f"/trade-api/v2/markets/{ticker}").json()["market"]
    bad = requests.post(base + "/faults", json={"kind": "gremlins"}, timeout=5)

    assert clock["now"] == "2025-11-09T17:10:00Z" and jumped["now"] == "2025-11-09T18:00:00Z"
    assert quoted.status_code == 200 and (market["yes_bid_dollars"], market["yes_ask_dollars"]) == ("0.1100", "0.1300")
    assert (market["no_bid_dollars"], market["no_ask_dollars"]) == ("0.8700", "0.8900")
    assert fault.status_code == 200 and failed.status_code == 503
    assert unpinned["yes_bid_dollars"] != "0.1100"
    assert bad.status_code == 400 and "unknown fault kind" in bad.json()["error"]["message"]


def test_the_server_bucket_answers_429_without_retry_after(sandbox):
    statuses = []
    with requests.Session() as session:
        for _ in range(80):
            response = session.get(sandbox.kalshi_base_url + "/markets/KXNFLGAME-25NOV09DETWAS-WAS", timeout=5)
            statuses.append(response.status_code)
            if response.status_code == 429:
                refused = response

    assert statuses[:40] == [200] * 40  # a full Basic read bucket: 400 tokens at 10 per request
    assert 429 in statuses
    assert refused.json() == {"error": "too many requests"} and "Retry-After" not in refused.headers
    assert sandbox.stats()["rate_limited"] == statuses.count(429)


def test_settings_reject_a_base_url_without_the_api_prefix(sandbox):
    from precog_pipelines.lib.kalshi import KalshiConfigError

    with pytest.raises(KalshiConfigError, match="must end in /trade-api/v2"):
        KalshiSettings(base_url=sandbox.base_url)
    assert KalshiSettings(base_url=sandbox.kalshi_base_url + "/").base_url == sandbox.kalshi_base_url
