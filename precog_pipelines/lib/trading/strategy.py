"""A strategy version's configuration: its schema, validated into Decimal fields.

``STRATEGY_FIELDS`` is the one definition of a strategy config (the JSON in ``strategies.config``
and the ``config:`` block of a ``precog strategy create`` file): every field with its type,
bounds, unit and meaning. ``validate_strategy_config`` checks a config against it and reports
every bad field with its value in one line; ``parse_strategy`` builds the ``Strategy`` the
trading code uses. A new field is one more ``StrategyField`` here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from precog_pipelines.lib.trading.exits import ExitRules
from precog_pipelines.lib.trading.money import ONE, ZERO
from precog_pipelines.lib.trading.risk import RiskLimits

# Prices and money are NUMERIC(10,4) / NUMERIC(18,4) in the warehouse: a fifth decimal would be
# rounded there, so it is refused here.
MAX_DECIMAL_PLACES = 4


class StrategyConfigError(ValueError):
    """A strategy config value is missing or unusable; the message names every bad field and its value."""


@dataclass(frozen=True)
class Strategy:
    id: int
    name: str
    version: str
    min_edge: Decimal
    stake_per_trade: Decimal
    max_open_exposure: Decimal
    exit_rules: ExitRules
    limit_attempts: int
    # None for a version without a ``risk_limits`` object: its exposure limit alone applies.
    risk_limits: RiskLimits | None = None

    @property
    def limits(self) -> RiskLimits:
        """The limits every entry order is checked against (lib/trading/risk.py)."""
        return self.risk_limits or RiskLimits(max_open_exposure=self.max_open_exposure)


@dataclass(frozen=True)
class StrategyField:
    """One field of a strategy config. ``path`` is dotted for nested objects (``exit_rules.stop_loss``).

    ``kind`` "decimal": a string or integer read as an exact Decimal (a float is refused: it is
    not exact), at most four decimal places, within ``low``..``high``. ``kind`` "integer": a whole
    number >= ``low``. An optional field left out takes ``default``.
    """

    path: str
    kind: str
    unit: str
    meaning: str
    low: Decimal | int
    high: Decimal | None = None
    required: bool = True
    default: Any = None

    @property
    def bounds(self) -> str:
        if self.kind == "integer":
            return f">= {self.low}"
        return f"{self.low}..{self.high}" if self.high is not None else f">= {self.low}"


STRATEGY_FIELDS: tuple[StrategyField, ...] = (
    StrategyField("min_edge", "decimal", "dollars per contract",
                  "Smallest edge net of fees (model probability minus the price paid, less the fee) an "
                  "entry needs.", ZERO, ONE),
    StrategyField("stake_per_trade", "decimal", "dollars",
                  "Cash to spend on one entry: contracts = stake / (price + fee per contract), rounded down, "
                  "capped by the resting size.", Decimal("0.01")),
    StrategyField("max_open_exposure", "decimal", "dollars",
                  "Versions without `risk_limits` only: most cash (price paid plus fees) the strategy may have in "
                  "open positions at once; an entry that would go beyond it is skipped.",
                  ZERO, required=False),
    StrategyField("exit_rules.stop_loss", "decimal", "dollars per contract",
                  "Sell when the price falls this far below the entry price.", ZERO, ONE, required=False),
    StrategyField("exit_rules.profit_target", "decimal", "dollars per contract",
                  "Sell when the price rises this far above the entry price.", ZERO, ONE, required=False),
    StrategyField("exit_rules.trailing_stop_distance", "decimal", "dollars per contract",
                  "Sell when the price falls this far below its highest price since entry.", ZERO, ONE,
                  required=False),
    StrategyField("exit_rules.exit_minutes_before_close", "integer", "minutes",
                  "Sell this long before the market closes.", 0, required=False),
    StrategyField("exit_rules.limit_attempts", "integer", "orders",
                  "Limit sell orders tried (at the bid, then one tick lower each) before selling at market.",
                  1, required=False, default=3),
    # A version with a risk_limits object states all six (checked in validate_strategy_config).
    StrategyField("risk_limits.max_daily_loss", "decimal", "dollars",
                  "Realized loss in one UTC day at which entries stop and trading halts (source daily_loss).",
                  Decimal("0.01"), required=False),
    StrategyField("risk_limits.max_open_exposure", "decimal", "dollars",
                  "Most cash (price paid plus fees) in open positions at once, all markets.",
                  Decimal("0.01"), required=False),
    StrategyField("risk_limits.max_game_exposure", "decimal", "dollars",
                  "Most cash in open positions on one game (event).", Decimal("0.01"), required=False),
    StrategyField("risk_limits.max_series_exposure", "decimal", "dollars",
                  "Most cash in open positions on one series.", Decimal("0.01"), required=False),
    StrategyField("risk_limits.max_contracts_per_order", "integer", "contracts",
                  "Most contracts in one entry order (a bigger order is refused, not shrunk).", 1, required=False),
    StrategyField("risk_limits.max_orders_per_minute", "integer", "orders",
                  "Most entry orders sent in any 60 seconds.", 1, required=False),
)
RISK_LIMIT_FIELDS = tuple(f.path.removeprefix("risk_limits.") for f in STRATEGY_FIELDS
                          if f.path.startswith("risk_limits."))

# Objects that group fields. Any key that is not a field, at the top or in a group, is refused:
# a typo would otherwise silently leave a rule off.
_GROUPS = ("exit_rules", "risk_limits")


def _shown(raw: Any) -> str:
    """A value as the user wrote it: a number read from YAML is a Decimal, shown without Decimal('')."""
    return str(raw) if isinstance(raw, Decimal) else repr(raw)


def _decimal_value(field: StrategyField, raw: Any) -> tuple[Decimal | None, str | None]:
    """The value as a Decimal, or the error naming what is wrong with it."""
    if isinstance(raw, bool) or isinstance(raw, float):
        kind = "a boolean" if isinstance(raw, bool) else "a float"
        return None, f"{field.path} {_shown(raw)} must be a string or integer, not {kind}"
    if not isinstance(raw, (str, int, Decimal)):
        return None, f"{field.path} {_shown(raw)} is not a number"
    try:
        value = Decimal(str(raw).strip()) if isinstance(raw, str) else Decimal(raw)
    except InvalidOperation:
        return None, f"{field.path} {_shown(raw)} is not a number"
    if not value.is_finite():
        return None, f"{field.path} {_shown(raw)} is not a finite number"
    if value < field.low or (field.high is not None and value > field.high):
        return None, f"{field.path} {_shown(raw)} is outside {field.bounds}"
    if -value.as_tuple().exponent > MAX_DECIMAL_PLACES:  # type: ignore[operator]
        return None, f"{field.path} {_shown(raw)} has more than {MAX_DECIMAL_PLACES} decimal places"
    return value, None


def _integer_value(field: StrategyField, raw: Any) -> tuple[int | None, str | None]:
    if not isinstance(raw, int) or isinstance(raw, bool) or raw < field.low:
        return None, f"{field.path} {_shown(raw)} must be an integer {field.bounds}"
    return raw, None


def validate_strategy_config(where: str, config: Any) -> dict[str, Any]:
    """Every field of ``config`` checked against ``STRATEGY_FIELDS``: the values by dotted path
    (Decimal or int; ``None`` for an optional field left out), or ``StrategyConfigError`` naming
    every bad field with its value, in one line."""
    if not isinstance(config, Mapping):
        raise StrategyConfigError(f"{where}: config {config!r} must be an object")
    errors: list[str] = []
    objects: dict[str, Mapping[str, Any]] = {"": config}
    for name in _GROUPS:
        value = config.get(name)
        if value is None:
            value = {}
        if not isinstance(value, Mapping):
            errors.append(f"{name} {value!r} must be an object")
            value = {}
        objects[name] = value
    known = {f.path for f in STRATEGY_FIELDS} | set(_GROUPS)
    for prefix, obj in objects.items():
        for key in obj:
            path = f"{prefix}.{key}" if prefix else str(key)
            if path not in known:
                errors.append(f"{path} is not a strategy field (known: "
                              f"{', '.join(sorted(f.path for f in STRATEGY_FIELDS if f.path.startswith(prefix)))})")
    values: dict[str, Any] = {}
    for field in STRATEGY_FIELDS:
        prefix, _, key = field.path.rpartition(".")
        obj = objects[prefix]
        raw = obj.get(key)
        if raw is None:
            if field.required:
                errors.append(f"{field.path} is missing")
            values[field.path] = field.default
            continue
        check = _decimal_value if field.kind == "decimal" else _integer_value
        value, error = check(field, raw)
        if error:
            errors.append(error)
        values[field.path] = value
    errors += _exposure_problems(config, values)
    if errors:
        raise StrategyConfigError(f"{where}: " + "; ".join(errors))
    return values


def _exposure_problems(config: Mapping[str, Any], values: Mapping[str, Any]) -> list[str]:
    """A version either has a ``risk_limits`` object stating all six limits, exposure included, or
    (written before risk limits) only the top-level ``max_open_exposure``."""
    limits = config.get("risk_limits")
    if limits is None:
        return [] if config.get("max_open_exposure") is not None else ["max_open_exposure is missing"]
    problems = [f"risk_limits.{key} is missing" for key in RISK_LIMIT_FIELDS
                if isinstance(limits, Mapping) and limits.get(key) is None]
    if "max_open_exposure" in config:
        problems.append(f"max_open_exposure {_shown(config['max_open_exposure'])} belongs in risk_limits (give it once)")
    return problems


def normalized_config(values: Mapping[str, Any]) -> dict[str, Any]:
    """The validated values as the JSON ``strategies.config`` stores: amounts as strings (exact
    in JSON and back into Decimal), fields left out omitted, nested objects rebuilt."""
    config: dict[str, Any] = {}
    for path, value in values.items():
        if value is None:
            continue
        *parents, key = path.split(".")
        target = config
        for parent in parents:
            target = target.setdefault(parent, {})
        target[key] = str(value) if isinstance(value, Decimal) else value
    return config


def _risk_limits(values: Mapping[str, Any]) -> RiskLimits | None:
    """The validated ``risk_limits`` object, or None for a version written before risk limits."""
    if values["risk_limits.max_open_exposure"] is None:
        return None
    return RiskLimits(**{key: values[f"risk_limits.{key}"] for key in RISK_LIMIT_FIELDS})


def parse_strategy(strategy_id: int, name: str, version: str, config: Mapping[str, Any]) -> Strategy:
    values = validate_strategy_config(f"strategy {name} v{version}", config)
    risk_limits = _risk_limits(values)
    return Strategy(
        id=strategy_id,
        name=name,
        version=version,
        min_edge=values["min_edge"],
        stake_per_trade=values["stake_per_trade"],
        max_open_exposure=(risk_limits.max_open_exposure if risk_limits is not None
                           else values["max_open_exposure"]),
        exit_rules=ExitRules(
            stop_loss=values["exit_rules.stop_loss"],
            profit_target=values["exit_rules.profit_target"],
            trailing_stop_distance=values["exit_rules.trailing_stop_distance"],
            exit_minutes_before_close=values["exit_rules.exit_minutes_before_close"],
        ),
        limit_attempts=values["exit_rules.limit_attempts"],
        risk_limits=risk_limits,
    )


def load_strategy(conn: Any, strategy_id: int | None = None, name: str | None = None,
                  version: str | None = None) -> Strategy:
    """A strategy version by id, ``name`` at ``version`` (active or not), or the newest active
    version of ``name``."""
    if version is not None:
        row = conn.execute(
            "SELECT id, strategy_name, strategy_version, config FROM strategies "
            "WHERE strategy_name = %s AND strategy_version = %s", (name, version),
        ).fetchone()
        if row is None:
            raise StrategyConfigError(f"no strategy {name!r} version {version!r}")
        return parse_strategy(*row)
    if strategy_id is not None:
        row = conn.execute(
            "SELECT id, strategy_name, strategy_version, config FROM strategies WHERE id = %s", (strategy_id,)
        ).fetchone()
        wanted = f"id {strategy_id}"
    else:
        row = conn.execute(
            "SELECT id, strategy_name, strategy_version, config FROM strategies "
            "WHERE strategy_name = %s AND is_active ORDER BY string_to_array(strategy_version, '.')::int[] DESC "
            "LIMIT 1", (name,),
        ).fetchone()
        wanted = f"name {name!r}"
    if row is None:
        raise StrategyConfigError(f"no active strategy with {wanted}")
    return parse_strategy(*row)
