"""Clocks: the real one, and a simulated one that only moves when told (console time travel, tests)."""

from __future__ import annotations

from datetime import UTC, datetime


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class SimulatedClock:
    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("the simulated clock needs an aware instant")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def set(self, instant: datetime) -> None:
        """Move forward to ``instant``; time never runs backwards."""
        self._now = max(self._now, instant.astimezone(UTC))
