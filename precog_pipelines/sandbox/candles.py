"""Candlesticks of the sandbox's game markets, derived from the same simulated price path that
its ``/markets`` endpoint quotes (:meth:`SandboxWorld.game_quotes`), so a backfill can be tested
offline and checked against this module.

A candle ending at ``T`` covers ``(T - period, T]``; its quotes are sampled along the path every
:data:`SAMPLE_MINUTES` of its period while the market traded (from its open to its game's end,
and never past the sandbox clock: the future has no candles). Volume is what the path's
cumulative volume gained within the period, open interest the market's at ``T``; trade prices
(``price``) are null in a period without volume, as on the exchange. Test quote overrides do
not enter: the candles are a pure function of the world's seed, start and the window.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal

from precog_pipelines.sandbox.world import MarketSpec, Quotes, SandboxWorld

PRICE = Decimal("0.0001")
COUNT = Decimal("0.01")
SAMPLE_MINUTES = {1: 1, 60: 5, 1440: 60}


def market_candles(world: SandboxWorld, spec: MarketSpec, period_interval: int, start_ts: int, end_ts: int,
                   now: datetime) -> list[dict]:
    """The candles ending within ``[start_ts, end_ts]`` (Unix seconds) and by ``now``, oldest first."""
    game = spec.game
    if game is None or period_interval not in SAMPLE_MINUTES:
        return []
    period = period_interval * 60
    traded_until = min(game.end or now, now)
    last_end = min(end_ts, int(now.timestamp()))
    candles = []
    end = -(-max(start_ts, 1) // period) * period  # the first period boundary at or after start_ts
    while end <= last_end:
        window_start = datetime.fromtimestamp(end - period, tz=UTC)
        step = timedelta(minutes=SAMPLE_MINUTES[period_interval])
        samples = []
        moment = window_start
        while moment < window_start + timedelta(seconds=period):
            if spec.open_time <= moment < traded_until:
                samples.append(world.game_quotes(spec, game, moment))
            moment += step
        if samples:
            candles.append(_candle(world, spec, end, period, samples, traded_until))
        end += period
    return candles


def _candle(world: SandboxWorld, spec: MarketSpec, end: int, period: int, samples: list[Quotes],
            traded_until: datetime) -> dict:
    game = spec.game
    assert game is not None
    close = datetime.fromtimestamp(end, tz=UTC)
    volume_at = world.game_volume(spec, game, min(close, traded_until))
    volume = volume_at - world.game_volume(spec, game, close - timedelta(seconds=period))
    traded = volume > 0
    lasts = [q.last_price for q in samples]
    before = close - timedelta(seconds=period, minutes=SAMPLE_MINUTES[period // 60])  # last sample of the period before
    previous = world.game_quotes(spec, game, before).last_price if before >= spec.open_time else None
    return {
        "end_period_ts": end,
        "yes_bid": _ohlc([q.yes_bid for q in samples]),
        "yes_ask": _ohlc([q.yes_ask for q in samples]),
        "price": {
            **(_ohlc(lasts) if traded else dict.fromkeys(("open_dollars", "low_dollars", "high_dollars",
                                                         "close_dollars"))),
            "mean_dollars": _dollars(sum(lasts) / len(lasts)) if traded else None,
            "previous_dollars": _dollars(previous) if previous is not None else None,
            "min_dollars": _dollars(min(lasts)) if traded else None,
            "max_dollars": _dollars(max(lasts)) if traded else None,
        },
        "volume_fp": f"{volume.quantize(COUNT):f}",
        "open_interest_fp": f"{(volume_at * Decimal('0.6')).to_integral_value(ROUND_FLOOR).quantize(COUNT):f}",
    }


def _ohlc(values: list[Decimal]) -> dict[str, str]:
    return {"open_dollars": _dollars(values[0]), "low_dollars": _dollars(min(values)),
            "high_dollars": _dollars(max(values)), "close_dollars": _dollars(values[-1])}


def _dollars(value: Decimal) -> str:
    return f"{value.quantize(PRICE):f}"
