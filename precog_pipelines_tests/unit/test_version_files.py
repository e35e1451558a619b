"""Strategy and model version files: read exactly, checked in full, every bad field named with its
value in one line (``precog strategy|model create --file``)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from click.testing import CliRunner

from precog_pipelines.cli import precog
from precog_pipelines.lib.trading.strategy import STRATEGY_FIELDS, parse_strategy
from precog_pipelines.lib.versions.files import VersionFileError, read_model_file, read_strategy_file

STRATEGY = """\
name: wide_stop
version: 1.10
description: Default paper strategy with a wider stop loss
config:
  min_edge: 0.03
  stake_per_trade: 25
  max_open_exposure: "250.00"
  exit_rules:
    stop_loss: 0.15
    profit_target: 0.20
    exit_minutes_before_close: 30
"""

MODEL = """\
name: elo_nfl
version: "3.0"
type: elo
league: nfl
config:
  k_factor: 18
  home_field_advantage: 60.5
  rating_scale: 400
  reversion_mean: 1505
  reversion_keep_fraction: 0.6
  new_team_rating: 1300
  margin_multiplier: {scale: 2.2, rating_diff_coefficient: 0.001, offset: 2.2, tie_divisor: 1.0}
  fitted_seasons: [1979, 2014]
"""


def _file(tmp_path, text: str):
    path = tmp_path / "version.yaml"
    path.write_text(text)
    return path


def test_strategy_file_is_read_exactly_and_stored_as_strings(tmp_path):
    spec = read_strategy_file(_file(tmp_path, STRATEGY))
    # An unquoted 1.10 keeps its trailing zero; 0.03 is the Decimal 0.03, never a float.
    assert (spec.name, spec.version) == ("wide_stop", "1.10")
    assert spec.config == {"min_edge": "0.03", "stake_per_trade": "25", "max_open_exposure": "250.00",
                           "exit_rules": {"stop_loss": "0.15", "profit_target": "0.20",
                                          "exit_minutes_before_close": 30, "limit_attempts": 3}}
    strategy = parse_strategy(1, spec.name, spec.version, spec.config)
    assert strategy.min_edge == Decimal("0.03") and strategy.exit_rules.trailing_stop_distance is None


@pytest.mark.parametrize("line,replacement,message", [
    ("  min_edge: 0.03", "  min_edge: 1.5", "min_edge 1.5 is outside 0..1"),
    ("  min_edge: 0.03", "  min_edge: abc", "min_edge 'abc' is not a number"),
    ("  min_edge: 0.03", "  min_edge: .inf", "min_edge inf must be a string or integer, not a float"),
    ("  min_edge: 0.03", "  min_edge: 0.03125", "min_edge 0.03125 has more than 4 decimal places"),
    ("  stake_per_trade: 25", "  stake_per_trade: 0", "stake_per_trade 0 is outside >= 0.01"),
    ("  stake_per_trade: 25", "  stake_per_trade: true", "stake_per_trade True must be a string or integer, not a boolean"),
    ("  stake_per_trade: 25", "  stake_per_trde: 25", "stake_per_trde is not a strategy field"),
    ("    exit_minutes_before_close: 30", "    exit_minutes_before_close: -5",
     "exit_rules.exit_minutes_before_close -5 must be an integer >= 0"),
    ("    stop_loss: 0.15", "    stop_loss: [0.15]", "exit_rules.stop_loss [Decimal('0.15')] is not a number"),
    ("version: 1.10", "version: 2", "version 2 must be MAJOR.MINOR"),
    ("name: wide_stop", "name: Wide Stop", "name 'Wide Stop' must be lowercase letters"),
    ("name: wide_stop", "name: wide_stop\ncolour: red", "'colour' is not a file key"),
    ("name: wide_stop", "name: wide_stop\nname: other", "key 'name' is written twice"),
])
def test_a_bad_strategy_value_is_one_line_naming_field_and_value(tmp_path, line, replacement, message):
    assert line in STRATEGY
    with pytest.raises(VersionFileError) as error:
        read_strategy_file(_file(tmp_path, STRATEGY.replace(line, replacement)))
    assert message in str(error.value) and "\n" not in str(error.value)


def test_every_bad_strategy_field_is_named_at_once(tmp_path):
    text = STRATEGY.replace("min_edge: 0.03", "min_edge: -1").replace("stake_per_trade: 25", "stake_per_trade: x")
    with pytest.raises(VersionFileError) as error:
        read_strategy_file(_file(tmp_path, text.replace("version: 1.10", "version: v1")))
    message = str(error.value)
    assert message.startswith(f"{tmp_path / 'version.yaml'}: ") and "\n" not in message
    for part in ("version 'v1' must be MAJOR.MINOR", "min_edge -1 is outside 0..1", "stake_per_trade 'x' is not a number"):
        assert part in message


@pytest.mark.parametrize("text,message", [
    ("name: [unclosed", "not valid YAML"),
    ("- a list", "must be a YAML mapping"),
    ("name: wide_stop\nversion: '1.0'\n", "config is missing"),
])
def test_an_unreadable_file_is_one_line(tmp_path, text, message):
    with pytest.raises(VersionFileError, match=message) as error:
        read_strategy_file(_file(tmp_path, text))
    assert "\n" not in str(error.value)


def test_model_file_keeps_elo_parameters_as_numbers_and_provenance(tmp_path):
    spec = read_model_file(_file(tmp_path, MODEL))
    assert (spec.name, spec.version, spec.model_type, spec.league) == ("elo_nfl", "3.0", "elo", "nfl")
    assert spec.config["home_field_advantage"] == 60.5 and spec.config["k_factor"] == 18
    assert spec.config["fitted_seasons"] == [1979, 2014]


def test_every_bad_model_field_is_named_with_its_value(tmp_path):
    text = (MODEL.replace("k_factor: 18", "k_factor: -18").replace("league: nfl", "league: nfc")
            .replace("reversion_keep_fraction: 0.6", "reversion_keep_fraction: 1.6")
            .replace("tie_divisor: 1.0", "tie_divisor: zero"))
    with pytest.raises(VersionFileError) as error:
        read_model_file(_file(tmp_path, text))
    message = str(error.value)
    assert "\n" not in message
    for part in ("league 'nfc' must be one of nfl, nba, mlb, nhl", "'k_factor' must be positive, got -18",
                 "'reversion_keep_fraction' must be between 0 and 1, got 1.6",
                 "'margin_multiplier.tie_divisor' must be a finite number, got 'zero'"):
        assert part in message


def test_every_strategy_field_has_a_unit_and_a_meaning():
    for field in STRATEGY_FIELDS:
        assert field.unit and field.meaning.endswith("."), field.path
        assert field.kind in ("decimal", "integer")


def test_the_file_is_refused_before_any_warehouse_is_reached(tmp_path):
    """The warehouse URL is a closed port: the answer is the bad field, so the file was checked
    before anything connected (and so nothing can have been written)."""
    path = _file(tmp_path, STRATEGY.replace("min_edge: 0.03", "min_edge: 2"))
    result = CliRunner().invoke(precog, ["strategy", "create", "--file", str(path),
                                         "--database-url", "postgresql://precog@127.0.0.1:1/nowhere"])
    assert (result.exit_code, result.output) == (1, f"Error: {path}: min_edge 2 is outside 0..1\n")
    missing = CliRunner().invoke(precog, ["model", "create", "--file", str(tmp_path / "absent.yaml"),
                                          "--database-url", "postgresql://precog@127.0.0.1:1/nowhere"])
    assert missing.exit_code == 1 and missing.output.startswith(f"Error: {tmp_path / 'absent.yaml'}: cannot be read")
