"""The sandbox's simulated clock: a start time, a speed multiplier, and manual steps.

``speed=60`` makes one real second one simulated minute, so a three-hour game and its
settlement take about three minutes; ``speed=0`` freezes time so tests move it only with
:meth:`SandboxClock.advance` / :meth:`SandboxClock.set`, which makes every payload reproducible.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta


class SandboxClock:
    def __init__(self, start: datetime, speed: float = 60.0, monotonic: Callable[[], float] = time.monotonic) -> None:
        if start.tzinfo is None:
            raise ValueError("the sandbox start time must be timezone-aware")
        if speed < 0:
            raise ValueError(f"speed must be >= 0, got {speed}")
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._anchor_sim = start.astimezone(UTC)
        self._anchor_real = monotonic()
        self._speed = float(speed)

    @property
    def speed(self) -> float:
        return self._speed

    def now(self) -> datetime:
        with self._lock:
            return self._now_locked()

    def _now_locked(self) -> datetime:
        elapsed = (self._monotonic() - self._anchor_real) * self._speed
        return self._anchor_sim + timedelta(seconds=elapsed)

    def _reanchor(self, simulated: datetime) -> None:
        self._anchor_sim = simulated
        self._anchor_real = self._monotonic()

    def advance(self, seconds: float) -> datetime:
        """Jump ``seconds`` of simulated time forward (never backward)."""
        if seconds < 0:
            raise ValueError(f"the sandbox clock only moves forward; got {seconds} s")
        with self._lock:
            self._reanchor(self._now_locked() + timedelta(seconds=seconds))
            return self._anchor_sim

    def set(self, at: datetime) -> datetime:
        """Jump to ``at`` (forward or backward: tests may replay a moment)."""
        if at.tzinfo is None:
            raise ValueError("the sandbox time must be timezone-aware")
        with self._lock:
            self._reanchor(at.astimezone(UTC))
            return self._anchor_sim

    def set_speed(self, speed: float) -> None:
        if speed < 0:
            raise ValueError(f"speed must be >= 0, got {speed}")
        with self._lock:
            self._reanchor(self._now_locked())
            self._speed = float(speed)
