"""What ``/raci`` shows: an activity with each holder's local time, lists of lines, and the home-page roles.

Built as neutral messages; each chat adapter renders them for its platform.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from bot.kernel.app import Meridian
from bot.kernel.domain import Member
from bot.kernel.members import normalise
from bot.kernel.messages import (
    Block,
    Code,
    Context,
    Header,
    Inline,
    Message,
    Section,
    Strong,
    plain,
    plural,
    rich,
)
from bot.kernel.routing import Routing, route
from bot.raci.model import ROLE_ORDER, Activity, Role
from bot.raci.service import Handover, RaciService

HOME_LIMIT = 12


def activity_routing(app: Meridian, activity: Activity) -> Routing:
    """Who of the activity's holders can answer now, and who stands in for those away.

    The Informed are only told, so no one stands in for them."""
    lookup = partial(app.store.get_member, activity.workspace)
    now = app.now()
    asked = [(m, r.value) for r in ROLE_ORDER if r is not Role.I
             for m in (lookup(i) for i in activity.holders(r)) if m is not None]
    told = [(m, Role.I.value) for m in (lookup(i) for i in activity.holders(Role.I)) if m is not None]
    return Routing(route(asked, now, lookup).people + route(told, now, lambda _: None).people)


def person_line(app: Meridian, workspace: str, member_id: str, routing: Routing | None = None) -> tuple[Inline, ...]:
    """A holder with where their day is now, so the reader knows whether to expect an answer.

    A ping only for someone in their working hours and not away; whoever stands in for them
    while they are away follows on the next line."""
    member = app.store.get_member(workspace, member_id)
    if member is None:
        return (Code(member_id), " — no longer a member")
    routing = routing or route([(member, "")], app.now(), partial(app.store.get_member, workspace))
    routed = routing.of(member_id)
    assert routed is not None
    line: tuple[Inline, ...] = (routed.name(), " — ", routed.presence.label())
    for stand_in in routing.people:
        for away, was in stand_in.standing_in_for:
            if away.id == member_id:
                line += ("\n↳ ", stand_in.name(), f" standing in for {away.name}, {was.away_briefly()} — ",
                         stand_in.presence.label())
    return line


def render_activity(app: Meridian, activity: Activity, note: str = "") -> Message:
    routing = activity_routing(app, activity)
    blocks: list[Header | Section | Context] = [Header(activity.name)]
    about = [p for p in (activity.description, f"aka {', '.join(activity.aliases)}" if activity.aliases else "",
                         f"channel {activity.channel}" if activity.channel else "") if p]
    if about:
        blocks.append(Context(rich(" · ".join(about))))
    for role in ROLE_ORDER:
        parts: list[Inline] = [Strong(f"{role.value} · {role.word}")]
        holders = activity.holders(role)
        for member_id in holders:
            parts.extend(("\n", *person_line(app, activity.workspace, member_id, routing)))
        if not holders:
            parts.append("\n—")
        blocks.append(Section(tuple(parts)))
    if note:
        blocks.append(Context(rich(note)))
    fallback = "\n".join([activity.name, *(plain(b.text) for b in blocks[1:] if isinstance(b, Section | Context))])
    return Message(tuple(blocks), fallback=fallback)


def lines_message(title: str, lines: Sequence[tuple[Inline, ...]], footer: str = "") -> Message:
    """A titled list, twenty lines to a section (platforms cap a section's length)."""
    blocks: list[Header | Section | Context] = [Header(title)]
    for start in range(0, len(lines), 20):
        chunk: list[Inline] = []
        for i, line in enumerate(lines[start:start + 20]):
            chunk.extend((("\n",) if i else ()) + line)
        blocks.append(Section(tuple(chunk)))
    if footer:
        blocks.append(Context(rich(footer)))
    fallback = "\n".join([title, *(plain(line) for line in lines), *([footer] if footer else [])])
    return Message(tuple(blocks), fallback=fallback)


def home_roles(service: RaciService, member: Member) -> list[Block]:
    """The member's RACI roles for their home page (``bot.kernel.home``)."""
    activities = sorted(service.store.activities_of(member.workspace, member.id), key=lambda a: normalise(a.name))
    title = Section(rich(Strong("Your RACI roles")))
    if not activities:
        return [title, Context(rich("You hold no RACI role. /raci list shows the whole chart."))]
    lines: list[Inline] = []
    for i, activity in enumerate(activities[:HOME_LIMIT]):
        roles = ", ".join(role.word for role in activity.roles_of(member.id))
        lines.extend((("\n",) if i else ()) + (Strong(activity.name), f" — {roles}"))
    blocks: list[Block] = [title, Section(tuple(lines))]
    more = len(activities) - HOME_LIMIT
    if more > 0:
        blocks.append(Context(rich(f"… and {more} more; /raci @{member.id} lists them all.")))
    return blocks


def handover_message(handovers: Sequence[Handover]) -> Message:
    """The DM to whoever must find someone for a forgotten person's roles: which activity, which letters."""
    title = f"🧹 {plural(len(handovers), 'activity', 'activities')} {'needs' if len(handovers) == 1 else 'need'} " \
            "reassigning"
    lines: list[tuple[Inline, ...]] = []
    for h in handovers:
        held = " and ".join(role.word for role in h.held)
        line: tuple[Inline, ...] = (Strong(h.activity), f" — {held} (a member left the team)")
        if h.took:
            line += (f"; you hold {' and '.join(role.word for role in h.took)} for now",)
        lines.append(line)
    footer = "Choose someone with /raci set ACTIVITY R @someone (or A, C, I)."
    return lines_message(title, lines, footer)
