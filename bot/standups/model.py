"""What a stand-up day is: its keys, which day an answer counts for, who takes part, what a skip covers.

The stand-up "day" is each member's local date (DESIGN §7). For one day ``D`` of a
stand-up, a member is reminded at ``remind_at`` on their local ``D`` (when ``D`` is a
stand-up day, one of their workdays and not out of office), nudged once after
``nudge_after`` if still silent, and may answer — or edit — until their cut-off. The
summary of ``D`` goes out when the last participant's cut-off has passed, so a team from
Los Angeles to Sydney gets one report for the same date.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.kernel.commands import CommandError, Invocation, meant
from bot.kernel.domain import Member, Standup
from bot.kernel.ports import StandupRun
from bot.kernel.timekeeping import cutoff_at, is_standup_day, local_date, next_standup_day, reminder_at

if TYPE_CHECKING:
    from bot.kernel.app import Meridian

STATS_DAYS = 28


# --- keys: what, for whom, which occurrence (DESIGN §8) --------------------------------------
def standup_key(s: Standup, *parts: object) -> str:
    """The prefix every key of this stand-up's due work and messages shares (so a pause cancels them all)."""
    return ":".join(["standup", s.workspace, s.name, *(str(p) for p in parts)])


def thread_key(s: Standup, day: date) -> str:
    return standup_key(s, "thread", day)


def answer_key(s: Standup, member: str, day: date) -> str:
    return standup_key(s, "answer", member, day)


def conversation_key(member: str) -> str:
    return f"member:{member}:conversation"


def sessions_key(member: str) -> str:
    """How many answering sessions the member has had: numbers each one, so its DMs have keys of their own."""
    return f"member:{member}:sessions"


def skip_key(member: str, standup: str) -> str:
    return f"member:{member}:skip:{standup}"


def closed_key(s: Standup, day: date) -> str:
    return f"standup:{s.name}:closed:{day}"


def fmt_day(day: date) -> str:
    return f"{day:%a} {day.day} {day:%b %Y}"


# --- who, and which day ----------------------------------------------------------------------
def participants(app: Meridian, s: Standup) -> list[Member]:
    return [m for m in app.store.list_members(s.workspace) if s.includes(m)]


def summary_at(members: list[Member], s: Standup, day: date) -> datetime | None:
    """The last participant's cut-off for ``day``; ``None`` when nobody has a stand-up that day."""
    cutoffs = [cutoff_at(m, s, day) for m in members if is_standup_day(m, s, day)]
    return max(cutoffs) if cutoffs else None


def run_of(app: Meridian, s: Standup, member: str, day: date) -> StandupRun:
    """The member's run for the day, or a fresh one when nothing happened yet."""
    return app.store.get_run(s.workspace, s.name, member, day) or StandupRun(s.workspace, s.name, member, day)


SkipSpan = tuple[date | None, date]


def skip_spans(app: Meridian, s: Standup, member: str) -> list[SkipSpan]:
    """Every ``/standup skip until`` the member gave, each from the day it was given to the day named.

    A skip stored before starts were kept is a bare date, with no known start.
    """
    return spans_of(app.store.kv_get(s.workspace, skip_key(member, s.name)))


def spans_of(raw: Any) -> list[SkipSpan]:
    """The skips as stored under ``skip_key`` (read with other keys at once, in a reminder)."""
    if not raw:
        return []
    if isinstance(raw, str):
        return [(None, date.fromisoformat(raw))]
    return [(date.fromisoformat(x["from"]), date.fromisoformat(x["until"])) for x in raw.get("spans", [])]


def save_skip(app: Meridian, s: Standup, member: str, first: date, until: date) -> None:
    """A new skip from ``first``: it replaces what an earlier skip said about ``first`` on, and keeps the past."""
    kept: list[SkipSpan] = []
    for start, end in skip_spans(app, s, member):
        end = min(end, first - timedelta(days=1))  # the new skip speaks for ``first`` on
        if start is not None and start <= end and end >= first - timedelta(days=STATS_DAYS * 13):
            kept.append((start, end))
    kept.append((first, until))
    app.store.kv_set(s.workspace, skip_key(member, s.name),
                     {"spans": [{"from": a.isoformat(), "until": b.isoformat()} for a, b in kept if a is not None]})


def skipped_until(app: Meridian, s: Standup, member: str) -> date | None:
    """The last day the member's newest skip covers (reminders up to it are not sent)."""
    return last_skipped_day(skip_spans(app, s, member))


def last_skipped_day(spans: list[SkipSpan]) -> date | None:
    return spans[-1][1] if spans else None


def skips_day(app: Meridian, s: Standup, member: str, day: date) -> bool:
    """Whether a ``skip until`` the member gave covers ``day`` (never a day before it was given)."""
    return any((start is None or start <= day) and day <= end for start, end in skip_spans(app, s, member))


def thread_opened(app: Meridian, s: Standup, day: date) -> bool:
    """Whether the day's thread was started (its post is in the outbox, sent or on its way)."""
    return app.store.outbox_get(thread_key(s, day)) is not None


def is_closed(app: Meridian, s: Standup, day: date) -> bool:
    return bool(app.store.kv_get(s.workspace, closed_key(s, day)))


def answer_day(app: Meridian, s: Standup, m: Member, now: datetime) -> date | None:
    """Which day an answer given now counts for: today until the cut-off, then the next stand-up day."""
    today = local_date(now, m.tz)
    if is_standup_day(m, s, today) and now < cutoff_at(m, s, today) and not is_closed(app, s, today):
        return today
    return next_standup_day(m, s, today)


def is_late(s: Standup, m: Member, run: StandupRun) -> bool:
    """An answer given after the member's own cut-off for its day (shown as late wherever it appears)."""
    return run.status == "answered" and run.answered_at is not None and run.answered_at > cutoff_at(m, s, run.day)


def is_early(m: Member, day: date, now: datetime) -> bool:
    """An answer given before the member's own local date ``day`` began: it waits for that day's thread."""
    return local_date(now, m.tz) < day


def next_session(app: Meridian, s: Standup, m: Member, now: datetime, limit_days: int = 400) -> date | None:
    """The next day whose reminder (and so answering session) is still to come, skipping skipped days."""
    until = skipped_until(app, s, m.id)
    day = local_date(now, m.tz)
    for _ in range(limit_days):
        if (is_standup_day(m, s, day) and reminder_at(m, s, day) > now and not (until and day <= until)
                and run_of(app, s, m.id, day).status != "skipped"):
            return day
        day += timedelta(days=1)
    return None


def last_plan(app: Meridian, s: Standup, member: str, before: date) -> str | None:
    """What the member said they would do next, the last time they answered."""
    # One member's runs only: this runs for every reminder, so it must not read the whole team's month.
    runs = app.store.runs_between(s.workspace, s.name, before - timedelta(days=STATS_DAYS),
                                  before - timedelta(days=1), member=member)
    for run in reversed([r for r in runs if r.status == "answered"]):
        if len(run.answers) > 1 and run.answers[1].strip():
            return run.answers[1]
    return None


def find_standup(app: Meridian, inv: Invocation, name: str | None = None) -> Standup:
    """The stand-up a command means: the one named, else the person's in this channel, else theirs, else any."""
    found = meant(inv, app.store.list_standups(inv.workspace), name)
    if found is not None:
        return found
    if name:
        raise CommandError(f"There is no stand-up called `{name}`.")
    raise CommandError("There is no stand-up in this workspace yet; an admin can create one with /standup setup.")
