"""``precog kalshi positions|fills|orders|settlements`` as a user runs them: real processes, real
signed HTTP to the sandbox (which verifies RSA-PSS), after trading on it so every list has rows.

The expected records come from the sandbox's exchange itself (in process, no HTTP, no cursor),
so a page lost, repeated or reordered by the crawl shows as a difference.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from click.testing import CliRunner

from precog_pipelines.cli import precog as precog_command
from precog_pipelines.cli.kalshi import _held, format_dollars
from precog_pipelines.lib.kalshi.models import MarketPosition
from precog_pipelines.lib.resilient_http import RetryPolicy
from precog_pipelines_tests.unit.test_cli_kalshi import one_error_line, precog

COMMANDS = ("positions", "fills", "orders", "settlements")
PATHS = {name: f"/trade-api/v2/portfolio/{name}" for name in COMMANDS}
# The CLI runs with the production retry policy: six attempts, the first one included.
RETRY_ATTEMPTS = RetryPolicy().max_attempts


@dataclass(frozen=True)
class Account:
    """The tickers and moments of the trades placed on the sandbox."""

    settled_winner: str
    settled_loser: str
    open_early: str
    open_late: str
    late_fill_time: datetime


def _buy(client, ticker: str, count: int, price: str, time_in_force: str = "immediate_or_cancel") -> None:
    client.create_order(ticker=ticker, side="bid", count=count, price=Decimal(price), time_in_force=time_in_force)


@pytest.fixture
def account(sandbox, kalshi_client) -> Account:
    """Two settled markets (one won, one lost), two open positions bought 5 minutes apart, and one
    resting order: five orders, four fills, two settlements, two positions."""
    games = sandbox.describe_world()["games"]
    settled, still_playing = games[0], games[4]
    winner = settled["markets"][settled["winner"]]
    loser = next(t for team, t in settled["markets"].items() if team != settled["winner"])
    early, late = still_playing["markets"][still_playing["away"]], still_playing["markets"][still_playing["home"]]

    sandbox.advance(30 * 60)  # 17:30, the first games are on
    sandbox.set_quotes(winner, yes_bid="0.50", yes_ask="0.52")
    sandbox.set_quotes(loser, yes_bid="0.46", yes_ask="0.49")
    _buy(kalshi_client, winner, 20, "0.52")
    _buy(kalshi_client, loser, 10, "0.49")
    sandbox.advance(75 * 60)  # 18:45, the late game is on
    sandbox.set_quotes(early, yes_bid="0.40", yes_ask="0.43")
    sandbox.set_quotes(late, yes_bid="0.55", yes_ask="0.58")
    _buy(kalshi_client, early, 5, "0.43")
    late_fill_time = sandbox.advance(5 * 60)
    _buy(kalshi_client, late, 4, "0.58")
    _buy(kalshi_client, late, 3, "0.50", time_in_force="good_till_canceled")  # below the ask: rests
    sandbox.set_time(datetime.fromisoformat(settled["finalized_at"]) + timedelta(minutes=3))
    return Account(winner, loser, early, late, late_fill_time)


def truth(sandbox, kalshi_key, command: str, *, ticker: str | None = None) -> list[dict]:
    """What the exchange holds for this key, read in process."""
    exchange, key, now = sandbox.exchange, kalshi_key.key_id, sandbox.now()
    if command == "positions":
        return exchange.positions(key, now, ticker=ticker)[0]
    if command == "fills":
        return exchange.fills(key, now, ticker=ticker, order_id=None)
    if command == "orders":
        return exchange.orders(key, now, ticker=ticker, status=None)
    return exchange.settlements(key, now, ticker=ticker)


def jsonl(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def table_rows(stdout: str) -> list[list[str]]:
    """The body rows of a printed table (after the ``----`` rule), split on whitespace."""
    lines = stdout.splitlines()
    rule = next(i for i, line in enumerate(lines) if line.startswith("---"))
    return [line.split() for line in lines[rule + 1:-1]]


# ---- against the sandbox, signed ------------------------------------------------------------------


@pytest.mark.parametrize("command", COMMANDS)
def test_each_list_follows_the_cursor_to_the_last_page_into_a_jsonl_file(
        command, account, sandbox, sandbox_environ, kalshi_key, tmp_path):
    expected = truth(sandbox, kalshi_key, command)
    output = tmp_path / f"{command}.jsonl"
    sandbox.reset_stats()

    result = precog("kalshi", command, "--page-size", "1", "--output", str(output), env=sandbox_environ)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{len(expected)} {command}, written to {output}"
    assert len(expected) >= 2 and jsonl(output) == expected  # one record a page: at least two pages
    assert [p.name for p in tmp_path.iterdir()] == [output.name]  # the temporary file was renamed


def test_positions_table(account, sandbox_environ):
    result = precog("kalshi", "positions", env=sandbox_environ)

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].split() == ["ticker", "held", "exposure", "realized", "P&L", "fees",
                                                     "traded", "updated"]
    rows = {row[0]: row[1:] for row in table_rows(result.stdout)}
    # 5 YES at $0.43 and 4 YES at $0.58; taker fees ceil(0.07 * n * p * (1 - p)) to the cent.
    assert rows == {
        account.open_early: ["5", "YES", "$2.15", "$0.00", "$0.09", "$2.15", "2025-11-09T18:45:00Z"],
        account.open_late: ["4", "YES", "$2.32", "$0.00", "$0.07", "$2.32", "2025-11-09T18:50:00Z"],
    }
    assert result.stdout.splitlines()[-1] == "2 positions"


def test_settlements_table(account, sandbox_environ):
    result = precog("kalshi", "settlements", env=sandbox_environ)

    assert result.returncode == 0, result.stderr
    rows = {row[1]: row[2:] for row in table_rows(result.stdout)}
    assert rows == {
        account.settled_winner: ["yes", "20", "0", "$10.40", "$20.00", "$0.00"],
        account.settled_loser: ["no", "10", "0", "$4.90", "$0.00", "$0.00"],
    }
    assert result.stdout.splitlines()[-1] == "2 settlements"


def test_fills_and_orders_tables(account, sandbox_environ):
    fills = precog("kalshi", "fills", env=sandbox_environ)
    orders = precog("kalshi", "orders", env=sandbox_environ)

    assert fills.returncode == 0 and orders.returncode == 0, fills.stderr + orders.stderr
    fill_rows = {row[1]: row[2:8] for row in table_rows(fills.stdout)}
    assert fill_rows[account.settled_winner] == ["YES", "bid", "20", "$0.52", "$0.35", "taker"]
    assert fill_rows[account.open_late] == ["YES", "bid", "4", "$0.58", "$0.07", "taker"]
    assert fills.stdout.splitlines()[-1] == "4 fills"
    order_rows = sorted(row[2:9] for row in table_rows(orders.stdout) if row[1] == account.open_late)
    assert order_rows == [["executed", "bid", "$0.58", "4/4", "0", "$2.32", "$0.07"],
                          ["resting", "bid", "$0.50", "0/3", "3", "$0.00", "$0.00"]]
    assert orders.stdout.splitlines()[-1] == "5 orders"


@pytest.mark.parametrize("command", COMMANDS)
def test_ticker_filter(command, account, sandbox, sandbox_environ, kalshi_key, tmp_path):
    ticker = account.open_late if command in ("positions", "orders") else account.settled_winner
    output = tmp_path / "one.jsonl"

    result = precog("kalshi", command, "--ticker", ticker, "--output", str(output), env=sandbox_environ)

    assert result.returncode == 0, result.stderr
    rows = jsonl(output)
    assert rows and rows == truth(sandbox, kalshi_key, command, ticker=ticker)
    assert result.stdout.strip() == f"{len(rows)} {command} ticker={ticker}, written to {output}"


# The moment each record is kept by; positions have no server-side time filter (filtered locally).
MOMENTS = {"positions": "last_updated_ts", "fills": "created_time", "orders": "created_time",
           "settlements": "settled_time"}


@pytest.mark.parametrize("command", COMMANDS)
def test_since_keeps_what_happened_at_or_after_it(command, account, sandbox, sandbox_environ, kalshi_key, tmp_path):
    since = account.late_fill_time
    output = tmp_path / "since.jsonl"

    result = precog("kalshi", command, "--since", f"{since:%Y-%m-%dT%H:%M}", "--output", str(output),
                    env=sandbox_environ)

    assert result.returncode == 0, result.stderr
    expected = [r for r in truth(sandbox, kalshi_key, command) if datetime.fromisoformat(r[MOMENTS[command]]) >= since]
    everything = truth(sandbox, kalshi_key, command)
    assert jsonl(output) == expected
    if command != "settlements":  # both settled at 20:17, after the late fill: nothing to drop
        assert 0 < len(expected) < len(everything)
    assert f"since={since:%Y-%m-%dT%H:%M:%SZ}" in result.stdout


def test_an_empty_account_prints_no_table(sandbox, sandbox_environ):
    result = precog("kalshi", "fills", env=sandbox_environ)
    assert result.returncode == 0 and result.stdout == "0 fills\n", result.stderr


# ---- against the stand-in's faults: cursor pages, 429 and 5xx ---------------------------------------


@pytest.mark.parametrize("command", COMMANDS)
def test_429_and_5xx_within_the_retry_budget_lose_nothing(command, account, sandbox, sandbox_environ, kalshi_key,
                                                          tmp_path):
    # The second page meets a 429, then a 503, then arrives (3 of the 6 attempts).
    rate_limited = sandbox.inject("rate_limit", path=PATHS[command], skip=1)
    failed = sandbox.inject("server_error", path=PATHS[command], skip=1, status=503)
    output = tmp_path / f"{command}.jsonl"

    result = precog("kalshi", command, "--page-size", "1", "--output", str(output), env=sandbox_environ)

    assert result.returncode == 0 and "Error" not in result.stderr, result.stderr
    assert rate_limited.fired == failed.fired == 1
    assert jsonl(output) == truth(sandbox, kalshi_key, command)


# The production backoff costs about 17 s a case: every command and both faults, not every pair
# (the four commands share one implementation).
@pytest.mark.slow
@pytest.mark.parametrize(("command", "kind"), [("positions", "429"), ("fills", "503"), ("orders", "429"),
                                               ("settlements", "503")])
def test_a_fault_beyond_the_retry_budget_is_one_error_line_and_leaves_no_file(
        command, kind, account, sandbox, sandbox_environ, tmp_path):
    options = {"status": 503} if kind == "503" else {}
    fault = sandbox.inject("rate_limit" if kind == "429" else "server_error", path=PATHS[command], skip=1,
                           count=None, probability=1.0, **options)
    output = tmp_path / f"{command}.jsonl"

    result = precog("kalshi", command, "--page-size", "1", "--output", str(output), env=sandbox_environ)

    # stderr: one notice per retry while the user waits, then the one error line.
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    *notices, error = result.stderr.splitlines()
    assert [n.split("; retry ")[1].split(" in ")[0] for n in notices] == [
        f"{n}/{RETRY_ATTEMPTS - 1}" for n in range(1, RETRY_ATTEMPTS)], notices
    assert error.startswith(f"Error: GET {PATHS[command]}: gave up after {RETRY_ATTEMPTS} attempt(s)"), error
    assert f"HTTP {kind}" in error and fault.fired == RETRY_ATTEMPTS
    assert result.stdout == "" and list(tmp_path.iterdir()) == []  # the first page arrived; no file


def test_a_fault_beyond_the_budget_prints_no_partial_table(account, sandbox, sandbox_environ):
    sandbox.inject("repeat_cursor", path=PATHS["fills"])

    result = precog("kalshi", "fills", "--page-size", "1", env=sandbox_environ)

    assert "a second time after 2 page(s)" in one_error_line(result)
    assert result.stdout == ""


# ---- bad input: one line naming it, nothing sent ------------------------------------------------------


def invoke(*args: str, env: dict[str, str | None]):
    return CliRunner().invoke(precog_command, list(args), env=env)


def error_line(result) -> str:
    assert result.exit_code != 0 and "Traceback" not in result.output, result.output
    [line] = [line for line in result.output.splitlines() if line.startswith("Error:")]
    return line


@pytest.mark.parametrize("command", COMMANDS)
def test_missing_credentials_name_both_variables(command, sandbox):
    result = invoke("kalshi", command, env={"KALSHI_API_BASE_URL": sandbox.kalshi_base_url,
                                            "KALSHI_API_KEY_ID": None, "KALSHI_PRIVATE_KEY_PATH": None})
    error = error_line(result)
    assert error.startswith("Error: this Kalshi call needs credentials; set KALSHI_API_KEY_ID and KALSHI_PRIVATE_KEY_PATH")
    assert sandbox.stats().get("requests", 0) == 0


@pytest.mark.parametrize("value", ["yesterday", "2025-13-01", "2025-11-09T25:00Z", "1969-12-31", ""])
@pytest.mark.parametrize("command", COMMANDS)
def test_a_since_that_is_no_utc_time_is_refused_naming_it(command, value, sandbox, sandbox_environ):
    sandbox.reset_stats()
    error = error_line(invoke("kalshi", command, "--since", value, env=sandbox_environ))
    assert error.startswith(f"Error: Invalid value for '--since': {value!r} is ")
    assert sandbox.stats().get("requests", 0) == 0


@pytest.mark.parametrize("command", COMMANDS)
def test_a_ticker_that_is_no_kalshi_ticker_sends_nothing(command, sandbox, sandbox_environ):
    sandbox.reset_stats()
    error = error_line(invoke("kalshi", command, "--ticker", "../portfolio/balance", env=sandbox_environ))
    assert error.startswith("Error: Invalid value for '--ticker': '../portfolio/balance' is not a Kalshi ticker")
    assert sandbox.stats().get("requests", 0) == 0


def test_since_with_an_offset_is_converted_to_utc(account, sandbox, sandbox_environ, kalshi_key, tmp_path):
    output = tmp_path / "fills.jsonl"
    eastern = account.late_fill_time.astimezone(timezone(timedelta(hours=-5)))  # 13:50-05:00
    result = precog("kalshi", "fills", "--since", eastern.isoformat(), "--output", str(output), env=sandbox_environ)
    assert result.returncode == 0, result.stderr
    assert [row["ticker"] for row in jsonl(output)] == [account.open_late]


def test_dollars_are_formatted_from_decimals():
    assert format_dollars(Decimal("1234.5")) == "$1,234.50"
    assert format_dollars(Decimal("-3.2")) == "-$3.20"
    assert format_dollars(Decimal("0.1234")) == "$0.1234"
    assert format_dollars(Decimal("10.00")) == "$10.00"



@pytest.mark.parametrize(("position", "shown"), [("10.00", "10 YES"), ("-4.50", "4.5 NO"), ("0.00", "0")])
def test_a_position_shows_the_side_it_holds(position, shown):
    zero = Decimal(0)
    assert _held(MarketPosition("KXT-1", Decimal(position), zero, zero, zero, zero, None)) == shown
