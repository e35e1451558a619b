"""Kalshi's ticker format, checked before a ticker goes into a request.

Series, event and market tickers are capitals and digits joined by ``-``, with ``.`` and ``_`` in
some market suffixes (KALSHI_API.md: ``KXNFLGAME``, ``KXNFLGAME-25SEP07KCLAC-KC``,
``KXHIGHNY-26APR27-B64.5``). Anything else is refused before a request leaves: an empty filter
would list every market of every series, ``../portfolio/balance`` in a path would climb to another
endpoint, and a 100,000-character one only earns an HTML 414 page.
"""

from __future__ import annotations

import re

from precog_pipelines.lib.wire_values import short_repr

MAX_TICKER_LENGTH = 100
TICKER = re.compile(rf"[A-Z0-9][A-Z0-9._-]{{0,{MAX_TICKER_LENGTH - 1}}}")
TICKER_FORMAT = f"capitals and digits, with - . _ inside, at most {MAX_TICKER_LENGTH} characters"


def ticker_problem(value: str) -> str | None:
    """Why ``value`` is not a Kalshi ticker (a sentence starting with its short repr), or None."""
    if isinstance(value, str) and TICKER.fullmatch(value):
        return None
    return f"{short_repr(value, 60)} is not a Kalshi ticker ({TICKER_FORMAT})"
