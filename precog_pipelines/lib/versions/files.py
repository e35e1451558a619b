"""Reading a strategy or model version from a YAML file, validated in full before anything is
written: the error names every bad field with its value, in one line.

A strategy file::

    name: default_paper          # lowercase letters, digits, underscores
    version: "1.1"               # MAJOR.MINOR, new for this name
    description: Wider stop loss # optional
    config:                      # the fields of lib/trading/strategy.STRATEGY_FIELDS
      min_edge: "0.03"
      ...

A model file adds ``type`` (elo) and ``league`` (nfl, nba, mlb, nhl); its ``config`` holds the
Elo parameters of lib/elo/config.EloConfig (other keys are kept as provenance).

Numbers written with a decimal point are read exactly (``0.03`` is Decimal("0.03"), not a float),
so a strategy's amounts need no quotes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from precog_pipelines.lib.elo.config import EloConfig, EloConfigError
from precog_pipelines.lib.trading.strategy import StrategyConfigError, normalized_config, validate_strategy_config

NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]*")
VERSION_PATTERN = re.compile(r"[0-9]+\.[0-9]+")
MODEL_TYPES = ("elo",)
LEAGUES = ("nfl", "nba", "mlb", "nhl")
MAX_DESCRIPTION = 2000

# The top-level keys of each kind of file, with what they mean (the README lists them).
STRATEGY_FILE_KEYS = {
    "name": "the strategy's name: lowercase letters, digits and underscores, starting with a letter",
    "version": "MAJOR.MINOR (e.g. 1.1); a name and version pair is created once and never edited",
    "description": "optional free text (up to 2000 characters)",
    "config": "the strategy fields below",
}
MODEL_FILE_KEYS = {
    "name": "the model's name: lowercase letters, digits and underscores, starting with a letter",
    "version": "MAJOR.MINOR (e.g. 3.0); a name and version pair is created once and never edited",
    "type": "the engine: elo",
    "league": "nfl, nba, mlb or nhl",
    "description": "optional free text (up to 2000 characters)",
    "config": "the Elo parameters below",
}


class VersionFileError(ValueError):
    """A version file cannot be read or holds bad values; the message is one line."""


@dataclass(frozen=True)
class StrategySpec:
    name: str
    version: str
    description: str | None
    config: dict[str, Any]


@dataclass(frozen=True)
class ModelSpec:
    name: str
    version: str
    model_type: str
    league: str
    description: str | None
    config: dict[str, Any]


class _ExactLoader(yaml.SafeLoader):
    """SafeLoader that reads decimal numbers as exact Decimals and refuses a key written twice
    (PyYAML would silently keep the last one)."""


def _exact_float(loader: _ExactLoader, node: yaml.ScalarNode) -> Any:
    value = loader.construct_yaml_float(node)
    if not math.isfinite(value):
        return value  # .inf and .nan: the validators name them
    try:
        return Decimal(node.value.replace("_", ""))
    except InvalidOperation:
        return Decimal(repr(value))


def _unique_mapping(loader: _ExactLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: set = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"key {key!r} is written twice", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_ExactLoader.add_constructor("tag:yaml.org,2002:float", _exact_float)
_ExactLoader.add_constructor("tag:yaml.org,2002:map", _unique_mapping)


def _load(path: Path) -> Mapping[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise VersionFileError(f"{path}: cannot be read ({getattr(exc, 'strerror', None) or exc})") from None
    try:
        document = yaml.load(text, Loader=_ExactLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise VersionFileError(f"{path}: not valid YAML: {problem}{where}") from None
    if not isinstance(document, Mapping):
        raise VersionFileError(f"{path}: must be a YAML mapping of name, version, config..., "
                               f"got {type(document).__name__}")
    return document


def _header(document: Mapping[str, Any], keys: Mapping[str, str], errors: list[str]) -> tuple[str | None, str | None, str | None]:
    """The name, version and description, checked; bad ones appended to ``errors``."""
    for key in document:
        if key not in keys:
            errors.append(f"{key!r} is not a file key (known: {', '.join(keys)})")
    name = document.get("name")
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        errors.append("name is missing" if name is None else
                      f"name {name!r} must be lowercase letters, digits and underscores, starting with a letter")
        name = None
    raw_version = document.get("version")
    # An unquoted 1.10 is read as Decimal('1.10'), whose text keeps the trailing zero.
    version = str(raw_version) if isinstance(raw_version, (str, Decimal)) else None
    if version is None or not VERSION_PATTERN.fullmatch(version):
        errors.append("version is missing" if raw_version is None else
                      f"version {raw_version!r} must be MAJOR.MINOR, e.g. '1.1'")
        version = None
    description = document.get("description")
    if description is not None and (not isinstance(description, str) or not 1 <= len(description) <= MAX_DESCRIPTION):
        errors.append(f"description {description!r} must be text of 1 to {MAX_DESCRIPTION} characters")
        description = None
    if "config" not in document:
        errors.append("config is missing")
    return name, version, description


def _fail(path: Path, errors: list[str]) -> None:
    if errors:
        raise VersionFileError(f"{path}: " + "; ".join(errors))


def read_strategy_file(path: Path) -> StrategySpec:
    """The strategy version the file describes, every field checked (``VersionFileError``)."""
    document = _load(path)
    errors: list[str] = []
    name, version, description = _header(document, STRATEGY_FILE_KEYS, errors)
    config: dict[str, Any] = {}
    if "config" in document:
        where = f"strategy {name} v{version}" if name and version else "strategy"
        try:
            config = normalized_config(validate_strategy_config(where, document["config"]))
        except StrategyConfigError as exc:
            errors.append(str(exc).removeprefix(f"{where}: "))
    _fail(path, errors)
    assert name is not None and version is not None
    return StrategySpec(name, version, description, config)


def _plain(value: Any) -> Any:
    """Decimals back to JSON numbers: Elo parameters are floats (not money), ints stay ints."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _json_problems(value: Any, path: str) -> list[str]:
    """Values the JSON config cannot hold exactly: dates, infinities, NaN."""
    if isinstance(value, Mapping):
        return [p for k, v in value.items() for p in _json_problems(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _json_problems(v, f"{path}[{i}]")]
    if isinstance(value, float) and not math.isfinite(value):
        return [f"{path} {value!r} is not a finite number"]
    if value is not None and not isinstance(value, (str, int, float, bool)):
        return [f"{path} {value!r} must be a number, text, true/false, a list or a mapping"]
    return []


def read_model_file(path: Path) -> ModelSpec:
    """The model version the file describes, every field checked (``VersionFileError``)."""
    document = _load(path)
    errors: list[str] = []
    name, version, description = _header(document, MODEL_FILE_KEYS, errors)
    model_type = document.get("type")
    if model_type not in MODEL_TYPES:
        errors.append("type is missing" if model_type is None else
                      f"type {model_type!r} must be one of {', '.join(MODEL_TYPES)}")
    league = document.get("league")
    if league not in LEAGUES:
        errors.append("league is missing" if league is None else
                      f"league {league!r} must be one of {', '.join(LEAGUES)}")
    config: dict[str, Any] = {}
    if "config" in document:
        config = _plain(document["config"])
        errors.extend(_json_problems(config, "config"))
        where = f"model {name} v{version}" if name and version else "model"
        try:
            EloConfig.from_mapping(config, source=where)
        except EloConfigError as exc:
            errors.append(str(exc).removeprefix(f"{where}: "))
        if not isinstance(config, dict):
            config = {}
    _fail(path, errors)
    assert name is not None and version is not None
    return ModelSpec(name, version, str(model_type), str(league), description, config)
