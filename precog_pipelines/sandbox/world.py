"""The sandbox's simulated NFL week: games, their scores over time, and the markets on them.

Everything is a pure function of ``(seed, start, simulated time)``, plus the quote overrides
a test sets explicitly. A game runs 3 simulated hours from kickoff: four 40-minute quarters
(the 15-minute game clock runs at 3/8 speed) and a 20-minute halftime; the overtime game adds
a sudden-death period. Its two markets (one per team) trade while it is played, close when it
ends, are determined two minutes later and finalized after the 300 s settlement timer.
Prices follow a win probability computed from the score, the time left and a pregame spread,
plus deterministic noise that changes every simulated minute.
"""

from __future__ import annotations

import hashlib
import math
import random
import threading
from bisect import bisect_right
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from zoneinfo import ZoneInfo

from precog_pipelines.sandbox.teams import TEAMS, Team

US_EASTERN = ZoneInfo("America/New_York")
NFL_SERIES = "KXNFLGAME"
SYNTHETIC_SERIES = "KXSANDBOX"
SYNTHETIC_MARKETS_PER_EVENT = 10

QUARTER_SECONDS = 2400.0  # simulated seconds per quarter
HALFTIME_SECONDS = 1200.0
CLOCK_SCALE = QUARTER_SECONDS / 900.0  # simulated seconds per game-clock second
PERIOD_START = {1: 0.0, 2: QUARTER_SECONDS, 3: 2 * QUARTER_SECONDS + HALFTIME_SECONDS}
PERIOD_START[4] = PERIOD_START[3] + QUARTER_SECONDS
PERIOD_START[5] = PERIOD_START[4] + QUARTER_SECONDS
REGULATION_END = PERIOD_START[5]
DETERMINATION_DELAY = timedelta(minutes=2)
SETTLEMENT_TIMER_SECONDS = 300
CLOSE_BUFFER = timedelta(days=14)  # Kalshi's postponement buffer on game markets
SCORE_SIGMA = 13.45  # standard deviation of an NFL final margin, in points

# (away, home, kickoff minutes after the start, goes to overtime)
SLATE: tuple[tuple[str, str, int, bool], ...] = (
    ("DET", "WSH", 10, False),
    ("JAX", "TEN", 10, False),
    ("LAR", "SF", 40, False),
    ("KC", "BUF", 40, False),
    ("PHI", "DAL", 70, True),
    ("BAL", "PIT", 100, False),
)
POSTPONED_GAME = ("MIA", "NYJ", 130)
LATE_OPENING_GAME = 5  # its markets open 20 minutes after the start: 'initialized' before that
CENT = Decimal("0.01")


def unit(*parts: object) -> float:
    """A deterministic number in [0, 1) from the parts (seeded noise without shared state)."""
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def normal_cdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


@dataclass(frozen=True)
class Score:
    period: int
    clock: int  # game-clock seconds left in the period when it happened
    side: str  # "home" or "away"
    points: int

    @property
    def offset(self) -> float:
        """Simulated seconds after kickoff."""
        length = 600 if self.period == 5 else 900
        return PERIOD_START[self.period] + (length - self.clock) * CLOCK_SCALE


