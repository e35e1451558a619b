"""Issue 18, findings 9 and 11: every door of the ``precog`` command refuses a bad option, path or
setting in one line naming it and its value, with a nonzero exit and no traceback, before
anything starts or any request leaves."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from precog_pipelines.cli import precog
from precog_pipelines.lib.kalshi import KalshiConfigError, KalshiSigner, load_private_key
from precog_pipelines.lib.kalshi.settings import kalshi_settings

# Should a refusal regress, `precog dev` stops at this closed port instead of starting a stack.
NO_WAREHOUSE = "postgresql://precog@127.0.0.1:1/nowhere"


def invoke(args: list[str], env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(precog, args, env=env)


def one_error(result: Result) -> str:
    """The single ``Error:`` line of a refused command (click's usage lines may precede it)."""
    assert result.exit_code != 0, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.output
    assert len([line for line in result.output.splitlines() if line.strip()]) <= 4, result.output
    return errors[0]


def dev(*args: str, tmp_path: Path) -> Result:
    return invoke(["dev", *args], env={"PRECOG_HOME": str(tmp_path), "PRECOG_DATABASE_URL": NO_WAREHOUSE})


def sandbox_command(*args: str, tmp_path: Path) -> Result:
    """`precog sandbox` with a PRECOG_HOME that is a file: should a refusal regress, the command
    fails creating its credentials folder instead of serving until interrupted."""
    home = tmp_path / "home-is-a-file"
    home.write_text("")
    return invoke(["sandbox", *args], env={"PRECOG_HOME": str(home)})


# ---- Finding 9: ports, speeds, the output path ------------------------------------------------


@pytest.mark.parametrize("port", ["99999", "-1", "65536"])
def test_sandbox_port_out_of_range_is_one_line(port, tmp_path):
    """Finding 9: `precog sandbox --port 99999|-1|65536` was an OverflowError traceback."""
    error = one_error(sandbox_command("--port", port, tmp_path=tmp_path))
    assert error == f"Error: Invalid value for '--port': {port} is not in the range 0<=x<=65535."


@pytest.mark.parametrize("port", ["99999", "-1", "65536", "0"])
def test_dev_port_out_of_range_is_one_line(port, tmp_path):
    """Finding 9: `precog dev --port 99999|-1|65536` was an OverflowError traceback."""
    error = one_error(dev("--port", port, tmp_path=tmp_path))
    assert error == f"Error: Invalid value for '--port': {port} is not in the range 1<=x<=65535."
    assert not any(tmp_path.iterdir()), "nothing was started"


@pytest.mark.parametrize("speed", ["-5", "nan", "inf", "-inf", "1e400"])
def test_sandbox_speed_must_be_finite_and_not_negative(speed, tmp_path):
    """Finding 9 (`--speed -5` was a ValueError traceback) and finding 11 (`--speed nan|inf` were accepted)."""
    error = one_error(sandbox_command("--port", "0", "--speed", speed, tmp_path=tmp_path))
    assert error.startswith("Error: Invalid value for '--speed': ") and "0<=x<=" in error


@pytest.mark.parametrize("speed", ["-5", "nan", "inf"])
def test_dev_sandbox_speed_must_be_finite_and_not_negative(speed, tmp_path):
    """Findings 9 and 11 for `precog dev --sandbox-speed` (-5 started the whole stack)."""
    error = one_error(dev("--sandbox-speed", speed, tmp_path=tmp_path))
    assert error.startswith("Error: Invalid value for '--sandbox-speed': ") and "0<=x<=" in error


@pytest.mark.parametrize("command", ["sandbox", "dev"])
def test_a_host_that_is_no_address_is_named_as_such(command, tmp_path):
    """Finding 11: `--host 999.1.1.1` was reported as "port in use" (dev) or "pass another --port" (sandbox)."""
    error = one_error(dev("--host", "999.1.1.1", tmp_path=tmp_path) if command == "dev"
                      else sandbox_command("--host", "999.1.1.1", tmp_path=tmp_path))
    assert error.startswith("Error: Invalid value for '--host': '999.1.1.1' is not an address")
    assert "port" not in error.removeprefix("Error: Invalid value for '--host'")


def test_an_address_of_another_machine_is_not_called_port_in_use(tmp_path):
    """Finding 11: binding fails for a reason other than a busy port; say that reason."""
    error = one_error(dev("--host", "192.0.2.1", tmp_path=tmp_path))  # TEST-NET-1: never local
    assert "already in use" not in error
    assert error.startswith("Error: cannot listen on 192.0.2.1:3000 (") and "--host" in error


@pytest.mark.parametrize("command", [
    ["kalshi", "markets", "--series-ticker", "KXNFLGAME", "--output"],
    *(["kalshi", portfolio_list, "--output"] for portfolio_list in ("positions", "fills", "orders", "settlements")),
    ["elo", "replay", "--output"],
    ["model", "evaluate", "--output"],
])
def test_an_output_file_in_a_missing_folder_is_refused_before_anything_runs(command, tmp_path):
    """Finding 9: `--output /nonexistent/x.jsonl` was a FileNotFoundError traceback."""
    target = tmp_path / "nonexistent" / "x.jsonl"
    error = one_error(invoke([*command, str(target)], env={"PRECOG_DATABASE_URL": NO_WAREHOUSE,
                                                          "KALSHI_API_BASE_URL": "http://127.0.0.1:1/trade-api/v2"}))
    assert error == f"Error: Invalid value for '--output': folder '{target.parent}' does not exist."


# ---- Finding 9: settings -----------------------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [
    ("http://127.0.0.1:99999/trade-api/v2", "Error: KALSHI_API_BASE_URL 'http://127.0.0.1:99999/trade-api/v2' is not a valid URL"),
    ("http://[::1/", "Error: KALSHI_API_BASE_URL 'http://[::1/' is not a valid URL"),
])
def test_a_kalshi_base_url_with_a_bad_port_or_host_is_one_line(value, expected):
    """Finding 9 (already fixed by issue 12's settings registry; kept as a regression test)."""
    error = one_error(invoke(["kalshi", "markets", "--series-ticker", "KXNFLGAME"], env={"KALSHI_API_BASE_URL": value}))
    assert error.startswith(expected)


