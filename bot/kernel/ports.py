"""The ports the core talks through. Adapters implement them; tests fake them.

Each is a small ``Protocol``: the core names what it needs, never how it is done.
Capabilities that need storage of their own (RACI, retros, digests) declare their own
small store protocol next to their use cases; this module holds the shared ones.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, ParamSpec, Protocol, TypeVar, runtime_checkable

from bot.kernel.calendars import HolidayCalendar
from bot.kernel.domain import Member, Standup, StatusAway, Workspace
from bot.kernel.messages import Form, Message


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware UTC."""
        ...


@dataclass(frozen=True)
class Posted:
    """Where a message landed: the platform's channel id and message id (Slack ``ts``)."""

    channel: str
    message_id: str


@dataclass(frozen=True)
class ChatStatus:
    """A person's status as their chat platform shows it (Slack: emoji, text and when it clears)."""

    emoji: str
    """The platform's name for the emoji (``:palm_tree:``), what a team file lists; empty when none."""
    text: str
    expires: datetime | None = None
    """When the platform clears it; ``None``: the person chose no expiry."""
    shown: str = ""
    """The emoji as people see it (``🌴``), for messages; the name when the adapter knows no better."""
    platform: str = ""

    @property
    def is_set(self) -> bool:
        return bool(self.emoji or self.text)


@dataclass(frozen=True)
class Profile:
    """What a chat platform knows about a person."""

    account_id: str
    name: str
    tz: str | None
    email: str | None = None
    is_admin: bool = False
    status: ChatStatus | None = None
    """Their current status; ``None`` when the platform has no statuses (an empty one is a ``ChatStatus``)."""


class DeliveryError(Exception):
    """The platform refused or failed; the outbox retries later."""


class RateLimited(DeliveryError):
    def __init__(self, retry_after: float) -> None:
        super().__init__(f"rate limited, retry after {retry_after}s")
        self.retry_after = retry_after


class ChatPort(Protocol):
    """What the core asks of a chat platform. Channels are the platform's ids or names."""

    platform: str

    async def post(self, workspace: str, channel: str, message: Message, thread: str | None = None) -> Posted: ...

    async def update(self, workspace: str, posted: Posted, message: Message) -> None: ...

    async def dm(self, member: Member, message: Message) -> Posted: ...

    async def ephemeral(self, member: Member, channel: str, message: Message) -> None: ...

    async def open_form(self, member: Member, form: Form, trigger: str | None) -> bool:
        """Open a form; ``False`` when the platform cannot, so the caller falls back to DM questions."""
        ...

    async def profile(self, member: Member) -> Profile | None: ...


@runtime_checkable
class ConfirmsDelivery(Protocol):
    """A chat port that can tell whether an earlier send landed (an optional capability).

    A process can die after the platform accepted a message and before the outbox
    recorded it. A port with this capability takes the outbox key with each send and
    can find it again later, so the outbox confirms instead of sending twice; a port
    without it is still a ``ChatPort``, and such messages are then sent at least once.
    """

    async def post(self, workspace: str, channel: str, message: Message, thread: str | None = None, *,
                   key: str | None = None) -> Posted: ...

    async def dm(self, member: Member, message: Message, *, key: str | None = None) -> Posted: ...

    async def find_sent(self, workspace: str, key: str, target: Posted | Member | str,
                        since: datetime) -> Posted | None:
        """The message sent under ``key`` at or after ``since``, or ``None`` when none landed.

        ``target`` is where it would be: a channel, the thread parent's ``Posted`` (a reply),
        or the ``Member`` a DM went to. Raise ``DeliveryError`` (or ``RateLimited``) when the
        platform cannot answer right now; the outbox then tries again later.
        """
        ...


@runtime_checkable
class LinksToMessages(Protocol):
    """A chat port that can give a link to a message it posted (an optional capability).

    ``/standup blockers`` links each blocker to the thread that showed it; a port without it
    (the console) names the thread's day and channel instead.
    """

    async def permalink(self, workspace: str, posted: Posted) -> str | None:
        """The message's address for people to open, or ``None`` when the platform cannot tell now."""
        ...


