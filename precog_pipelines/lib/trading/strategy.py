"""A strategy version's configuration, validated into Decimal fields."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from precog_pipelines.lib.trading.exits import ExitRules
from precog_pipelines.lib.trading.money import ONE, ZERO
from precog_pipelines.lib.trading.risk import RiskLimits


class StrategyConfigError(ValueError):
    """A strategy config value is missing or unusable; the message names field and value."""


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


def _decimal(where: str, config: Mapping[str, Any], key: str, low: Decimal, high: Decimal | None,
             required: bool = True) -> Decimal | None:
    if key not in config or config[key] is None:
        if required:
            raise StrategyConfigError(f"{where}: {key} is missing")
        return None
    raw = config[key]
    if isinstance(raw, float):
        raise StrategyConfigError(f"{where}: {key} {raw!r} must be a string or integer, not a float")
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        raise StrategyConfigError(f"{where}: {key} {raw!r} is not a number") from None
    if value < low or (high is not None and value > high):
        bound = f"{low}..{high}" if high is not None else f">= {low}"
        raise StrategyConfigError(f"{where}: {key} {raw!r} is outside {bound}")
    return value


def _integer(where: str, config: Mapping[str, Any], key: str, low: int, default: int | None) -> int | None:
    raw = config.get(key, default)
    if raw is None:
        return None
    if not isinstance(raw, int) or isinstance(raw, bool) or raw < low:
        raise StrategyConfigError(f"{where}: {key} {raw!r} must be an integer >= {low}")
    return raw


# Fields of a ``risk_limits`` object; a version that has one states every limit.
RISK_LIMIT_FIELDS = ("max_daily_loss", "max_open_exposure", "max_game_exposure", "max_series_exposure",
                     "max_contracts_per_order", "max_orders_per_minute")
MIN_DOLLARS = Decimal("0.01")


def _risk_limits(where: str, config: Mapping[str, Any]) -> RiskLimits | None:
    if "risk_limits" not in config:
        return None
    limits = config["risk_limits"]
    if not isinstance(limits, Mapping):
        raise StrategyConfigError(f"{where}: risk_limits {limits!r} must be an object")
    if "max_open_exposure" in config:
        raise StrategyConfigError(f"{where}: max_open_exposure {config['max_open_exposure']!r} belongs in "
                                  f"risk_limits (give it once)")
    unknown = sorted(set(limits) - set(RISK_LIMIT_FIELDS))
    if unknown:
        raise StrategyConfigError(f"{where} risk_limits: {unknown[0]} {limits[unknown[0]]!r} is not a risk limit "
                                  f"(known: {', '.join(RISK_LIMIT_FIELDS)})")
    risk_where = f"{where} risk_limits"
    for key in ("max_contracts_per_order", "max_orders_per_minute"):
        if key not in limits or limits[key] is None:
            raise StrategyConfigError(f"{risk_where}: {key} is missing")
    return RiskLimits(
        max_daily_loss=_decimal(risk_where, limits, "max_daily_loss", MIN_DOLLARS, None),
        max_open_exposure=_decimal(risk_where, limits, "max_open_exposure", MIN_DOLLARS, None),
        max_game_exposure=_decimal(risk_where, limits, "max_game_exposure", MIN_DOLLARS, None),
        max_series_exposure=_decimal(risk_where, limits, "max_series_exposure", MIN_DOLLARS, None),
        max_contracts_per_order=_integer(risk_where, limits, "max_contracts_per_order", 1, None),
        max_orders_per_minute=_integer(risk_where, limits, "max_orders_per_minute", 1, None),
    )


def parse_strategy(strategy_id: int, name: str, version: str, config: Mapping[str, Any]) -> Strategy:
    where = f"strategy {name} v{version}"
    rules = config.get("exit_rules", {})
    if not isinstance(rules, Mapping):
        raise StrategyConfigError(f"{where}: exit_rules {rules!r} must be an object")
    exit_where = f"{where} exit_rules"
    risk_limits = _risk_limits(where, config)
    return Strategy(
        id=strategy_id,
        name=name,
        version=version,
        min_edge=_decimal(where, config, "min_edge", ZERO, ONE),
        stake_per_trade=_decimal(where, config, "stake_per_trade", Decimal("0.01"), None),
        max_open_exposure=(risk_limits.max_open_exposure if risk_limits is not None
                           else _decimal(where, config, "max_open_exposure", ZERO, None)),
        exit_rules=ExitRules(
            stop_loss=_decimal(exit_where, rules, "stop_loss", ZERO, ONE, required=False),
            profit_target=_decimal(exit_where, rules, "profit_target", ZERO, ONE, required=False),
            trailing_stop_distance=_decimal(exit_where, rules, "trailing_stop_distance", ZERO, ONE, required=False),
            exit_minutes_before_close=_integer(exit_where, rules, "exit_minutes_before_close", 0, None),
        ),
        limit_attempts=_integer(exit_where, rules, "limit_attempts", 1, 3),
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
