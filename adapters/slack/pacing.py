"""Pacing Web API calls to the rate Slack allows, learnt from its answers, instead of bursting into 429s.

Slack limits each method per app per workspace (its tiers: 1+, 20+, 50+ and 100+ a minute,
with bursts tolerated) and ``chat.postMessage`` specially: about one message a second in a
channel, under a workspace-wide limit it does not publish. None of these numbers is exact,
so a fixed schedule would be either too slow or wrong. Instead each (workspace, method)
keeps a small pace:

* at most ``in_flight`` calls at once, so a fan-out of a thousand DMs does not open with a
  thousand simultaneous requests;
* after the first 429 it knows how many calls succeeded in the second before it, and from
  then on starts at most that many in any window of ``window`` seconds (a sliding log, so
  whatever window Slack counts in, fixed or sliding, sees no more than that);
* a 429 pauses every call of the pair until ``Retry-After`` has passed, and lowers the
  learnt limit to what actually got through;
* after ``relax_after`` seconds without a 429 the limit is raised by a tenth, so a limit
  learnt at a busy moment does not slow the workspace forever.

Messages in one channel are spaced by ``channel_gap`` (Slack's one-a-second guidance, with
the short burst it tolerates), which keeps a long message's continuations in order and
within the channel's limit.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from adapters.pacing import WindowLimits

IN_FLIGHT = 8
"""Calls of one method in one workspace at once: enough for Slack's round trip to sustain ~80/s."""
WINDOW = 1.0
MARGIN = 0.01
"""Seconds added to the window: requests reach Slack a little after we start them, unevenly. It starts at 1% of
the window and widens by half at each refusal that came although the window held no more than the limit, so it is
learnt like the limit; at 3% from the start, every paced second gave away 3% of what Slack allows."""
MAX_MARGIN = 0.25
RELAX_AFTER = 60.0
CHANNEL_BURST = 3
CHANNEL_GAP = 1.0
MAX_CHANNELS = 4096
"""Channel lanes kept before the quiet ones are dropped (a fan-out touches one per person)."""


@dataclass
class MethodPace:
    """The pace of one Web API method in one workspace."""

    in_flight: int = IN_FLIGHT
    window: float = WINDOW
    margin: float = MARGIN
    relax_after: float = RELAX_AFTER
    limit: int | None = None
    """Calls allowed to start in any window; ``None`` until Slack has said no once."""
    paused_until: float = 0.0
    refusals: int = 0
    _started: deque[float] = field(default_factory=deque)
    _refused: deque[float] = field(default_factory=deque)
    _last_refusal: float = 0.0
    _gate: asyncio.Semaphore | None = None

    def _semaphore(self) -> asyncio.Semaphore:
        if self._gate is None:
            self._gate = asyncio.Semaphore(self.in_flight)
        return self._gate

    def _forget_before(self, log: deque[float], instant: float) -> None:
        while log and log[0] <= instant:
            log.popleft()

    def wait_needed(self, now: float) -> float:
        """Seconds to wait before another call may start (0 when it may start now)."""
        if now < self.paused_until:
            return self.paused_until - now
        self._relax(now)
        if self.limit is None:
            return 0.0
        span = self.window + self.margin
        self._forget_before(self._started, now - span)
        if len(self._started) < self.limit:
            return 0.0
        return self._started[len(self._started) - self.limit] + span - now

    def _relax(self, now: float) -> None:
        if self.limit is not None and now - max(self._last_refusal, self.paused_until) >= self.relax_after:
            self.limit += max(1, math.ceil(self.limit / 10))
            self._last_refusal = now

    def started(self, now: float) -> None:
        self._forget_before(self._started, now - 2 * (self.window + self.margin))
        self._started.append(now)

    def refused(self, started_at: float, now: float, retry_after: float) -> None:
        """A 429: learn how many calls Slack took in the window before this one, and pause.

        Calls still in flight count as taken: they reached Slack before this one was refused.
        """
        self.refusals += 1
        self._refused.append(started_at)
        self.paused_until = max(self.paused_until, now + retry_after)
        already_known = started_at <= self._last_refusal  # in flight when Slack first said no: the same overflow
        self._last_refusal = now
        if already_known:
            return
        since = started_at - self.window
        self._forget_before(self._refused, since - self.window)
        taken = sum(1 for t in self._started if since < t < started_at)
        taken -= sum(1 for t in self._refused if since < t < started_at)
        learnt = max(1, taken)
        if self.limit is None or learnt < self.limit - 1:
            self.limit = learnt
        else:  # this call filled the window, no more: they reached Slack unevenly, so keep them wider apart
            self.margin = min(MAX_MARGIN, self.margin * 1.5)


class Pacer:
    """Every (workspace, method) pace and every channel's, for one Slack chat adapter."""

    def __init__(self, clock: Callable[[], float] | None = None, in_flight: int = IN_FLIGHT) -> None:
        self._clock = clock
        self._in_flight = in_flight
        self.methods: dict[tuple[str, str], MethodPace] = {}
        self.channels: dict[tuple[str, str], WindowLimits] = {}

    def now(self) -> float:
        return self._clock() if self._clock is not None else asyncio.get_running_loop().time()

    def method(self, workspace: str, method: str) -> MethodPace:
        pace = self.methods.get((workspace, method))
        if pace is None:
            pace = self.methods[(workspace, method)] = MethodPace(in_flight=self._in_flight)
        return pace

    def _forget_quiet_channels(self) -> None:
        now = self.now()
        for key in [key for key, lane in self.channels.items() if lane.wait_needed(now) == 0 and not lane.busy(now)]:
            del self.channels[key]

    @asynccontextmanager
    async def turn(self, workspace: str, method: str, channel: str | None = None) -> AsyncIterator[float]:
        """Wait for this call's turn; yields the instant it started (to report success or a 429 against)."""
        pace = self.method(workspace, method)
        lane = None
        if channel is not None:
            lane = self.channels.get((workspace, channel))
            if lane is None:
                if len(self.channels) >= MAX_CHANNELS:
                    self._forget_quiet_channels()
                lane = self.channels[(workspace, channel)] = WindowLimits(((CHANNEL_BURST, CHANNEL_BURST * CHANNEL_GAP),))
        async with pace._semaphore():
            while True:
                now = self.now()
                wait = max(pace.wait_needed(now), lane.wait_needed(now) if lane is not None else 0.0)
                if wait <= 0:
                    break
                await asyncio.sleep(wait)
            pace.started(now)
            if lane is not None:
                lane.started(now)
            yield now
