"""What the paper exit tests share: the market of the factories' paper position and a clock."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

TICKER = "KXNFLGAME-26SEP13DALNYG-DAL"


def clock() -> datetime:
    """Ten minutes from now: after every market version the tests write."""
    return datetime.now(timezone.utc) + timedelta(minutes=10)
