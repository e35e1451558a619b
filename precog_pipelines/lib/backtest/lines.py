"""A strategy version against the closing lines, 1979 on.

Each game is a market on the home team: YES pays if it wins, NO if it loses (a tie pays 0.50 to
both, as Kalshi settles a tied NFL game). The entry price of each side is the market's
probability of that side plus a half-spread (1 cent unless configured); the edge, the taker
fee, the stake, the minimum edge, the exposure cap and one position per game are the live
code's (lib/trading: side_edges, taker_fee, contracts_for_stake, settlement_pnl). The games of
a day are one slate: its best edges are bought first within the cap, and every position is
held to the game's result, so the next day starts with nothing open.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import groupby

from precog_pipelines.lib.backtest.results import ClosedTrade, dollars
from precog_pipelines.lib.evaluation.forecasts import GameForecast
from precog_pipelines.lib.trading.edges import Quote, SideEdge, side_edges
from precog_pipelines.lib.trading.fees import DEFAULT_FEE_MULTIPLIER, taker_fee
from precog_pipelines.lib.trading.money import ONE, ZERO, price
from precog_pipelines.lib.trading.opening import contracts_for_stake
from precog_pipelines.lib.trading.pnl import settlement_payout_per_contract, settlement_pnl
from precog_pipelines.lib.trading.strategy import Strategy

DEFAULT_HALF_SPREAD = Decimal("0.01")
# The edges asset's default: the fee an edge is net of is that of a 100-contract order.
DEFAULT_FEE_BASIS_CONTRACTS = Decimal(100)
# The lines carry no order book: any stake fills.
UNLIMITED_SIZE = Decimal("1000000")


class BacktestSettingsError(ValueError):
    """A price or fee setting of a backtest is out of range; the message names it."""


@dataclass(frozen=True)
class LinesSettings:
    """How the closing lines become prices."""

    half_spread: Decimal = DEFAULT_HALF_SPREAD
    fee_multiplier: Decimal = DEFAULT_FEE_MULTIPLIER
    fee_basis_contracts: Decimal = DEFAULT_FEE_BASIS_CONTRACTS

    def __post_init__(self) -> None:
        if not ZERO <= self.half_spread <= Decimal("0.5"):
            raise BacktestSettingsError(f"half_spread {self.half_spread} is outside 0..0.5")
        if self.fee_multiplier < ZERO:
            raise BacktestSettingsError(f"fee_multiplier {self.fee_multiplier} must not be negative")


def _bounded(value: Decimal) -> Decimal:
    return min(ONE, max(ZERO, price(value)))


def line_quote(market_home: Decimal, half_spread: Decimal) -> Quote:
    """The home-team market as a book: each side's ask is its probability plus the half-spread."""
    away = ONE - market_home
    return Quote(yes_bid=_bounded(market_home - half_spread), yes_ask=_bounded(market_home + half_spread),
                 no_bid=_bounded(away - half_spread), no_ask=_bounded(away + half_spread),
                 yes_bid_size=UNLIMITED_SIZE, yes_ask_size=UNLIMITED_SIZE)


def _candidates(slate: Sequence[GameForecast], model_key: str, strategy: Strategy,
                settings: LinesSettings) -> list[tuple[GameForecast, SideEdge]]:
    """Every side at or above the minimum edge, best first (then by game and side, as live)."""
    found = []
    for game in slate:
        quote = line_quote(Decimal(repr(game.market)), settings.half_spread)
        sides = side_edges(Decimal(repr(game.models[model_key])), quote, settings.fee_multiplier,
                           settings.fee_basis_contracts)
        found += [(game, edge) for edge in sides if edge.edge >= strategy.min_edge]
    return sorted(found, key=lambda c: (-c[1].edge, c[0].game_id, c[1].side))


def backtest_lines(games: Sequence[GameForecast], model_key: str, strategy: Strategy,
                   settings: LinesSettings) -> list[ClosedTrade]:
    """The strategy's trades on ``games`` (in date order), closed at each game's result."""
    trades: list[ClosedTrade] = []
    for day, slate in groupby(games, key=lambda g: g.game_date):
        exposure, held = ZERO, set()
        for game, edge in _candidates(list(slate), model_key, strategy, settings):
            if game.game_id in held:
                continue  # one position per game
            entry = edge.execution_price
            quantity = contracts_for_stake(strategy.stake_per_trade, entry, edge.fee_per_contract, edge.available_size)
            if quantity < 1:
                continue
            fee = taker_fee(quantity, entry, settings.fee_multiplier)
            cost = quantity * entry + fee
            if exposure + cost > strategy.max_open_exposure:
                continue
            exposure += cost
            held.add(game.game_id)
            home_value = Decimal(repr(game.result))  # what a home-team YES pays: 1, 0 or 0.5
            trades.append(ClosedTrade(
                season=game.season, game_id=game.game_id, game_date=day, ticker=None,
                team_id=game.home_team_id if edge.side == "yes" else game.away_team_id, side=edge.side,
                model_probability=edge.model_probability, edge=edge.edge, quantity=quantity, entry_price=entry,
                entry_fee=fee, opened_at=None, exit_reason="settlement",
                exit_price=settlement_payout_per_contract(edge.side, home_value), exit_fee=ZERO, closed_at=None,
                realized_pnl=dollars(settlement_pnl(edge.side, quantity, entry, fee, home_value)),
            ))
    return trades