@dataclass(frozen=True)
class Game:
    index: int
    espn_id: str
    away: Team
    home: Team
    kickoff: datetime
    scoring: tuple[Score, ...]
    end_offset: float | None  # simulated seconds after kickoff; None = postponed, never ends
    home_spread: float  # pregame expected home margin, in points
    market_open: datetime
    season: int
    week: int

    @property
    def postponed(self) -> bool:
        return self.end_offset is None

    @property
    def end(self) -> datetime | None:
        return None if self.end_offset is None else self.kickoff + timedelta(seconds=self.end_offset)

    @property
    def determined_at(self) -> datetime | None:
        return None if self.end is None else self.end + DETERMINATION_DELAY

    @property
    def finalized_at(self) -> datetime | None:
        determined = self.determined_at
        return None if determined is None else determined + timedelta(seconds=SETTLEMENT_TIMER_SECONDS)

    @property
    def overtime(self) -> bool:
        return any(score.period == 5 for score in self.scoring)

    def final_score(self) -> tuple[int, int]:
        return self.score_at(float("inf"))

    def score_at(self, offset: float) -> tuple[int, int]:
        home = sum(s.points for s in self.scoring if s.side == "home" and s.offset <= offset)
        away = sum(s.points for s in self.scoring if s.side == "away" and s.offset <= offset)
        return home, away

    @property
    def winner(self) -> Team | None:
        if self.postponed:
            return None
        home, away = self.final_score()
        return self.home if home > away else self.away

    @property
    def event_date(self) -> date:
        return self.kickoff.astimezone(US_EASTERN).date()

    @property
    def event_ticker(self) -> str:
        day = self.event_date
        return (
            f"{NFL_SERIES}-{day:%y}{day.strftime('%b').upper()}{day:%d}"
            f"{self.away.kalshi_code(self.season)}{self.home.kalshi_code(self.season)}"
        )

    def market_ticker(self, team: Team) -> str:
        return f"{self.event_ticker}-{team.kalshi_code(self.season)}"

    @property
    def teams(self) -> tuple[Team, Team]:
        return self.away, self.home


@dataclass(frozen=True)
class GameSnapshot:
    """A game as the scoreboard shows it at one moment."""

    state: str  # pre / in / post
    status_id: str
    status_name: str
    completed: bool
    period: int
    clock: int  # seconds left in the period
    home_score: int
    away_score: int
    home_linescores: tuple[int, ...]
    away_linescores: tuple[int, ...]
    elapsed_game_seconds: float

    @property
    def halftime(self) -> bool:
        return self.status_name == "STATUS_HALFTIME"


def season_of(day: date) -> int:
    """The NFL season a date belongs to (January/February games belong to the previous year)."""
    return day.year if day.month >= 3 else day.year - 1


