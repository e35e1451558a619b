"""One backtest request from start to stored result, for the asset and the command line."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from precog_pipelines.lib.backtest.lines import LinesSettings, backtest_lines
from precog_pipelines.lib.backtest.market_replay import ReplaySettings, replay_markets
from precog_pipelines.lib.backtest.results import BacktestRecord, ClosedTrade, Summary, by_season, store_backtest, summarize
from precog_pipelines.lib.code_version import code_version
from precog_pipelines.lib.elo.sources import GameSource
from precog_pipelines.lib.elo.store import EloModel, load_model, parse_model_key
from precog_pipelines.lib.evaluation.forecasts import read_forecasts
from precog_pipelines.lib.evaluation.market_model import MarketModel, load_market_model
from precog_pipelines.lib.evaluation.runs import ensure_lines, ensure_rated
from precog_pipelines.lib.trading.strategy import Strategy, load_strategy
from precog_pipelines.lib.warehouse.server import connect

SOURCES = ("lines", "warehouse")


class BacktestRequestError(ValueError):
    """A backtest request names something that does not exist or cannot be replayed."""


@dataclass(frozen=True)
class BacktestRequest:
    """What to replay: a strategy version, a model version, seasons and a price source."""

    strategy: str
    model: str  # NAME:VERSION
    first_season: int
    last_season: int
    source: str = "lines"
    strategy_version: str | None = None  # None: the newest active version
    lines: LinesSettings = field(default_factory=LinesSettings)
    market_model: str | None = None  # NAME:VERSION of the spread map; None: the active one

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise BacktestRequestError(f"source {self.source!r} is not one of {', '.join(SOURCES)}")
        if self.first_season > self.last_season:
            raise BacktestRequestError(f"seasons {self.first_season}-{self.last_season}: the first is after the last")


@dataclass(frozen=True)
class BacktestResult:
    backtest_id: int
    request: BacktestRequest
    strategy: Strategy
    model: EloModel
    market: MarketModel | None
    trades: list[ClosedTrade]
    seasons: dict[int, Summary]
    total: Summary
    details: dict[str, Any]


def _inputs(request: BacktestRequest, strategy: Strategy, model: EloModel, market: MarketModel | None,
            details: dict[str, Any], strategy_config: dict) -> dict[str, Any]:
    inputs: dict[str, Any] = {
        "strategy": f"{strategy.name}:{strategy.version}", "strategy_config": strategy_config,
        "model": model.key, "model_config": asdict(model.config),
        "seasons": [request.first_season, request.last_season], "source": request.source, **details,
    }
    if market is not None:
        inputs |= {"market_model": market.key, "margin_sd": market.margin_sd,
                   "half_spread": str(request.lines.half_spread), "fee_multiplier": str(request.lines.fee_multiplier),
                   "fee_basis_contracts": str(request.lines.fee_basis_contracts)}
    return inputs


def run_backtest(database_url: str, source: GameSource, request: BacktestRequest, run_id: str | None,
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)) -> BacktestResult:
    """Replay the request, store it in the backtest tables and return it."""
    started = clock()
    with connect(database_url) as conn:
        strategy = load_strategy(conn, name=request.strategy, version=request.strategy_version)
        strategy_config = conn.execute("SELECT config FROM strategies WHERE id = %s", (strategy.id,)).fetchone()[0]
        model = load_model(conn, *parse_model_key(request.model))
        # The model's ratings are what its edges come from, whichever the source.
        ensure_rated(conn, source, model)
        market = None
        if request.source == "lines":
            market = load_market_model(conn, source.league, request.market_model)
            ensure_lines(conn, source, request.first_season, request.last_season)
        conn.commit()
        details: dict[str, Any]
        if market is not None:
            games = read_forecasts(conn, request.first_season, request.last_season, market, [model])
            trades = backtest_lines(games, model.key, strategy, request.lines)
            details = {"games": len(games)}
        else:
            replay = replay_markets(database_url, strategy, model, request.first_season, request.last_season,
                                    run_id or "backtest", ReplaySettings(fee_basis_contracts=request.lines.fee_basis_contracts))
            trades = replay.trades
            details = {"markets": replay.markets, "candle_markets": replay.candle_markets,
                       "moments": replay.moments, "still_open": replay.still_open,
                       "unfilled_exits": replay.unfilled_exits}
        seasons = by_season(trades, range(request.first_season, request.last_season + 1))
        record = BacktestRecord(
            strategy_id=strategy.id, probability_model_id=model.id, source=request.source,
            first_season=request.first_season, last_season=request.last_season,
            market_model_id=market.id if market else None,
            half_spread=request.lines.half_spread if market else None, code_version=code_version(),
            inputs=_inputs(request, strategy, model, market, details, strategy_config),
            started_at=started, run_id=run_id,
        )
        backtest_id = store_backtest(conn, record, trades, seasons)
        conn.commit()
    return BacktestResult(backtest_id, request, strategy, model, market, trades, seasons, summarize(trades), details)


def half_spread(text: str) -> Decimal:
    try:
        return Decimal(text)
    except ArithmeticError:
        raise BacktestRequestError(f"half_spread {text!r} is not a number of dollars (for example 0.01)") from None
