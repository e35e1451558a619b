"""``precog kalshi`` and ``precog sandbox`` as a user runs them: real processes, real HTTP."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import requests

from precog_pipelines.sandbox import SandboxConfig, SandboxServer
from precog_pipelines_tests.conftest import SANDBOX_START


def precog(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "precog_pipelines.cli", *args],
        capture_output=True, text=True, env=os.environ | env, timeout=timeout,
    )


def one_error_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    return lines[0]


def test_balance_with_a_real_key_against_the_sandbox(sandbox_environ, kalshi_key):
    pkcs8 = precog("kalshi", "balance", env=sandbox_environ)
    pkcs1 = precog("kalshi", "balance",
                   env=sandbox_environ | {"KALSHI_PRIVATE_KEY_PATH": str(kalshi_key.pkcs1_private_key_path)})

    for result in (pkcs8, pkcs1):
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("Balance: $1,000.00 (positions worth $0.00) at http://127.0.0.1:")


def test_markets_crawl_to_a_jsonl_file(sandbox_environ, sandbox, tmp_path):
    output = tmp_path / "markets.jsonl"

    everything = precog("kalshi", "markets", "--series-ticker", "KXNFLGAME", "--output", str(output),
                        env=sandbox_environ)
    unopened = precog("kalshi", "markets", "--series-ticker", "KXNFLGAME", "--status", "unopened",
                      env=sandbox_environ)

    assert everything.returncode == 0, everything.stderr
    assert everything.stdout.strip() == f"14 markets in series KXNFLGAME, written to {output}"
    rows = [json.loads(line) for line in output.read_text().splitlines()]
    expected = {t for g in sandbox.describe_world()["games"] for t in g["markets"].values()}
    assert {row["ticker"] for row in rows} == expected and all("yes_bid_dollars" in row for row in rows)
    assert unopened.stdout.strip() == "2 markets in series KXNFLGAME status=unopened"


def test_invalid_markets_are_counted_and_still_written(sandbox_environ, sandbox, tmp_path):
    sandbox.inject("malform", path="/trade-api/v2/markets", field="no_ask_dollars", value="1.5")
    output = tmp_path / "markets.jsonl"

    result = precog("kalshi", "markets", "--series-ticker", "KXNFLGAME", "--output", str(output), env=sandbox_environ)

    assert result.returncode == 0 and len(output.read_text().splitlines()) == 14
    assert "warning: 1 of them failed validation, e.g. market KXNFLGAME-" in result.stderr
    assert "'no_ask_dollars' is outside 0..1 dollars (got '1.5')" in result.stderr


def test_a_failed_crawl_leaves_no_file(tmp_path):
    config = SandboxConfig(start=SANDBOX_START, speed=0, extra_markets=2500)
    with SandboxServer(config) as sandbox:
        sandbox.inject("repeat_cursor", path="/trade-api/v2/markets")
        output = tmp_path / "markets.jsonl"
        result = precog("kalshi", "markets", "--series-ticker", "KXSANDBOX", "--output", str(output),
                        env={"KALSHI_API_BASE_URL": sandbox.kalshi_base_url})

    assert "a second time after 2 page(s)" in one_error_line(result)
    assert list(tmp_path.iterdir()) == []


def test_user_errors_are_one_line_and_never_leak_the_key(sandbox_environ, tmp_path):
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("-----BEGIN PRIVATE KEY-----\nSECRET-BYTES\n-----END PRIVATE KEY-----\n")

    missing = one_error_line(precog("kalshi", "balance",
                                    env=sandbox_environ | {"KALSHI_PRIVATE_KEY_PATH": str(tmp_path / "none.pem")}))
    invalid = one_error_line(precog("kalshi", "balance", env=sandbox_environ | {"KALSHI_PRIVATE_KEY_PATH": str(garbage)}))
    unknown = one_error_line(precog("kalshi", "balance", env=sandbox_environ | {"KALSHI_API_KEY_ID": "someone-else"}))
    environment = one_error_line(precog("kalshi", "balance", env=sandbox_environ | {"KALSHI_ENV": "staging"}))

    assert missing == f"Error: Kalshi private key file {tmp_path / 'none.pem'} (KALSHI_PRIVATE_KEY_PATH) does not exist"
    assert "is not a PEM RSA private key" in invalid and "SECRET-BYTES" not in invalid
    assert "HTTP 401 authentication_error" in unknown and "KALSHI_API_KEY_ID" in unknown
    assert environment == "Error: KALSHI_ENV 'staging' is not one of demo, prod"


def test_precog_sandbox_serves_in_the_foreground_until_interrupted(tmp_path):
    process = subprocess.Popen(
        [sys.executable, "-m", "precog_pipelines.cli", "sandbox", "--port", "0", "--speed", "0",
         "--start", "2025-11-09T17:00Z"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ | {"PRECOG_HOME": str(tmp_path)},
    )
    try:
        banner = []
        for line in process.stdout:
            banner.append(line)
            if line.startswith("Press Ctrl-C"):
                break
        text = "".join(banner)
        kalshi_url = next(line.split()[-1] for line in banner if line.strip().startswith("Kalshi:"))
        market = requests.get(kalshi_url + "/markets/KXNFLGAME-25NOV09DETWAS-WAS", timeout=5)
        exports = dict(item.split("=", 1) for item in next(line for line in banner if "export" in line).split()[1:])
        signed = precog("kalshi", "balance", env=exports)
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)

    assert "simulated start 2025-11-09T17:00Z" in text and "ESPN:   http://127.0.0.1:" in text
    assert market.status_code == 200 and market.json()["market"]["status"] == "active"
    assert signed.returncode == 0 and signed.stdout.startswith("Balance: $1,000.00"), signed.stderr
    assert (tmp_path / "sandbox" / "sandbox-private-key.pem").stat().st_mode & 0o777 == 0o600
    assert process.returncode == 0 and "Sandbox stopped." in out and "Traceback" not in err