def regular_season_week(day: date) -> int:
    """Week of the regular season (1..18), counted from the Thursday after Labor Day."""
    season = season_of(day)
    september_first = date(season, 9, 1)
    labor_day = september_first + timedelta(days=(7 - september_first.weekday()) % 7)
    week_one = labor_day + timedelta(days=3)
    return max(1, min(18, (day - week_one).days // 7 + 1))


def _scoring_plan(rng: random.Random, overtime: bool) -> tuple[tuple[Score, ...], float]:
    """The scoring plays of one game and its end (seconds after kickoff)."""
    def plays(side: str) -> list[Score]:
        found = []
        for period in range(1, 5):
            for _ in range(rng.choices((0, 1, 2), weights=(35, 45, 20))[0]):
                found.append(Score(period, rng.randint(20, 880), side, 7 if rng.random() < 0.6 else 3))
        return found

    away = plays("away")
    if overtime:
        # Mirror the away team's points at other moments so regulation ends tied.
        home = [Score(s.period % 4 + 1, rng.randint(20, 880), "home", s.points) for s in away]
    else:
        home = plays("home")
    scores = away + home
    home_total = sum(s.points for s in home)
    away_total = sum(s.points for s in away)
    if overtime:
        winner = "home" if rng.random() < 0.5 else "away"
        winning_field_goal = Score(5, 372, winner, 3)
        return tuple(sorted(scores + [winning_field_goal], key=lambda s: s.offset)), winning_field_goal.offset
    if home_total == away_total:
        scores.append(Score(4, 14, "home", 3))  # a late field goal: only one game goes to OT
    return tuple(sorted(scores, key=lambda s: s.offset)), REGULATION_END


def build_games(seed: int, start: datetime, include_postponed: bool, kickoff_lead_minutes: int = 0) -> tuple[
        Game, ...]:
    base = start.astimezone(UTC).replace(second=0, microsecond=0)
    id_prefix = f"9{base:%y%m%d%H%M}"  # never collides with ESPN's own (401...) ids
    games = []
    slate = list(SLATE) + ([(*POSTPONED_GAME, False)] if include_postponed else [])
    for index, (away, home, minutes, overtime) in enumerate(slate):
        rng = random.Random(f"{seed}:{index}")
        kickoff = base + timedelta(minutes=kickoff_lead_minutes + minutes)
        postponed = include_postponed and index == len(SLATE)
        scoring, end = ((), None) if postponed else _scoring_plan(rng, overtime)
        day = kickoff.astimezone(US_EASTERN).date()
        games.append(
            Game(
                index=index,
                espn_id=f"{id_prefix}{index:02d}",
                away=TEAMS[away],
                home=TEAMS[home],
                kickoff=kickoff,
                scoring=scoring,
                end_offset=end,
                home_spread=round(rng.uniform(-9.0, 9.0) * 2) / 2,
                market_open=base + (timedelta(minutes=20) if index == LATE_OPENING_GAME else -timedelta(days=6)),
                season=season_of(day),
                week=regular_season_week(day),
            )
        )
    return tuple(games)


def game_snapshot(game: Game, now: datetime) -> GameSnapshot:
    offset = (now - game.kickoff).total_seconds()
    if game.postponed:
        return GameSnapshot("post", "6", "STATUS_POSTPONED", False, 0, 0, 0, 0, (), (), 0.0)
    if offset < 0:
        return GameSnapshot("pre", "1", "STATUS_SCHEDULED", False, 0, 0, 0, 0, (), (), 0.0)
    assert game.end_offset is not None
    home, away = game.score_at(offset)
    if offset >= game.end_offset:
        period = 5 if game.overtime else 4
        return GameSnapshot(
            "post", "3", "STATUS_FINAL", True, period, 0, home, away,
            _linescores(game, "home", period, offset), _linescores(game, "away", period, offset), 3600.0,
        )
    period = max(p for p, begin in PERIOD_START.items() if offset >= begin)
    length = 600 if period == 5 else 900
    clock = length - (offset - PERIOD_START[period]) / CLOCK_SCALE
    if clock <= 0:  # between the end of the second quarter and the third: halftime
        return GameSnapshot(
            "in", "23", "STATUS_HALFTIME", False, 2, 0, home, away,
            _linescores(game, "home", 2, offset), _linescores(game, "away", 2, offset), 1800.0,
        )
    elapsed = 3600.0 if period == 5 else (period - 1) * 900 + (900 - clock)
    return GameSnapshot(
        "in", "2", "STATUS_IN_PROGRESS", False, period, int(clock), home, away,
        _linescores(game, "home", period, offset), _linescores(game, "away", period, offset), elapsed,
    )


def _linescores(game: Game, side: str, periods: int, offset: float) -> tuple[int, ...]:
    return tuple(
        sum(s.points for s in game.scoring if s.side == side and s.period == p and s.offset <= offset)
        for p in range(1, periods + 1)
    )


def home_win_probability(game: Game, snapshot: GameSnapshot) -> float:
    """P(home wins): a normal model of the final margin given the score and the time left."""
    remaining = max(0.0, 3600.0 - snapshot.elapsed_game_seconds) / 3600.0
    if snapshot.completed:
        return 1.0 if snapshot.home_score > snapshot.away_score else 0.0
    margin = snapshot.home_score - snapshot.away_score
    mean = margin + game.home_spread * remaining
    sigma = max(1.0, SCORE_SIGMA * math.sqrt(remaining))
    return normal_cdf(mean / sigma)


@dataclass(frozen=True)
class MarketSpec:
    """What does not change about a market."""

    ticker: str
    event_ticker: str
    series_ticker: str
    title: str
    sub_title: str
    open_time: datetime
    scheduled_close: datetime
    expected_expiration: datetime
    occurrence: datetime | None
    rules_primary: str
    rules_secondary: str
    game: Game | None = None
    team: Team | None = None


@dataclass(frozen=True)
class Quotes:
    yes_bid: Decimal
    yes_ask: Decimal
    yes_bid_size: Decimal
    yes_ask_size: Decimal
    last_price: Decimal
    # Scripted books only: the book is exactly the top of each side (no deeper levels), and an
    # order that takes from it consumes that size, as a resting order taken stays taken.
    resting_only: bool = False


EMPTY_BOOK = Quotes(Decimal("0.00"), Decimal("1.00"), Decimal(0), Decimal(0), Decimal("0.00"))


@dataclass(frozen=True)
class MarketState:
    """A market at one moment."""

    spec: MarketSpec
    status: str
    quotes: Quotes
    previous: Quotes
    volume: Decimal
    volume_24h: Decimal
    open_interest: Decimal
    result: str
    settlement_value: Decimal | None
    expiration_value: str
    close_time: datetime
    settlement_ts: datetime | None
    updated_time: datetime


@dataclass(frozen=True)
class EventSpec:
    event_ticker: str
    series_ticker: str
    title: str
    sub_title: str
    created: datetime
    market_tickers: tuple[str, ...]


class SandboxWorld:
    """The games and markets of one sandbox, deterministic given ``seed`` and ``start``."""

    def __init__(
        self, seed: int, start: datetime, *, extra_markets: int = 0, include_postponed: bool = True,
        kickoff_lead_minutes: int = 0, settled_markets: int = 0,
    ) -> None:
        self.seed = seed
        self.start = start.astimezone(UTC)
        self.games = build_games(seed, self.start, include_postponed, kickoff_lead_minutes)
        self.extra_markets = extra_markets
        # The first ``settled_markets`` synthetic markets were finalized before the start (a
        # season's history for load tests); the next ``extra_markets`` trade and never resolve.
        self.settled_markets = settled_markets
        self._settled_specs: dict[str, MarketSpec] = {}
        self._settled_states: dict[str, MarketState] = {}
        synthetic = extra_markets + settled_markets
        self._overrides: dict[str, Quotes] = {}
        self._overrides_lock = threading.Lock()
        self._game_markets: dict[str, MarketSpec] = {}
        self._events: dict[str, EventSpec] = {}
        for game in self.games:
            self._add_game(game)
        synthetic_events = math.ceil(synthetic / SYNTHETIC_MARKETS_PER_EVENT)
        self._synthetic_tickers = [
            f"{SYNTHETIC_SERIES}-E{e:05d}-M{m:02d}"
            for e in range(synthetic_events)
            for m in range(min(SYNTHETIC_MARKETS_PER_EVENT, synthetic - e * SYNTHETIC_MARKETS_PER_EVENT))
        ]
        self._synthetic_events = [f"{SYNTHETIC_SERIES}-E{e:05d}" for e in range(synthetic_events)]
        self._all_tickers = sorted(self._game_markets) + self._synthetic_tickers
        self._nfl_events = sorted(self._events)

    # ---- catalogue -------------------------------------------------------------------------

    def _add_game(self, game: Game) -> None:
        title = f"{game.away.kalshi_name} at {game.home.kalshi_name}"
        day = game.event_date
        sub_title = (
            f"{game.away.kalshi_code(game.season)} at {game.home.kalshi_code(game.season)} "
            f"({day.strftime('%b')} {day.day})"
        )
        tickers = []
        for team in game.teams:
            ticker = game.market_ticker(team)
            tickers.append(ticker)
            scheduled = f"{day.strftime('%b')} {day.day}, {day.year}"
            self._game_markets[ticker] = MarketSpec(
                ticker=ticker,
                event_ticker=game.event_ticker,
                series_ticker=NFL_SERIES,
                title=f"{title} Winner?",
                sub_title=team.kalshi_name,
                open_time=game.market_open,
                scheduled_close=game.kickoff + CLOSE_BUFFER,
                expected_expiration=game.kickoff + timedelta(hours=3),
                occurrence=game.kickoff,
                rules_primary=(
                    f"If {team.kalshi_name} wins the {title} professional football game originally "
                    f"scheduled for {scheduled}, then the market resolves to Yes."
                ),
                rules_secondary=(
                    f"This market refers to the {title} professional football game originally scheduled "
                    f"for {scheduled}, overtime included. A tie resolves every market in the event to $0.50."
                ),
                game=game,
                team=team,
            )
        self._events[game.event_ticker] = EventSpec(
            game.event_ticker, NFL_SERIES, title, sub_title, game.market_open - timedelta(minutes=3), tuple(tickers)
        )

    def series_tickers(self) -> list[str]:
        return [NFL_SERIES] + ([SYNTHETIC_SERIES] if self._synthetic_tickers else [])

    def market_tickers(self, *, series_ticker: str | None = None, event_ticker: str | None = None) -> list[str]:
        """All market tickers in ticker order, optionally of one series or one event."""
        if event_ticker is not None:
            event = self.event_spec(event_ticker)
            return list(event.market_tickers) if event else []
        if series_ticker == NFL_SERIES:
            return sorted(self._game_markets)
        if series_ticker == SYNTHETIC_SERIES:
            return self._synthetic_tickers
        if series_ticker is not None:
            return []
        return self._all_tickers

    def event_tickers(self, *, series_ticker: str | None = None) -> list[str]:
        if series_ticker == NFL_SERIES:
            return self._nfl_events
        if series_ticker == SYNTHETIC_SERIES:
            return self._synthetic_events
        if series_ticker is not None:
            return []
        return self._nfl_events + self._synthetic_events

    def event_spec(self, event_ticker: str) -> EventSpec | None:
        if event_ticker in self._events:
            return self._events[event_ticker]
        if event_ticker.startswith(f"{SYNTHETIC_SERIES}-E"):
            index = event_ticker.rsplit("E", 1)[-1]
            if index.isdigit() and len(index) == 5 and int(index) < len(self._synthetic_events):
                first = int(index) * SYNTHETIC_MARKETS_PER_EVENT
                tickers = tuple(t for t in self._synthetic_tickers[first : first + SYNTHETIC_MARKETS_PER_EVENT])
                return EventSpec(
                    event_ticker, SYNTHETIC_SERIES, f"Sandbox synthetic event {index}", "synthetic",
                    self.start - timedelta(days=1, minutes=3), tickers,
                )
        return None

    def market_spec(self, ticker: str) -> MarketSpec | None:
        spec = self._game_markets.get(ticker) or self._settled_specs.get(ticker)
        if spec is not None or not ticker.startswith(f"{SYNTHETIC_SERIES}-E"):
            return spec
        position = bisect_right(self._synthetic_tickers, ticker) - 1
        if position < 0 or self._synthetic_tickers[position] != ticker:
            return None
        event_ticker = ticker.rsplit("-", 1)[0]
        if position < self.settled_markets:
            # Spread over the month before the start, one a minute, oldest first.
            closed = self.start - timedelta(days=30) + timedelta(minutes=position)
            spec = self._settled_specs[ticker] = MarketSpec(
                ticker=ticker, event_ticker=event_ticker, series_ticker=SYNTHETIC_SERIES,
                title=f"Sandbox synthetic market {ticker}?", sub_title=ticker.rsplit("-", 1)[1],
                open_time=closed - timedelta(days=7), scheduled_close=closed, expected_expiration=closed,
                occurrence=None, rules_primary="A synthetic market for load tests; settled before the start.",
                rules_secondary="",
            )
            return spec
        return MarketSpec(
            ticker=ticker,
            event_ticker=event_ticker,
            series_ticker=SYNTHETIC_SERIES,
            title=f"Sandbox synthetic market {ticker}?",
            sub_title=ticker.rsplit("-", 1)[1],
            open_time=self.start - timedelta(days=1),
            scheduled_close=self.start + timedelta(days=30),
            expected_expiration=self.start + timedelta(days=30),
            occurrence=None,
            rules_primary="A synthetic market for load tests; it never resolves.",
            rules_secondary="",
        )

    def game_by_espn_id(self, espn_id: str) -> Game | None:
        return next((game for game in self.games if game.espn_id == espn_id), None)

    # ---- quote overrides (tests script prices with these) ----------------------------------

    def override_quotes(self, ticker: str, quotes: Quotes) -> None:
        if self.market_spec(ticker) is None:
            raise KeyError(ticker)
        with self._overrides_lock:
            self._overrides[ticker] = quotes

    def take_resting(self, ticker: str, book_side: str, quantity: Decimal) -> None:
        """Consume ``quantity`` of a resting-only override's ``book_side`` ('bid' or 'ask') size."""
        with self._overrides_lock:
            quotes = self._overrides.get(ticker)
            if quotes is None or not quotes.resting_only:
                return
            if book_side == "bid":
                self._overrides[ticker] = replace(quotes, yes_bid_size=max(Decimal(0), quotes.yes_bid_size - quantity))
            else:
                self._overrides[ticker] = replace(quotes, yes_ask_size=max(Decimal(0), quotes.yes_ask_size - quantity))

    def clear_override(self, ticker: str | None = None) -> None:
        with self._overrides_lock:
            if ticker is None:
                self._overrides.clear()
            else:
                self._overrides.pop(ticker, None)

    # ---- market state ----------------------------------------------------------------------

    def market_state(self, spec: MarketSpec, now: datetime) -> MarketState:
        game = spec.game
        if game is None:
            return self._synthetic_state(spec, now)
        status = self._status(spec, game, now)
        end = game.end
        closed = status not in ("initialized", "active")  # closed, determined or finalized
        won = game.winner is spec.team
        determined = status in ("determined", "finalized")
        with self._overrides_lock:
            override = self._overrides.get(spec.ticker)
        if status == "initialized":
            quotes = EMPTY_BOOK  # no book before the market opens
        elif closed:
            # Resting orders are cancelled at close: an empty book, last trade at the outcome.
            quotes = replace(EMPTY_BOOK, last_price=Decimal("0.99") if won else Decimal("0.01"))
        elif status == "active" and override is not None:
            quotes = override
        else:
            quotes = self.game_quotes(spec, game, now)
        day_ago = now - timedelta(days=1)
        previous = self.game_quotes(spec, game, day_ago) if day_ago >= spec.open_time else EMPTY_BOOK
        volume = self.game_volume(spec, game, now)
        created = spec.open_time - timedelta(minutes=3)
        transitions = [created, spec.open_time, end, game.determined_at, game.finalized_at]
        return MarketState(
            spec=spec,
            status=status,
            quotes=quotes,
            previous=previous,
            volume=volume,
            volume_24h=volume - self.game_volume(spec, game, day_ago),
            open_interest=(volume * Decimal("0.6")).to_integral_value(ROUND_FLOOR),
            result=("yes" if won else "no") if determined else "",
            settlement_value=(Decimal(1) if won else Decimal(0)) if determined else None,
            expiration_value=(game.winner.kalshi_name if determined and game.winner else ""),
            close_time=end if closed and end is not None else spec.scheduled_close,
            settlement_ts=game.finalized_at if status == "finalized" else None,
            updated_time=max((t for t in transitions if t is not None and t <= now), default=created),
        )

    @staticmethod
    def _status(spec: MarketSpec, game: Game, now: datetime) -> str:
        if now < spec.open_time:
            return "initialized"
        if game.end is None or now < game.end:
            return "active"
        if now < game.determined_at:
            return "closed"
        if now < game.finalized_at:
            return "determined"
        return "finalized"

    def game_quotes(self, spec: MarketSpec, game: Game, now: datetime) -> Quotes:
        snapshot = game_snapshot(game, min(now, game.end - timedelta(seconds=1)) if game.end else now)
        p_home = home_win_probability(game, snapshot)
        probability = p_home if spec.team is game.home else 1.0 - p_home
        minute = int((now - self.start).total_seconds() // 60)
        amplitude = 0.02 if snapshot.state == "pre" else 0.04
        fair = probability + amplitude * (unit(self.seed, spec.ticker, minute, "noise") - 0.5)
        return self._quotes(spec.ticker, fair, minute)

    def _quotes(self, ticker: str, fair: float, bucket: int) -> Quotes:
        fair = min(max(fair, 0.02), 0.98)
        spread = 1 if unit(self.seed, ticker, bucket, "spread") < 0.6 else 2
        bid = max(1, min(98, round(fair * 100 - spread / 2)))
        ask = min(99, bid + spread)
        last = max(bid, min(ask, round(fair * 100)))
        return Quotes(
            yes_bid=Decimal(bid) * CENT,
            yes_ask=Decimal(ask) * CENT,
            yes_bid_size=Decimal(50 + int(unit(self.seed, ticker, bucket, "bid") * 4950)),
            yes_ask_size=Decimal(50 + int(unit(self.seed, ticker, bucket, "ask") * 4950)),
            last_price=Decimal(last) * CENT,
        )

    def game_volume(self, spec: MarketSpec, game: Game, now: datetime) -> Decimal:
        factor = 0.7 + 0.6 * unit(self.seed, spec.ticker, "volume")
        until = min(now, game.end) if game.end else now
        pregame_minutes = max(0.0, (min(until, game.kickoff) - spec.open_time).total_seconds() / 60)
        live_minutes = max(0.0, (until - game.kickoff).total_seconds() / 60)
        return Decimal(int(factor * (150 * pregame_minutes + 3000 * live_minutes)))

    def _synthetic_state(self, spec: MarketSpec, now: datetime) -> MarketState:
        if spec.scheduled_close < self.start:
            # Settled markets never change: built once, so a season of them costs a crawl little.
            state = self._settled_states.get(spec.ticker)
            if state is None:
                state = self._settled_states[spec.ticker] = self._settled_synthetic_state(spec)
            return state
        hour = int((now - self.start).total_seconds() // 3600)
        fair = 0.05 + 0.9 * unit(self.seed, spec.ticker, hour, "fair")
        quotes = self._quotes(spec.ticker, fair, hour)
        volume = Decimal(int(1000 + unit(self.seed, spec.ticker, "volume") * 99000))
        return MarketState(
            spec=spec, status="active" if now >= spec.open_time else "initialized", quotes=quotes, previous=quotes,
            volume=volume, volume_24h=volume, open_interest=(volume * Decimal("0.6")).to_integral_value(ROUND_FLOOR),
            result="", settlement_value=None, expiration_value="", close_time=spec.scheduled_close,
            settlement_ts=None, updated_time=spec.open_time,
        )

    def _settled_synthetic_state(self, spec: MarketSpec) -> MarketState:
        won = unit(self.seed, spec.ticker, "result") < 0.5
        volume = Decimal(int(1000 + unit(self.seed, spec.ticker, "volume") * 99000))
        return MarketState(
            spec=spec, status="finalized", quotes=replace(EMPTY_BOOK, last_price=Decimal("0.99") if won else CENT),
            previous=EMPTY_BOOK, volume=volume, volume_24h=Decimal(0), open_interest=Decimal(0),
            result="yes" if won else "no", settlement_value=Decimal(1) if won else Decimal(0),
            expiration_value=spec.sub_title if won else "", close_time=spec.scheduled_close,
            settlement_ts=spec.scheduled_close + timedelta(seconds=SETTLEMENT_TIMER_SECONDS + 120),
            updated_time=spec.scheduled_close,
        )
