"""The settings registry: one place for every setting's default and meaning, the README's table
generated from it, and bad values refused at start in one line."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from precog_pipelines.cli import precog
from precog_pipelines.lib.settings import SETTINGS, SettingError, configuration_table, repository_root, validate_settings


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
