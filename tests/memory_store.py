"""``MemoryStore``: the core's ``Store`` port held in dictionaries, for fast tests of kernel behaviour.

It is a second implementation of our own port, not a fake of an outside service: it
keeps ``storage.kernel.repo.SqlStore``'s observable behaviour (the contract test in
``tests/unit/test_store_contract.py`` runs the same checks against both), so a test
that needs no database can run the real core on it in milliseconds. What it stores
comes back as it would from the database: instants as aware UTC (a naive one is
refused), times to the minute, JSON values as copies, and ``transaction()`` leaves
nothing behind when its block raises.

It is for one process and one thread, like a test: the claim and compare-and-set
operations are atomic because nothing else runs while a method does.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from bot.kernel.calendars import HolidayCalendar
from bot.kernel.domain import Hours, Member, Standup, StatusAway, Workspace
from bot.kernel.ports import ClaimedItem, DueItem, OutboxEntry, P, R, StandupRun, Store

FINISHED_WORK = ("done", "missed", "failed", "cancelled")
"""Due-work states the nightly purge drops once old (as ``SqlStore.purge``)."""
FINISHED_DELIVERY = ("sent", "dead")
CLAIMABLE_OUTBOX = ("pending", "failed", "dead")
"""Outbox states a new attempt may start from without waiting; ``sending`` only once stale."""
NOTE_LIMIT = 2000


def _instant(value: datetime) -> datetime:
    """As ``storage.db.UTCDateTime``: aware instants only, handed back in UTC."""
    if value.tzinfo is None:
        raise ValueError("naive datetime refused: instants are stored as timezone-aware UTC")
    return value.astimezone(UTC)


def _maybe_instant(value: datetime | None) -> datetime | None:
    return None if value is None else _instant(value)


def _minute(value: time) -> time:
    """Times are stored as ``HH:MM``."""
    return time(value.hour, value.minute)


def _json(value: Any) -> Any:
    """A JSON column's round trip: a copy, with tuples as lists and non-JSON values refused."""
    return json.loads(json.dumps(value))


@dataclass
class DueRecord:
    """One row of scheduled work, with the columns ``SqlStore.due_items`` shows."""

    id: int
    key: str
    kind: str
    workspace: str
    due_at: datetime
    payload: dict[str, Any]
    status: str = "pending"
    claimed_by: str | None = None
    claimed_until: datetime | None = None
    attempts: int = 0
    note: str = ""


@dataclass
class _OutboxRecord:
    entry: OutboxEntry
    sent_at: datetime | None = None
    last_error: str = ""


@dataclass
class _State:
    workspaces: dict[str, Workspace] = field(default_factory=dict)
    members: dict[tuple[str, str], Member] = field(default_factory=dict)
    team_holidays: dict[str, HolidayCalendar] = field(default_factory=dict)
    accounts: dict[tuple[str, str, str], str] = field(default_factory=dict)
    """``(workspace, platform, account id)`` → member id: one account names one person."""
    standups: dict[tuple[str, str], Standup] = field(default_factory=dict)
    runs: dict[tuple[str, str, str, date], StandupRun] = field(default_factory=dict)
    due: dict[int, DueRecord] = field(default_factory=dict)
    due_keys: dict[str, int] = field(default_factory=dict)
    next_id: int = 1
    outbox: dict[str, _OutboxRecord] = field(default_factory=dict)
    kv: dict[tuple[str, str], Any] = field(default_factory=dict)
    beats: dict[str, datetime] = field(default_factory=dict)
    """worker → its latest heartbeat"""


