"""The settings registry: one place for every setting's default and meaning, the README's table
generated from it, and bad values refused at start in one line."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from precog_pipelines.cli import precog
from precog_pipelines.lib.settings import SETTINGS, SETTINGS_BY_NAME, SettingError, configuration_table, repository_root, validate_settings


def test_the_readme_configuration_table_is_the_registry():
    readme = (repository_root() / "README.md").read_text()
    assert configuration_table() in readme
    assert len({s.name for s in SETTINGS}) == len(SETTINGS)


@pytest.mark.parametrize(("variable", "value", "message"), [
    ("PRECOG_TRADING_MODE", "bogus", "PRECOG_TRADING_MODE 'bogus' is not one of paper, live"),
    ("KALSHI_ENV", "staging", "KALSHI_ENV 'staging' is not one of demo, prod"),
    ("PRECOG_DATA", "replay", "PRECOG_DATA 'replay' is not one of sandbox, live"),
    ("KALSHI_RATE_TIER", "gold", "KALSHI_RATE_TIER 'gold' is not one of basic, advanced, expert"),
    ("PRECOG_DEV_AUTOMATION", "yes", "PRECOG_DEV_AUTOMATION 'yes' is not one of 0, 1"),
    ("PRECOG_DATABASE_URL", "postgresql://", "PRECOG_DATABASE_URL 'postgresql://' names no database"),
    ("PRECOG_DATABASE_URL", "mysql://u:pw@h/db", "PRECOG_DATABASE_URL 'mysql://u:***@h/db' scheme 'mysql' is not PostgreSQL"),
    ("KALSHI_API_BASE_URL", "http://127.0.0.1:99999/trade-api/v2",
     "KALSHI_API_BASE_URL 'http://127.0.0.1:99999/trade-api/v2' is not a valid URL"),
    ("KALSHI_API_BASE_URL", "http://[::1/", "KALSHI_API_BASE_URL 'http://[::1/' is not a valid URL"),
    ("KALSHI_API_BASE_URL", "https://api.example.com/v1", "must end in /trade-api/v2 exactly once"),
    ("ESPN_API_BASE_URL", "ftp://espn.example.com", "ESPN_API_BASE_URL 'ftp://espn.example.com' is not an http(s) URL"),
    ("PRECOG_ALERT_WEBHOOK_URL", "https://u:hunter2@hooks.example.com:99999/x?token=s3cret",
     "PRECOG_ALERT_WEBHOOK_URL 'https://u:***@hooks.example.com:99999/x?token=***' is not a valid URL"),
    ("PRECOG_KALSHI_SERIES", "KXNFLGAME,../portfolio/balance", "'../portfolio/balance', not a Kalshi series ticker"),
    ("PRECOG_ELO_HISTORY_DIR", "/nonexistent/nfl", "PRECOG_ELO_HISTORY_DIR '/nonexistent/nfl' is not a folder"),
    ("PRECOG_MARKET_STALL_MINUTES", "0", "PRECOG_MARKET_STALL_MINUTES '0' is not a whole number of minutes"),
    ("PRECOG_MARKET_STALL_MINUTES", "-5", "PRECOG_MARKET_STALL_MINUTES '-5' is not a whole number of minutes"),
    ("PRECOG_MARKET_STALL_MINUTES", "1.5", "PRECOG_MARKET_STALL_MINUTES '1.5' is not a whole number of minutes"),
])
def test_a_bad_setting_is_refused_in_one_line_naming_it(variable, value, message):
    with pytest.raises(SettingError) as refused:
        validate_settings({variable: value})
    assert message in str(refused.value) and "\n" not in str(refused.value)
    assert "hunter2" not in str(refused.value) and "s3cret" not in str(refused.value)


def test_defaults_and_empty_values_are_accepted():
    validate_settings({})
    validate_settings({s.name: "" for s in SETTINGS})


def test_every_command_refuses_a_bad_setting_before_doing_anything(tmp_path):
    result = CliRunner().invoke(precog, ["env"], env={"PRECOG_TRADING_MODE": "bogus", "PRECOG_HOME": str(tmp_path)})
    assert result.exit_code == 1
    assert result.output == "Error: PRECOG_TRADING_MODE 'bogus' is not one of paper, live\n"
    assert not any(tmp_path.iterdir()), "nothing was started"


# ---- Finding 6 of issue "Hardening": misconfiguration was not refused --------------------------------

MISCONFIGURED = {
    "trading_mode": ({"PRECOG_TRADING_MODE": "bogus"}, "PRECOG_TRADING_MODE 'bogus' is not one of paper, live"),
    "kalshi_env": ({"KALSHI_ENV": "bogus"}, "KALSHI_ENV 'bogus' is not one of demo, prod"),
    "database_url_naming_no_database": (
        {"PRECOG_DATABASE_URL": "postgresql://"},
        "PRECOG_DATABASE_URL 'postgresql://' names no database (postgresql://user:password@host:port/database)"),
}


def _precog(args: list[str], environ: dict[str, str], home) -> subprocess.CompletedProcess:
    """The installed command as a user runs it, in a clean PRECOG_HOME."""
    environment = {k: v for k, v in os.environ.items() if k not in SETTINGS_BY_NAME} | environ
    return subprocess.run([sys.executable, "-m", "precog_pipelines.cli", *args], capture_output=True, text=True,
                          env=environment | {"PRECOG_HOME": str(home)}, timeout=120)


@pytest.mark.parametrize("case", MISCONFIGURED)
@pytest.mark.parametrize("command", [["dev", "--port", "0"], ["env"], ["db", "status"]])
def test_a_misconfigured_command_names_the_setting_in_one_line_and_starts_nothing(case, command, tmp_path):
    """Finding 6: `precog dev` with PRECOG_TRADING_MODE=bogus reported "Precog is running";
    `precog env` exported bogus values with exit 0; PRECOG_DATABASE_URL=postgresql:// was taken
    as a local default database. Each is refused in one line, before anything starts (PRECOG_HOME
    stays empty: no embedded server, no Dagster home)."""
    environ, message = MISCONFIGURED[case]

    result = _precog(command, environ, tmp_path)

    assert (result.returncode, result.stdout, result.stderr) == (1, "", f"Error: {message}\n")
    assert list(tmp_path.iterdir()) == []


def test_every_bad_setting_is_named_in_the_one_line(tmp_path):
    """Finding 6: `precog env` with a bogus KALSHI_ENV and trading mode names both, with their
    accepted values, and exports nothing."""
    result = _precog(["env"], {"KALSHI_ENV": "bogus", "PRECOG_TRADING_MODE": "bogus"}, tmp_path)

    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == ("Error: KALSHI_ENV 'bogus' is not one of demo, prod; "
                             "PRECOG_TRADING_MODE 'bogus' is not one of paper, live\n")