@dataclass(frozen=True)
class Upload:
    """A file a person shared, as the chat platform handed it over."""

    name: str
    content: bytes


@runtime_checkable
class ReceivesUploads(Protocol):
    """A chat port that can hand over the file a person just shared (an optional capability).

    Slack can (the channel's newest file from that person); the console and Teams cannot
    yet, and a command that needs a file then asks for pasted text instead.
    """

    async def latest_upload(self, workspace: str, channel: str | None, member: Member,
                            max_bytes: int) -> Upload | None: ...


# --- what one capability offers another (typed here, injected at bootstrap) -------------------
class ActivityOwners(Protocol):
    """Who owns an activity: RACI offers it; stand-up blockers and drift alerts use it."""

    def owners(self, workspace: str, activity: str) -> tuple[list[Member], Member | None] | None:
        """The Responsible and the Accountable of the activity ``activity`` confidently names, else ``None``."""
        ...

    def owner_hint(self, workspace: str, text: str) -> tuple[str, Member] | None:
        """The activity a free text (a blocker) names and its Accountable, else ``None``."""
        ...


class SprintNumbers(Protocol):
    """The sprint in numbers: digests offer it; a retro thread opens with it."""

    async def sprint_numbers(self, workspace: str, since: datetime, until: datetime) -> list[str]:
        """One line per figure (runs finished, best metric, drift alerts …); empty when there are no sources.

        Raises when a source cannot be read; the caller shows "source unavailable" instead.
        """
        ...


@dataclass(frozen=True)
class DueItem:
    """One piece of scheduled work. ``key`` names it uniquely (what, for whom, which occurrence)."""

    key: str
    kind: str
    workspace: str
    due_at: datetime
    payload: dict[str, Any]


@dataclass(frozen=True)
class ClaimedItem:
    id: int
    key: str
    kind: str
    workspace: str
    due_at: datetime
    payload: dict[str, Any]
    attempts: int


@dataclass
class StandupRun:
    """One member's stand-up for one of their local dates."""

    workspace: str
    standup: str
    member: str
    day: date
    status: str = "pending"
    """pending | reminded | answered | skipped | away"""
    answers: tuple[str, ...] = ()
    answered_at: datetime | None = None
    reminded_at: datetime | None = None


@dataclass(frozen=True)
class OutboxEntry:
    key: str
    workspace: str
    kind: str
    """post | dm | reply | update"""
    target: str
    payload: str
    status: str
    """pending (stored, not tried) | sending (an attempt started: maybe sent) | sent | failed | dead"""
    attempts: int
    thread_key: str | None = None
    channel: str | None = None
    message_id: str | None = None
    next_attempt_at: datetime | None = None
    created_at: datetime | None = None
    attempt_at: datetime | None = None
    """When the latest attempt started; an entry ``sending`` for longer than a lease was cut short."""
    attempt_by: str | None = None
    """The worker making the latest attempt; one whose heartbeat stopped was cut short too."""


P = ParamSpec("P")
R = TypeVar("R")