@pytest.mark.parametrize("key_id", ["sandbox-\u20ac", "caf\u00e9", "two words", "tab\tid", ""])
def test_a_key_id_that_cannot_be_an_http_header_is_refused(key_id, kalshi_key):
    """Finding 9: a non-latin-1 KALSHI_API_KEY_ID was a UnicodeEncodeError traceback at the first signed call."""
    if key_id:
        error = one_error(invoke(["kalshi", "balance"], env={"KALSHI_API_KEY_ID": key_id,
                                                             "KALSHI_API_BASE_URL": "http://127.0.0.1:1/trade-api/v2"}))
        assert error.startswith(f"Error: KALSHI_API_KEY_ID {key_id!r} is not a Kalshi API key id")
    # Resources build the signer without the registry: the signer refuses it too.
    private_key = load_private_key(kalshi_key.private_key_path)
    with pytest.raises(KalshiConfigError, match="KALSHI_API_KEY_ID"):
        KalshiSigner(key_id, private_key)


@pytest.mark.parametrize("variable", ["KALSHI_PRIVATE_KEY_PATH", "PRECOG_HOME", "PRECOG_ELO_HISTORY_DIR"])
def test_a_path_with_an_unknown_user_is_one_line(variable):
    """Finding 9: `~nouser/x.pem` was a RuntimeError ("Could not determine home directory") traceback."""
    value = "~precog-no-such-user/x.pem"
    error = one_error(invoke(["kalshi", "balance"], env={variable: value,
                                                         "KALSHI_API_BASE_URL": "http://127.0.0.1:1/trade-api/v2"}))
    assert error.startswith(f"Error: {variable} {value!r} ") and "precog-no-such-user" in error
    with pytest.raises(KalshiConfigError, match="KALSHI_PRIVATE_KEY_PATH"):
        kalshi_settings("demo", private_key_path=value)


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))


