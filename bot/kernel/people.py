"""``/meridian``: a person's own settings (zone, hours, out-of-office) and privacy (``forget-me``).

A change to someone's clock moves their future reminders: pending work for them is
dropped and the window is planned again at the new local times.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING

from bot.kernel.calendars import holidays_ahead
from bot.kernel.commands import CommandError, CommandFamily, Invocation, Refusal, Reply, Subcommand
from bot.kernel.dates import drop_ooo, join_ooo, read_ooo
from bot.kernel.domain import DateRange, Hours, Member, in_week_order, short_day
from bot.kernel.messages import Message, Section, Strong, plural, rich
from bot.kernel.timekeeping import (
    TimeInputError,
    local_date,
    parse_hours,
    resolve_zone,
    validate_zone,
    zone_label,
)

if TYPE_CHECKING:
    from bot.kernel.app import Meridian


def save_and_replan(app: Meridian, member: Member) -> None:
    """Store a person whose clock changed and drop their pending reminders, so the next plan puts them at
    the new local times (every way a zone changes — a command, a platform profile — goes through here)."""
    app.store.upsert_member(member)
    for s in app.store.list_standups(member.workspace):
        app.store.cancel_pending(member.workspace, f"standup:{member.workspace}:{s.name}:reminder:{member.id}:")
        app.store.cancel_pending(member.workspace, f"standup:{member.workspace}:{s.name}:nudge:{member.id}:")
    app.engine.replan()


def _one_arg(args: list[str], what: str) -> str:
    if len(args) != 1:
        raise CommandError(f"Give exactly one {what}.")
    return args[0]


async def cmd_tz(app: Meridian, inv: Invocation, args: list[str]) -> Reply:
    try:
        zone = resolve_zone(" ".join(args) if args else _one_arg(args, "time zone, like Europe/Berlin"))
    except TimeInputError as err:
        raise CommandError(str(err)) from None
    save_and_replan(app, replace(inv.member, tz=zone))
    app.store.kv_set(inv.workspace, f"member:{inv.member.id}:tz_source", "manual")
    return Reply(Message.text(f"Your time zone is now {zone}. Reminders follow your new clock."))


async def cmd_hours(app: Meridian, inv: Invocation, args: list[str]) -> Reply:
    try:
        start, end = parse_hours(_one_arg(args, "range of hours, like 08:00-16:00"))
    except TimeInputError as err:
        raise CommandError(str(err)) from None
    save_and_replan(app, replace(inv.member, hours=Hours(start, end)))
    return Reply(Message.text(f"Your working hours are now {start:%H:%M}-{end:%H:%M} ({inv.member.tz})."))


OOO_USAGE = ("Give the days, like `next week`, `until friday`, `tomorrow` or 2027-04-01..04-05; "
             "`/meridian ooo remove DAYS` takes days back, `/meridian ooo clear` all of them.")


def span_text(r: DateRange) -> str:
    """``2027-04-01..2027-04-05 (Thu 1 Apr to Mon 5 Apr)``: the form to type back, and the days as people say them."""
    if r.first == r.last:
        return f"{r.first.isoformat()} ({short_day(r.first)})"
    return f"{r} ({short_day(r.first)} to {short_day(r.last, r.first)})"


def _ranges_text(ranges: tuple[DateRange, ...]) -> str:
    return "; ".join(span_text(r) for r in ranges) or "none"


async def cmd_ooo(app: Meridian, inv: Invocation, args: list[str]) -> Reply:
    """Add, take back or clear out-of-office days; overlapping ranges are joined, and the reply says so."""
    m = _stored(app, inv)
    today = local_date(app.now(), m.tz)
    words = [a.lower() for a in args]
    if not args:
        return Reply(Message.text(f"You are out of office: {_ranges_text(upcoming_ooo(m, today))}. {OOO_USAGE}"))
    if words == ["clear"]:
        save_and_replan(app, replace(m, ooo=()))
        return Reply(Message.text("Your out-of-office dates are cleared."))
    try:
        if words[0] in ("remove", "clear", "delete", "cancel", "back"):
            if len(args) == 1:
                raise CommandError(f"Say which days to take back, like `/meridian ooo {words[0]} friday`.")
            gone = read_ooo(" ".join(args[1:]), today)
            left = drop_ooo(m.ooo, gone)
            if left == m.ooo:
                raise Refusal(f"You are not out of office on any day of {span_text(gone)}; your days: "
                                   f"{_ranges_text(m.ooo)}.")
            save_and_replan(app, replace(m, ooo=left))
            return Reply(Message.text(f"Taken back: {span_text(gone)}. Out of office now: {_ranges_text(left)}."))
        span = read_ooo(" ".join(args), today)
    except TimeInputError as err:
        raise CommandError(str(err)) from None
    ranges, joined = join_ooo(m.ooo, span)
    if joined and all(span.first >= r.first and span.last <= r.last for r in joined):
        return Reply(Message.text(f"You are already out of office on {span_text(span)}: nothing changed."))
    save_and_replan(app, replace(m, ooo=ranges))
    text = f"Out of office {span_text(span)}: no reminders on those days."
    if joined:
        whole = next(r for r in ranges if span.first in r)
        text += (f" It overlaps or touches {_ranges_text(tuple(joined))} you had, so they are joined: "
                 f"out of office {span_text(whole)}.")
    return Reply(Message.text(text))


def upcoming_ooo(member: Member, today: date) -> tuple[DateRange, ...]:
    return tuple(r for r in member.ooo if r.last >= today)


def _stored(app: Meridian, inv: Invocation) -> Member:
    """The person as stored: a member a chat platform has just created is written with the team's holiday
    calendar, which the object it handed in does not carry yet."""
    return app.store.get_member(inv.workspace, inv.member.id) or inv.member


async def cmd_me(app: Meridian, inv: Invocation, args: list[str]) -> Reply:
    m = _stored(app, inv)
    now = m.local(app.now())
    today = now.date()
    calendar = m.holidays.describe() if m.holidays is not None else "none"
    ahead = holidays_ahead(m.holidays, today)
    upcoming = " · ".join(f"{short_day(d, today)} ({name})" for d, name in ahead) or "none in the coming year"
    away_today = m.away_reason(today)
    return Reply(Message((Section(rich(Strong(m.name), f" — {m.tz}, now {now:%a %H:%M} {zone_label(now, m.tz)}")),
                          Section(rich(f"Hours {m.hours}; workdays {', '.join(in_week_order(m.workdays))}; "
                                       f"quiet {m.quiet} (DMs Meridian starts wait for your hours); "
                                       f"out of office: {_ranges_text(upcoming_ooo(m, today))}")),
                          Section(rich(f"Public holidays: {calendar}; next: {upcoming}")),
                          *([Section(rich(f"Today you are away ({away_today}): no stand-up reminders."))]
                            if away_today else [])),
                   fallback=f"{m.name}: {m.tz}"))


FORGET_WARNING = ("This removes you from this team everywhere: your stand-up answers, your settings, your RACI "
                  "roles (the Accountable or an admin is asked to reassign them) and your retro votes; your retro "
                  "items stay, without your name. Type `/meridian forget-me confirm` to go ahead.")


async def cmd_forget(app: Meridian, inv: Invocation, args: list[str]) -> Reply:
    if [a.lower() for a in args] != ["confirm"]:
        if args:
            raise CommandError(f"`{' '.join(args)}` is not `confirm`.")
        return Reply(Message.text(FORGET_WARNING))
    workspace, member_id = inv.workspace, inv.member.id
    for platform, account in inv.member.accounts.items():
        if platform in app.chats:  # chat accounts only: an email or a tracker login is not kept
            app.store.kv_set(workspace, _forgotten_key(platform, account), True)
    removed = await app.forget(workspace, member_id)  # capabilities first: they may read the answers
    removed = {"stand-up answers": app.store.delete_runs_for_member(workspace, member_id), **removed}
    app.store.delete_member(workspace, member_id)
    for s in app.store.list_standups(workspace):
        for kind in ("reminder", "nudge"):
            app.store.cancel_pending(workspace, f"standup:{workspace}:{s.name}:{kind}:{member_id}:")
    return Reply(Message.text(forgotten_text(removed)))


def _forgotten_key(platform: str, account: str) -> str:
    return f"forgotten:{platform}:{account}"


def was_forgotten(app: Meridian, workspace: str, platform: str, account: str) -> bool:
    """Whether a platform account belonged to someone who used ``forget-me``: a chat adapter then does not
    silently make them a member again on their next message (only the team file brings them back). The
    account id is the one thing kept, so that the request is honoured."""
    return bool(app.store.kv_get(workspace, _forgotten_key(platform, account)))


def former_member(workspace: str, account: str) -> Member:
    """Someone a platform knows and this team no longer does: never stored, so every command tells them so."""
    return Member(workspace, account, account)


KIND_NOUNS = {"stand-up answers": ("stand-up answer", "stand-up answers"),
              "retro items made anonymous": ("retro item made anonymous", "retro items made anonymous"),
              "stand-up posts taken down": ("stand-up post taken down", "stand-up posts taken down")}


def forgotten_text(removed: dict[str, int]) -> str:
    """``Done: you are no longer a member here. Removed: 3 stand-up answers, 2 RACI roles, …``."""
    parts = []
    for kind, count in removed.items():
        if count:
            one, many = KIND_NOUNS.get(kind, (kind[:-1] if kind.endswith("s") else kind, kind))
            parts.append(plural(count, one, many))
    parts.append("your settings (zone, hours, out-of-office)")
    listed = ", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0]
    return f"Done: you are no longer a member of this team. Removed {listed}. Meridian keeps nothing else about you."


def family() -> CommandFamily[Meridian]:
    return CommandFamily(
        name="meridian",
        summary="your own settings and privacy",
        subcommands=[
            Subcommand("tz", "tz ZONE", "set your time zone (IANA name or city, e.g. Asia/Kolkata)", cmd_tz),
            Subcommand("hours", "hours HH:MM-HH:MM", "set your working hours", cmd_hours),
            Subcommand("ooo", "ooo DAYS | remove DAYS | clear", "out-of-office days (`next week`, `until friday`, "
                       "2027-04-01..04-05)", cmd_ooo),
            Subcommand("me", "me", "show your settings", cmd_me),
            Subcommand("forget-me", "forget-me [confirm]", "leave the team: delete everything kept about you",
                       cmd_forget),
        ],
    )


class People:
    """``/meridian``: everyone's own clock and privacy."""

    name = "people"

    def install(self, app: Meridian) -> None:
        app.add_family(family())


def learn_zone(app: Meridian, member: Member, zone: str, platform: str) -> Member:
    """A zone a chat client reported for this person (Teams' clientInfo, a Slack profile).

    The person's zone follows the platform only while it is the zone that platform last
    reported: a zone from the team file or from ``/meridian tz`` is the person's choice
    and stays. A member a platform creates starts out following it (call this once with
    the zone it was created with). A change moves their pending reminders.
    """
    try:
        zone = validate_zone(zone)
    except TimeInputError:
        return member
    key = f"member:{member.id}:tz_reported:{platform}"
    last = app.store.kv_get(member.workspace, key)
    if last == zone:
        return member
    app.store.kv_set(member.workspace, key, zone)
    if last is None or member.tz != last or member.tz == zone:
        return member
    updated = replace(member, tz=zone)
    save_and_replan(app, updated)
    return updated
