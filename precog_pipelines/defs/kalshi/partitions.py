"""The days of Kalshi price history: a market belongs to the UTC day its trading closed."""

import dagster as dg

# The 2025 NFL season's first game markets (KXNFLGAME-25SEP04...) closed on 2025-09-05 UTC; the
# days before hold nothing of the series Precog trades.
FIRST_CANDLE_DAY = "2025-09-01"

candle_days = dg.DailyPartitionsDefinition(start_date=FIRST_CANDLE_DAY, timezone="UTC")