@pytest.mark.parametrize("kind", ["device", "fifo", "huge"])
def test_a_key_path_that_is_no_regular_file_is_refused_without_reading_it(kind, tmp_path):
    """Finding 9: KALSHI_PRIVATE_KEY_PATH=/dev/zero read memory without bound, a FIFO hung forever.
    The subprocess runs under a 1 GiB address-space limit and a timeout, so the old behaviour
    fails the test (MemoryError traceback, TimeoutExpired) instead of the machine."""
    if kind == "device":
        path = Path("/dev/zero")
    elif kind == "fifo":
        path = tmp_path / "key.pem"
        os.mkfifo(path)
    else:
        path = tmp_path / "key.pem"
        with path.open("wb") as handle:
            handle.truncate(2 << 30)  # sparse: 2 GiB that take no disk
    result = subprocess.run(
        [sys.executable, "-m", "precog_pipelines.cli", "kalshi", "balance"], capture_output=True, text=True,
        timeout=60, preexec_fn=_limit_memory,
        env=os.environ | {"KALSHI_API_KEY_ID": "doors", "KALSHI_PRIVATE_KEY_PATH": str(path),
                          "KALSHI_API_BASE_URL": "http://127.0.0.1:1/trade-api/v2"},
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.splitlines() == [
        f"Error: Kalshi private key file {path} (KALSHI_PRIVATE_KEY_PATH) "
        + ("is too large for a PEM key (2147483648 bytes)" if kind == "huge" else "is not a regular file")
    ]


@pytest.mark.parametrize("how", ["environment", "option"])
def test_an_unknown_database_url_option_is_one_line(how):
    """Finding 9: `postgresql://...?bogus=1` was a psycopg ProgrammingError traceback."""
    url = "postgresql://precog:hunter2@127.0.0.1:1/db?bogus=1"
    result = (invoke(["db", "status"], env={"PRECOG_DATABASE_URL": url}) if how == "environment"
              else invoke(["db", "status", "--database-url", url], env={"PRECOG_DATABASE_URL": ""}))
    error = one_error(result)
    assert "'bogus'" in error and "hunter2" not in error
    assert error.startswith("Error: PRECOG_DATABASE_URL" if how == "environment"
                            else "Error: Invalid value for '--database-url'")


# ---- Finding 11: series tickers ----------------------------------------------------------------


@pytest.mark.parametrize("ticker", ["", "A" * 100_000, "../portfolio/balance", "kxnflgame", "KX NFL"])
def test_a_series_ticker_that_is_no_kalshi_ticker_sends_nothing(ticker, sandbox, sandbox_environ):
    """Finding 11: `--series-ticker ""` listed every market of every series; 100,000 characters printed
    the server's HTML 414 page as the error."""
    sandbox.reset_stats()
    error = one_error(invoke(["kalshi", "markets", "--series-ticker", ticker]))
    assert error.startswith(f"Error: Invalid value for '--series-ticker': {ticker[:40]!r}"[:70])
    assert "is not a Kalshi ticker" in error and len(error) < 400
    assert sandbox.stats().get("requests", 0) == 0


def test_an_event_ticker_filter_is_checked_too(sandbox, sandbox_environ):
    """Finding 11: the other ticker option of the same command."""
    sandbox.reset_stats()
    error = one_error(invoke(["kalshi", "markets", "--series-ticker", "KXNFLGAME", "--event-ticker", ""]))
    assert error.startswith("Error: Invalid value for '--event-ticker': '' is not a Kalshi ticker")
    assert sandbox.stats().get("requests", 0) == 0
