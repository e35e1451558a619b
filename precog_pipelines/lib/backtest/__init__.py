"""Backtests: what a strategy version would have done (plain Python, no Dagster).

``lines`` replays a strategy against the closing lines (entry at the market's probability plus
a half-spread, the taker fee, stake, minimum edge and exposure as the strategy says, held to
the result). ``market_replay`` walks the warehouse's recorded Kalshi market versions in time
order through the live edge, opening, exit-rule and settlement code, with the ledger shadowed
by session-private tables (``point_in_time``) so the live ledger is never written. ``results``
summarises and stores either kind in the backtest tables; ``runs`` ties a request together.
"""
