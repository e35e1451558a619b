"""Computing every current edge: open game markets, their games, the model's probability.

For every active market of an NFL game that has not started, the model's probability that the
market's team wins comes from the teams' current Elo ratings (reverted once when the game is
in a later season than the team's last rated game, home advantage unless on a neutral site);
the edge of buying each side at its ask, net of the taker fee, comes from
:func:`precog_pipelines.lib.trading.edges.side_edges`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import psycopg

from precog_pipelines.lib.elo.engine import season_start_rating, win_probability
from precog_pipelines.lib.elo.store import EloModel, state_before
from precog_pipelines.lib.trading.edges import Quote, side_edges
from precog_pipelines.lib.trading.matching import GameMarket, parse_game_market
from precog_pipelines.lib.warehouse.tables import EDGES

LEAGUE = "nfl"

_ACTIVE_MARKETS = """
SELECT m.id, m.ticker, m.yes_bid, m.yes_ask, m.no_bid, m.no_ask, m.yes_bid_size, m.yes_ask_size,
       coalesce(e.fee_multiplier_override, s.fee_multiplier)
  FROM markets m
  JOIN events e ON e.event_ticker = m.event_ticker
  JOIN series s ON s.ticker = e.series_ticker
 WHERE m.row_current_ind AND m.status = 'active'
 ORDER BY m.ticker
"""

_GAMES = """
SELECT g.id, g.game_date, g.home_team_id, g.away_team_id, g.neutral_site, g.season, s.state, g.kickoff_ts
  FROM games g
  LEFT JOIN game_states_current s ON s.external_game_id = g.external_game_id
 WHERE g.league = %s AND (g.game_date, g.home_team_id, g.away_team_id) IN
       (SELECT * FROM unnest(%s::date[], %s::integer[], %s::integer[]))
"""


@dataclass(frozen=True)
class EdgeSnapshot:
    rows: list[tuple]  # in EDGES.columns order
    markets: int
    skipped: Counter

    @property
    def edges(self) -> int:
        return len(self.rows)


def _probability(value: float) -> Decimal:
    return Decimal(repr(value))


def compute_edges(conn: psycopg.Connection, model: EloModel, now: datetime, order_contracts: Decimal,
                  run_id: str) -> EdgeSnapshot:
    """Every edge the warehouse supports right now, with what was skipped and why."""
    kalshi_codes = dict(conn.execute(
        "SELECT alias_code, team_id FROM team_aliases WHERE league = %s AND source = 'kalshi'", (LEAGUE,)))
    markets = conn.execute(_ACTIVE_MARKETS).fetchall()
    skipped: Counter = Counter()
    parsed: list[tuple[tuple, GameMarket]] = []
    for market in markets:
        game_market = parse_game_market(market[1], kalshi_codes)
        if game_market is None:
            skipped["not an NFL game market"] += 1
        else:
            parsed.append((market, game_market))
    keys = {(g.game_date, g.home_team_id, g.away_team_id) for _, g in parsed}
    games = {
        (row[1], row[2], row[3]): row for row in conn.execute(
            _GAMES, (LEAGUE, [k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys]))
    }
    seasons = {row[5] for row in games.values()}
    states = {season: state_before(conn, model.id, season + 1) for season in seasons}
    config = model.config

    def pre_game_rating(team_id: int, season: int) -> float:
        state = states[season]
        if team_id not in state.ratings:
            return config.new_team_rating
        rating = state.ratings[team_id]
        return season_start_rating(config, rating) if state.seasons[team_id] < season else rating

    rows = []
    for market, game_market in parsed:
        game = games.get((game_market.game_date, game_market.home_team_id, game_market.away_team_id))
        if game is None:
            skipped["no matching game in the warehouse"] += 1
            continue
        game_id, _, home, away, neutral, season, state, kickoff = game
        if not (state == "pre" or (state is None and kickoff is not None and kickoff > now)):
            skipped["game started or finished (the model is pre-game)"] += 1
            continue
        diff = pre_game_rating(home, season) - pre_game_rating(away, season)
        home_probability = win_probability(config, diff + (0.0 if neutral else config.home_field_advantage))
        yes_probability = home_probability if game_market.team_is_home else 1.0 - home_probability
        version_id, ticker, yes_bid, yes_ask, no_bid, no_ask, bid_size, ask_size, fee_multiplier = market
        opponent = away if game_market.team_is_home else home
        quote = Quote(yes_bid, yes_ask, no_bid, no_ask, bid_size, ask_size)
        sides = side_edges(_probability(yes_probability), quote, fee_multiplier, order_contracts)
        if not sides:
            skipped["no resting size on either side"] += 1
        for edge in sides:
            values = {
                "ticker": ticker, "side": edge.side, "model_id": model.id,
                "model_probability": edge.model_probability, "execution_price": edge.execution_price,
                "fee_per_contract": edge.fee_per_contract, "edge": edge.edge,
                "expected_value_per_dollar": edge.expected_value_per_dollar,
                "market_version_id": version_id, "game_id": game_id,
                "team_id": game_market.team_id if edge.side == "yes" else opponent,
                "available_size": edge.available_size, "calculation_run_id": run_id,
            }
            rows.append(tuple(values[c] for c in EDGES.columns))
    return EdgeSnapshot(rows, len(markets), skipped)
