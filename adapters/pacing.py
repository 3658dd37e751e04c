"""Documented rate limits, kept on the sending side: at most N calls in any window of W seconds.

Both chat platforms publish per-conversation limits (Slack: about one message a second in a
channel, with a short burst; Teams: 7 a second, 8 in 2 s, 60 in 30 s and 1,800 an hour for a
bot in one conversation, and 50 a second per app in a tenant). A ``WindowLimits`` holds several
such windows at once and says how long a call must wait so that none is exceeded; the
platform's own 429 handling stays in each adapter.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field


@dataclass
class WindowLimits:
    """At most ``count`` starts in any ``seconds``-long window, for each (count, seconds) given."""

    limits: tuple[tuple[int, float], ...]
    _starts: deque[float] = field(default_factory=deque)

    def _longest(self) -> float:
        return max(seconds for _, seconds in self.limits)

    def wait_needed(self, now: float) -> float:
        while self._starts and self._starts[0] <= now - self._longest():
            self._starts.popleft()
        wait = 0.0
        for count, seconds in self.limits:
            inside = [t for t in self._starts if t > now - seconds] if count <= len(self._starts) else []
            if len(inside) >= count:
                wait = max(wait, inside[len(inside) - count] + seconds - now)
        return wait

    def started(self, now: float) -> None:
        self._starts.append(now)

    def busy(self, now: float) -> bool:
        """Whether a start is still inside some window (a quiet lane can be forgotten)."""
        return bool(self._starts) and self._starts[-1] > now - self._longest()
