"""Candlesticks as the market versions a replay walks, for markets the warehouse never recorded.

:func:`load_candle_versions` fills the session's temporary ``candle_market_versions`` (shaped
like ``markets``) from ``market_candles`` for every replayed ticker that has candles and no
recorded version. The finest candle at each instant wins (a minute candle over the hourly one
ending with it). Each candle before the market's close becomes an ``active`` version starting at
the end of its period, when its close was known:

- quotes: the candle's closing yes bid and ask, the no side mirrored (no_bid = 1 - yes_ask);
- sizes: candles carry no depth, so each side with a real quote offers ``quote_size`` contracts
  (the replay's assumption; an empty side, bid 0 or ask 1, offers none);
- last price: the period's last trade, else the previous period's, else the mid quote;
- volume: cumulative, and over the 24 hours before, from the per-period volumes.

A market whose result was known at backfill gets a final ``finalized`` version at its close
time carrying that result, so settlement settles it as it would a recorded market. Versions get
negative ids so they never collide with recorded ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import psycopg

CANDLE_VERSIONS = "candle_market_versions"
DEFAULT_QUOTE_SIZE = Decimal(100)

_VERSIONS = """
INSERT INTO pg_temp.candle_market_versions
       (id, ticker, event_ticker, market_type, status, yes_bid, yes_ask, no_bid, no_ask, last_price,
        yes_bid_size, yes_ask_size, volume, volume_24h, open_interest, notional_value, result, settlement_value,
        open_time, close_time, settlement_ts, row_current_ind, row_start_ts, row_end_ts)
WITH path AS (
    SELECT DISTINCT ON (c.ticker, c.end_period_ts) c.*, t.event_ticker
      FROM public.market_candles c
      JOIN public.market_tickers t ON t.ticker = c.ticker
     WHERE c.ticker = ANY(%(tickers)s) AND c.end_period_ts < c.market_close_time
       AND NOT EXISTS (SELECT 1 FROM public.markets m WHERE m.ticker = c.ticker)
     ORDER BY c.ticker, c.end_period_ts, c.period_interval
), priced AS (
    SELECT p.*,
           coalesce(p.price_close, p.price_previous, round((p.yes_bid_close + p.yes_ask_close) / 2, 4)) AS last_price,
           sum(p.volume) OVER (PARTITION BY p.ticker ORDER BY p.end_period_ts) AS cumulative_volume,
           sum(p.volume) OVER (PARTITION BY p.ticker ORDER BY p.end_period_ts
                               RANGE BETWEEN interval '24 hours' PRECEDING AND CURRENT ROW) AS volume_24h,
           lead(p.end_period_ts) OVER (PARTITION BY p.ticker ORDER BY p.end_period_ts) AS next_start,
           min(p.end_period_ts - make_interval(mins => p.period_interval)) OVER (PARTITION BY p.ticker) AS open_time,
           last_value(p.end_period_ts) OVER (PARTITION BY p.ticker ORDER BY p.end_period_ts
                                             ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS last_end
      FROM path p
), versions AS (
    SELECT ticker, event_ticker, 'active' AS status, yes_bid_close AS yes_bid, yes_ask_close AS yes_ask,
           last_price, cumulative_volume AS volume, volume_24h, open_interest, ''::text AS result,
           NULL::numeric AS settlement_value, open_time, market_close_time, NULL::timestamptz AS settlement_ts,
           end_period_ts AS row_start_ts,
           coalesce(next_start, CASE WHEN market_result <> '' THEN market_close_time END) AS row_end_ts
      FROM priced
    UNION ALL
    SELECT ticker, event_ticker, 'finalized', 0, 1, last_price, cumulative_volume, volume_24h, open_interest,
           market_result, CASE market_result WHEN 'yes' THEN 1 WHEN 'no' THEN 0 END, open_time, market_close_time,
           market_close_time, market_close_time, NULL
      FROM priced
     WHERE end_period_ts = last_end AND market_result <> ''
)
SELECT -row_number() OVER (ORDER BY ticker, row_start_ts), ticker, event_ticker, 'binary', status,
       yes_bid, yes_ask, 1 - yes_ask, 1 - yes_bid, last_price,
       CASE WHEN status = 'active' AND yes_bid > 0 THEN %(size)s ELSE 0 END,
       CASE WHEN status = 'active' AND yes_ask < 1 THEN %(size)s ELSE 0 END,
       volume, volume_24h, open_interest, 1, result, settlement_value, open_time, market_close_time, settlement_ts,
       row_end_ts IS NULL, row_start_ts, row_end_ts
  FROM versions
"""


def load_candle_versions(conn: psycopg.Connection, tickers: Sequence[str],
                         quote_size: Decimal = DEFAULT_QUOTE_SIZE) -> int:
    """(Re)create ``pg_temp.candle_market_versions`` for ``tickers``; returns how many markets it holds."""
    conn.execute(f"DROP TABLE IF EXISTS pg_temp.{CANDLE_VERSIONS}")
    conn.execute(f"CREATE TEMPORARY TABLE {CANDLE_VERSIONS} (LIKE public.markets)")
    conn.execute(_VERSIONS, {"tickers": list(tickers), "size": quote_size})
    return conn.execute(f"SELECT count(DISTINCT ticker) FROM pg_temp.{CANDLE_VERSIONS}").fetchone()[0]