class Store(Protocol):
    """The storage the core's shared capabilities need (stand-ups, scheduling, delivery)."""

    async def off_loop(self, call: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
        """``call(*args, **kwargs)``, a function of store calls, run where waiting on the database does not hold up
        the event loop.

        Every store method blocks while its statements make their round trips; on a database across the
        network (2 ms a round trip) a fan-out whose reminders each wait a dozen of them one after another on
        the loop falls far behind the platform's rate limit. The hot paths (the engine's claims and outcomes,
        the outbox, a reminder) hand their store work here in a few pieces, so that many wait at once. A
        local database (SQLite) runs it in place: its calls take microseconds and its writers would only
        queue for the file lock. A call that has not answered within the store's per-call timeout raises
        an outage (``outage`` is true of it); the call itself finishes or fails in the background.
        """
        ...

    # workspaces and people
    def get_workspace(self, workspace: str) -> Workspace | None: ...
    def upsert_workspace(self, workspace: Workspace) -> None: ...
    def get_member(self, workspace: str, member_id: str) -> Member | None: ...
    def list_members(self, workspace: str) -> list[Member]: ...
    def find_member_by_account(self, workspace: str, platform: str, account_id: str) -> Member | None: ...
    def upsert_member(self, member: Member) -> None: ...
    def upsert_members(self, members: list[Member]) -> None: ...
    def delete_member(self, workspace: str, member_id: str) -> None: ...
    def merge_member(self, workspace: str, old_id: str, new_id: str) -> None:
        """Fold one member into another (a platform user seen before the team file named them)."""
        ...
    def list_workspaces(self) -> list[Workspace]: ...
    def set_member_status(self, workspace: str, member_id: str, absences: tuple[StatusAway, ...]) -> None:
        """Record the absences a member's chat status said (``Member.status_away``). Only this writes them:
        importing the team file or changing a setting (``upsert_member``) keeps what the platform said."""
    def team_holidays(self, workspace: str) -> HolidayCalendar | None:
        """The team's default holiday calendar (the team file's top-level ``holidays:``)."""
        ...
    def set_team_holidays(self, workspace: str, calendar: HolidayCalendar | None) -> None:
        """Set the team's default calendar on a stored workspace. ``upsert_members`` gives it to every member
        written without a calendar of their own (``Member.holidays`` ``None``: one a chat platform created)."""
        ...

    # stand-ups
    def list_standups(self, workspace: str | None = None) -> list[Standup]: ...
    def get_standup(self, workspace: str, name: str) -> Standup | None: ...
    def upsert_standup(self, standup: Standup) -> None: ...
    def get_run(self, workspace: str, standup: str, member: str, day: date) -> StandupRun | None: ...
    def save_run(self, run: StandupRun) -> None: ...
    def mark_reminded(self, workspace: str, standup: str, member: str, day: date, at: datetime) -> None:
        """The member was reminded of the day at ``at``: one write, and a run already answered or skipped keeps
        its status (the answer may land between the reminder's send and this write)."""
        ...
    def runs_for_day(self, workspace: str, standup: str, day: date, status: str | None = None) -> list[StandupRun]:
        """The day's runs, in member order; only those in ``status`` when it is given (a reminder reads the
        day's answered runs only: reading them all would make a fan-out's reminders quadratic)."""
        ...
    def runs_between(self, workspace: str, standup: str, first: date, last: date,
                     member: str | None = None, status: str | None = None) -> list[StandupRun]:
        """Runs in the date range, in day order; only one member's when ``member`` is given, only those in
        ``status`` when it is given."""
        ...
    def delete_runs_for_member(self, workspace: str, member: str) -> int: ...

    # scheduled work
    def schedule(self, items: list[DueItem]) -> int:
        """Insert items whose key is new; return how many were new."""
        ...
    def beat(self, worker: str, at: datetime) -> None:
        """Record the worker's heartbeat: it is alive at ``at`` (and forget beats silent for a day)."""
        ...
    def claim_due(self, now: datetime, worker: str, limit: int, lease_seconds: float,
                  silent_since: datetime | None = None) -> list[ClaimedItem]:
        """Claim up to ``limit`` pending items due by ``now`` for ``lease_seconds``.

        A claim whose lease ran out is taken over, and so is one whose worker's latest heartbeat
        is at or before ``silent_since`` (it died). A worker that never beat keeps its claims
        for the whole lease.
        """
        ...
    def release_claims(self, worker: str, keep: Collection[int] = ()) -> int:
        """Make the items ``worker`` holds claimed, except those in ``keep``, pending again; returns how many.

        A worker calls it for itself once the database is back after it lost it mid-pass: what
        it claimed and is no longer running would otherwise wait out the whole lease.
        """
        ...
    def finish(self, item_id: int, status: str, note: str = "") -> None: ...
    def retry_later(self, item_id: int, at: datetime, note: str) -> None: ...
    def cancel_pending(self, workspace: str, key_prefix: str) -> int: ...
    def next_due_at(self) -> datetime | None: ...
    def due_status(self, key: str) -> str | None: ...

    # outbox
    def outbox_add(self, entry: OutboxEntry, now: datetime) -> OutboxEntry:
        """Store a new entry, or return the one already stored under its key."""
        ...
    def outbox_add_claimed(self, entry: OutboxEntry, now: datetime, worker: str) -> tuple[OutboxEntry, bool]:
        """Store a new entry already ``sending`` by ``worker`` since ``now``: the insert begins its first attempt
        (nobody else can hold a row that did not exist), one round trip where storing and then claiming
        takes three. Returns the entry as it was before that attempt (``pending``) and ``True``; for a key
        already stored, the stored entry, untouched, and ``False`` (then ``outbox_begin_attempt`` decides)."""
        ...
    def outbox_get(self, key: str) -> OutboxEntry | None: ...
    def outbox_begin_attempt(self, key: str, now: datetime, stale_before: datetime, worker: str | None = None,
                             silent_since: datetime | None = None) -> OutboxEntry | None:
        """Mark the entry ``sending`` at ``now`` by ``worker`` (committed) before the platform is called.

        A compare-and-set: it succeeds for an entry that is pending, failed or dead, or
        ``sending`` since before ``stale_before``, or by a worker whose latest heartbeat is at
        or before ``silent_since`` (its sender died). Returns the entry as it was before, or
        ``None`` when another sender holds it or it is already sent.
        """
        ...
    def outbox_renew_attempt(self, key: str, held_since: datetime, now: datetime) -> bool:
        """Keep holding an attempt started at ``held_since`` (a long rate-limit wait); ``False`` if lost."""
        ...
    def outbox_mark_sent(self, key: str, channel: str, message_id: str, at: datetime) -> None: ...
    def outbox_mark_failed(self, key: str, error: str, retry_at: datetime | None) -> None: ...
    def outbox_retryable(self, now: datetime, limit: int, stale_after: timedelta = ...,
                         silent_since: datetime | None = None) -> list[OutboxEntry]:
        """Failed entries due again, entries left ``pending`` or ``sending`` for ``stale_after``, and
        entries ``sending`` by a worker whose latest heartbeat is at or before ``silent_since``."""
        ...
    def outbox_release(self, worker: str, now: datetime, keep: Collection[str] = ()) -> int:
        """Entries ``worker`` is recorded ``sending``, except those in ``keep``, become ``failed`` and due at
        ``now``; returns how many.

        The worker's own attempts that the database lost track of (its connection dropped
        before the outcome was written; the message may have landed): the retry asks the
        platform before sending again.
        """
        ...
    def outage(self, err: BaseException) -> bool:
        """Whether ``err`` means the database could not be used (unreachable, connection dropped, locked):
        the work that met it is not at fault and is worth trying again soon."""
        ...

    # retention
    def purge(self, answers_before: date, bookkeeping_before: datetime) -> dict[str, int]:
        """Delete stand-up answers before ``answers_before`` and finished bookkeeping before the instant."""
        ...

    # one unit of work
    def transaction(self) -> AbstractContextManager[None]:
        """Everything the block writes through this store (and stores sharing its database) lands together
        or not at all: a team file is applied whole or leaves nothing behind."""
        ...

    # small state: conversations in progress, watermarks, settings
    def kv_get(self, workspace: str, key: str) -> Any: ...
    def kv_set(self, workspace: str, key: str, value: Any) -> None: ...
    def kv_get_many(self, workspace: str, keys: Sequence[str]) -> dict[str, Any]:
        """The values of those ``keys`` that are set, in one read (a reminder needs several per person)."""
        ...
    def kv_set_many(self, workspace: str, values: Mapping[str, Any]) -> None:
        """Set every key in one write."""
        ...
    def kv_delete(self, workspace: str, key: str) -> None: ...