class MemoryStore:
    def __init__(self) -> None:
        self._state = _State()
        self._depth = 0

    async def off_loop(self, call: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
        """In place: nothing in memory waits on a network."""
        return call(*args, **kwargs)

    # --- one unit of work ---------------------------------------------------------------
    def transaction(self) -> AbstractContextManager[None]:
        return self._transaction()

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """All or nothing: the outermost block snapshots the state and puts it back on an exception.

        A nested block joins the outer one, as ``storage.db.transaction_scope`` does.
        """
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        snapshot = copy.deepcopy(self._state)
        self._depth = 1
        try:
            yield
        except BaseException:
            self._state = snapshot
            raise
        finally:
            self._depth = 0

    # --- workspaces and people --------------------------------------------------------
    def get_workspace(self, workspace: str) -> Workspace | None:
        return self._state.workspaces.get(workspace)

    def upsert_workspace(self, workspace: Workspace) -> None:
        self._state.workspaces[workspace.id] = workspace

    def list_workspaces(self) -> list[Workspace]:
        return list(self._state.workspaces.values())

    def team_holidays(self, workspace: str) -> HolidayCalendar | None:
        return self._state.team_holidays.get(workspace)

    def set_team_holidays(self, workspace: str, calendar: HolidayCalendar | None) -> None:
        if workspace not in self._state.workspaces:
            return
        if calendar is None:
            self._state.team_holidays.pop(workspace, None)
        else:
            self._state.team_holidays[workspace] = calendar

    def get_member(self, workspace: str, member_id: str) -> Member | None:
        found = self._state.members.get((workspace, member_id))
        return self._copy_member(found) if found else None

    def list_members(self, workspace: str) -> list[Member]:
        return [self._copy_member(m) for (ws, _id), m in sorted(self._state.members.items()) if ws == workspace]

    def find_member_by_account(self, workspace: str, platform: str, account_id: str) -> Member | None:
        member_id = self._state.accounts.get((workspace, platform, account_id))
        return self.get_member(workspace, member_id) if member_id is not None else None

    def upsert_member(self, member: Member) -> None:
        self.upsert_members([member])

    def upsert_members(self, members: list[Member]) -> None:
        state = self._state
        for m in members:
            held = state.members.get((m.workspace, m.id))  # the chat status is the platform's, not the caller's
            state.members[(m.workspace, m.id)] = replace(
                m, status_away=held.status_away if held is not None else (), hours=Hours(_minute(m.hours.start), _minute(m.hours.end)), accounts=dict(m.accounts),
                workdays=frozenset(m.workdays), ooo=tuple(m.ooo), owner_of=tuple(m.owner_of),
                holidays=m.holidays if m.holidays is not None else state.team_holidays.get(m.workspace))
        written = {(m.workspace, m.id) for m in members}
        for link, member_id in list(state.accounts.items()):
            if (link[0], member_id) in written:
                del state.accounts[link]
        for m in members:  # an account another person held moves to the one written last
            for platform, account_id in m.accounts.items():
                state.accounts[(m.workspace, platform, account_id)] = m.id

    def set_member_status(self, workspace: str, member_id: str, absences: tuple[StatusAway, ...]) -> None:
        held = self._state.members.get((workspace, member_id))
        if held is not None:
            self._state.members[(workspace, member_id)] = replace(held, status_away=tuple(absences))

    def delete_member(self, workspace: str, member_id: str) -> None:
        state = self._state
        for link, linked in list(state.accounts.items()):
            if link[0] == workspace and linked == member_id:
                del state.accounts[link]
        state.members.pop((workspace, member_id), None)
        prefix = f"member:{member_id}:"
        for ws, key in list(state.kv):
            if ws == workspace and key.startswith(prefix):
                del state.kv[(ws, key)]

    def merge_member(self, workspace: str, old_id: str, new_id: str) -> None:
        if old_id == new_id:
            return
        state = self._state
        for run_key in [k for k in state.runs if k[0] == workspace and k[2] == old_id]:
            run = state.runs.pop(run_key)
            state.runs.setdefault((workspace, run_key[1], new_id, run_key[3]), replace(run, member=new_id))
        old_prefix, new_prefix = f"member:{old_id}:", f"member:{new_id}:"
        for ws, key in list(state.kv):
            if ws == workspace and key.startswith(old_prefix):
                state.kv.setdefault((ws, new_prefix + key[len(old_prefix):]), state.kv[(ws, key)])
        old, new = state.members.get((workspace, old_id)), state.members.get((workspace, new_id))
        if old is not None and new is not None and old.status_away and not new.status_away:
            state.members[(workspace, new_id)] = replace(new, status_away=old.status_away)
        self.delete_member(workspace, old_id)

    @staticmethod
    def _copy_member(member: Member) -> Member:
        return replace(member, accounts=dict(member.accounts))

    # --- stand-ups ------------------------------------------------------------------
    def list_standups(self, workspace: str | None = None) -> list[Standup]:
        return [s for (ws, _name), s in sorted(self._state.standups.items())
                if workspace is None or ws == workspace]

    def get_standup(self, workspace: str, name: str) -> Standup | None:
        return self._state.standups.get((workspace, name))

    def upsert_standup(self, standup: Standup) -> None:
        minutes = int(standup.nudge_after.total_seconds() // 60)
        self._state.standups[(standup.workspace, standup.name)] = replace(
            standup, remind_at=_minute(standup.remind_at), days=frozenset(standup.days),
            members=tuple(standup.members) if standup.members is not None else None,
            questions=tuple(standup.questions), nudge_after=timedelta(minutes=minutes),
            cutoff=_minute(standup.cutoff) if standup.cutoff else None)

    def get_run(self, workspace: str, standup: str, member: str, day: date) -> StandupRun | None:
        found = self._state.runs.get((workspace, standup, member, day))
        return replace(found) if found else None

    def save_run(self, run: StandupRun) -> None:
        self._state.runs[(run.workspace, run.standup, run.member, run.day)] = replace(
            run, answers=tuple(run.answers), answered_at=_maybe_instant(run.answered_at),
            reminded_at=_maybe_instant(run.reminded_at))

    def mark_reminded(self, workspace: str, standup: str, member: str, day: date, at: datetime) -> None:
        run = self._state.runs.get((workspace, standup, member, day)) or StandupRun(workspace, standup, member, day)
        if run.status not in {"answered", "skipped"}:
            self.save_run(replace(run, status="reminded", reminded_at=at))

    def runs_for_day(self, workspace: str, standup: str, day: date, status: str | None = None) -> list[StandupRun]:
        return self.runs_between(workspace, standup, day, day, status=status)

    def runs_between(self, workspace: str, standup: str, first: date, last: date,
                     member: str | None = None, status: str | None = None) -> list[StandupRun]:
        found = [r for (ws, name, who, day), r in self._state.runs.items()
                 if ws == workspace and name == standup and first <= day <= last
                 and (member is None or who == member) and (status is None or r.status == status)]
        return [replace(r) for r in sorted(found, key=lambda r: (r.day, r.member))]

    def delete_runs_for_member(self, workspace: str, member: str) -> int:
        doomed = [k for k in self._state.runs if k[0] == workspace and k[2] == member]
        for k in doomed:
            del self._state.runs[k]
        return len(doomed)

    # --- scheduled work ---------------------------------------------------------------
    def schedule(self, items: list[DueItem]) -> int:
        state = self._state
        new = 0
        for item in items:
            if item.key in state.due_keys:
                continue
            record = DueRecord(state.next_id, item.key, item.kind, item.workspace, _instant(item.due_at),
                               _json(item.payload))
            state.due[record.id] = record
            state.due_keys[item.key] = record.id
            state.next_id += 1
            new += 1
        return new

    def beat(self, worker: str, at: datetime) -> None:
        at = _instant(at)
        self._state.beats[worker] = at
        for other, last in list(self._state.beats.items()):
            if last < at - timedelta(days=1):
                del self._state.beats[other]

    def _silent(self, worker: str | None, silent_since: datetime | None) -> bool:
        """Whether the worker's latest heartbeat is at or before ``silent_since`` (never, for one that never beat)."""
        if worker is None or silent_since is None:
            return False
        last = self._state.beats.get(worker)
        return last is not None and last <= _instant(silent_since)

    def claim_due(self, now: datetime, worker: str, limit: int, lease_seconds: float,
                  silent_since: datetime | None = None) -> list[ClaimedItem]:
        now = _instant(now)
        until = now + timedelta(seconds=lease_seconds)
        for record in self._state.due.values():  # a worker that died mid-job: its lease ran out, or it went silent
            expired = record.claimed_until is not None and record.claimed_until < now
            if record.status == "claimed" and (expired or self._silent(record.claimed_by, silent_since)):
                record.status = "pending"
        due = sorted((r for r in self._state.due.values() if r.status == "pending" and r.due_at <= now),
                     key=lambda r: (r.due_at, r.id))[:max(limit, 0)]
        claimed = []
        for record in due:
            record.status, record.claimed_by, record.claimed_until = "claimed", worker, until
            record.attempts += 1
            claimed.append(ClaimedItem(record.id, record.key, record.kind, record.workspace, record.due_at,
                                       _json(record.payload), record.attempts))
        return claimed

    def release_claims(self, worker: str, keep: Collection[int] = ()) -> int:
        released = [r for r in self._state.due.values()
                    if r.status == "claimed" and r.claimed_by == worker and r.id not in keep]
        for record in released:
            record.status, record.claimed_until = "pending", None
        return len(released)

    def finish(self, item_id: int, status: str, note: str = "") -> None:
        record = self._state.due.get(item_id)
        if record is not None:
            record.status, record.note, record.claimed_until = status, note[:NOTE_LIMIT], None

    def retry_later(self, item_id: int, at: datetime, note: str) -> None:
        record = self._state.due.get(item_id)
        if record is not None:
            record.status, record.due_at, record.note = "pending", _instant(at), note[:NOTE_LIMIT]
            record.claimed_until = None

    def cancel_pending(self, workspace: str, key_prefix: str) -> int:
        """Drop pending work (its keys become free again) so that a re-plan puts it at its new time."""
        doomed = [r for r in self._state.due.values()
                  if r.workspace == workspace and r.status == "pending" and r.key.startswith(key_prefix)]
        self._drop_due(doomed)
        return len(doomed)

    def _drop_due(self, records: list[DueRecord]) -> None:
        for r in records:
            del self._state.due[r.id]
            del self._state.due_keys[r.key]

    def next_due_at(self) -> datetime | None:
        return min((r.due_at for r in self._state.due.values() if r.status == "pending"), default=None)

    def due_status(self, key: str) -> str | None:
        item_id = self._state.due_keys.get(key)
        return self._state.due[item_id].status if item_id is not None else None

    def due_items(self, key_prefix: str = "") -> list[DueRecord]:
        """Every scheduled item whose key starts with the prefix (as ``SqlStore.due_items``)."""
        return [replace(r, payload=_json(r.payload))
                for r in sorted(self._state.due.values(), key=lambda r: (r.due_at, r.id))
                if r.key.startswith(key_prefix)]

    # --- outbox -----------------------------------------------------------------------
    def outbox_add(self, entry: OutboxEntry, now: datetime) -> OutboxEntry:
        stored = self._state.outbox.get(entry.key)
        if stored is not None:
            return stored.entry
        new = OutboxEntry(entry.key, entry.workspace, entry.kind, entry.target, entry.payload, "pending", 0,
                          entry.thread_key, None, None, None, _instant(now), None)
        self._state.outbox[entry.key] = _OutboxRecord(new)
        return new

    def outbox_add_claimed(self, entry: OutboxEntry, now: datetime, worker: str) -> tuple[OutboxEntry, bool]:
        stored = self._state.outbox.get(entry.key)
        if stored is not None:
            return stored.entry, False
        before = self.outbox_add(entry, now)
        self._state.outbox[entry.key].entry = replace(before, status="sending", attempt_at=_instant(now),
                                                      attempt_by=worker)
        return before, True

    def outbox_get(self, key: str) -> OutboxEntry | None:
        stored = self._state.outbox.get(key)
        return stored.entry if stored else None

    def outbox_begin_attempt(self, key: str, now: datetime, stale_before: datetime, worker: str | None = None,
                             silent_since: datetime | None = None) -> OutboxEntry | None:
        stored = self._state.outbox.get(key)
        if stored is None:
            return None
        before = stored.entry
        stale = before.status == "sending" and (before.attempt_at is None
                                                or before.attempt_at <= _instant(stale_before)
                                                or self._silent(before.attempt_by, silent_since))
        if before.status not in CLAIMABLE_OUTBOX and not stale:
            return None
        stored.entry = replace(before, status="sending", attempt_at=_instant(now), attempt_by=worker)
        return before

    def outbox_renew_attempt(self, key: str, held_since: datetime, now: datetime) -> bool:
        stored = self._state.outbox.get(key)
        if stored is None or stored.entry.status != "sending" or stored.entry.attempt_at != _instant(held_since):
            return False
        stored.entry = replace(stored.entry, attempt_at=_instant(now))
        return True

    def outbox_mark_sent(self, key: str, channel: str, message_id: str, at: datetime) -> None:
        stored = self._state.outbox.get(key)
        if stored is not None:
            stored.entry = replace(stored.entry, status="sent", channel=channel, message_id=message_id,
                                   next_attempt_at=None)
            stored.sent_at, stored.last_error = _instant(at), ""

    def outbox_mark_failed(self, key: str, error: str, retry_at: datetime | None) -> None:
        stored = self._state.outbox.get(key)
        if stored is None or stored.entry.status == "sent":
            return
        stored.entry = replace(stored.entry, status="failed" if retry_at else "dead",
                               attempts=stored.entry.attempts + 1, next_attempt_at=_maybe_instant(retry_at))
        stored.last_error = error[:NOTE_LIMIT]

    def outbox_retryable(self, now: datetime, limit: int, stale_after: timedelta = timedelta(minutes=5),
                         silent_since: datetime | None = None) -> list[OutboxEntry]:
        """Failed entries whose backoff is over, and entries a crash left ``pending`` or ``sending``."""
        now = _instant(now)
        stale = now - stale_after

        def due(e: OutboxEntry) -> bool:
            if e.status == "failed":
                return e.next_attempt_at is not None and e.next_attempt_at <= now
            if e.status == "pending":
                return e.created_at is not None and e.created_at <= stale
            if e.status != "sending":
                return False
            return (e.attempt_at is not None and e.attempt_at <= stale) or self._silent(e.attempt_by, silent_since)

        found = [r.entry for r in self._state.outbox.values() if due(r.entry)]
        return sorted(found, key=lambda e: e.created_at or now)[:max(limit, 0)]

    def outbox_release(self, worker: str, now: datetime, keep: Collection[str] = ()) -> int:
        released = [r for r in self._state.outbox.values()
                    if r.entry.status == "sending" and r.entry.attempt_by == worker and r.entry.key not in keep]
        for record in released:
            record.entry = replace(record.entry, status="failed", next_attempt_at=_instant(now))
            record.last_error = "the attempt was cut short"
        return len(released)

    def outage(self, err: BaseException) -> bool:
        """Nothing in memory goes away."""
        return False

    def outbox_entries(self, workspace: str | None = None) -> list[OutboxEntry]:
        entries = [r.entry for r in self._state.outbox.values() if not workspace or r.entry.workspace == workspace]
        return sorted(entries, key=lambda e: e.created_at or datetime.min.replace(tzinfo=UTC))

    # --- retention ------------------------------------------------------------------------
    def purge(self, answers_before: date, bookkeeping_before: datetime) -> dict[str, int]:
        """Delete stand-up answers older than the retention period, and old finished bookkeeping."""
        state = self._state
        before = _instant(bookkeeping_before)
        runs = [k for k in state.runs if k[3] < answers_before]
        for k in runs:
            del state.runs[k]
        due = [r for r in state.due.values() if r.status in FINISHED_WORK and r.due_at < before]
        self._drop_due(due)
        sent = [key for key, r in state.outbox.items() if r.entry.status in FINISHED_DELIVERY
                and r.entry.created_at is not None and r.entry.created_at < before]
        for key in sent:
            del state.outbox[key]
        return {"answers": len(runs), "due_work": len(due), "outbox": len(sent)}

    # --- small state ------------------------------------------------------------------
    def kv_get(self, workspace: str, key: str) -> Any:
        return _json(self._state.kv.get((workspace, key)))

    def kv_set(self, workspace: str, key: str, value: Any) -> None:
        self._state.kv[(workspace, key)] = _json(value)

    def kv_get_many(self, workspace: str, keys: Sequence[str]) -> dict[str, Any]:
        return {k: _json(self._state.kv[(workspace, k)]) for k in keys if (workspace, k) in self._state.kv}

    def kv_set_many(self, workspace: str, values: Mapping[str, Any]) -> None:
        for key, value in values.items():
            self.kv_set(workspace, key, value)

    def kv_delete(self, workspace: str, key: str) -> None:
        self._state.kv.pop((workspace, key), None)


def _satisfies_the_port() -> Store:
    """mypy checks this line: the memory store must keep satisfying ``bot.kernel.ports.Store``."""
    return MemoryStore()


__all__ = ["DueRecord", "MemoryStore"]
