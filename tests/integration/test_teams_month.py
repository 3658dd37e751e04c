"""A month of the demo team on Teams: stand-ups, RACI and a retro, through ``meridian serve``'s Teams entry point.

Six people in six zones with their public holidays live March 2027 (the US changes to daylight time on the
14th, Europe on the 28th; Eid, Holi, Good Friday and Easter Monday fall in it). Everything goes over HTTP
with the Bot Framework's token (authentication on), every press of a card is what Teams sends for an
``Action.Submit`` (a ``message`` with a ``value``), and what Meridian says is read off the local Bot
Connector, which refuses any card that is not valid Adaptive Card 1.5 and any activity over 28 KB.

Slack has no month test of its own: the month lives in the console (``tests/scenarios/test_team_month.py``),
and this test asserts its invariants on Teams — every reminder at 09:30 the person's time on each of their
working days and nowhere else, each thread post once, a summary per day, no DM Meridian starts in anyone's
night — plus what is Teams' own (card validity, size, Teams mentions, reactions as votes).
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import holidays

from adapters.teams.pacing import TeamsPacer
from tests.emulators.teams import ACTIVITY_LIMIT, CARD_TYPE, Call, TeamsClient, TeamsUser, card_errors
from tests.integration.teams_world import TeamsWorld

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
ML_TEAM = "19:ml-team@thread.tacv2"
TEAM = f"""
workspace: {TENANT}
members:
  - {{id: alice, name: Alice, tz: America/Los_Angeles, admin: true, holidays: US-CA, accounts: {{teams: "29:alice"}}}}
  - {{id: tomas, name: Tomás, tz: America/Sao_Paulo, holidays: BR-SP, accounts: {{teams: "29:tomas"}}}}
  - {{id: marta, name: Marta, tz: Europe/Berlin, hours: "08:00-16:00", holidays: DE-BE,
     accounts: {{teams: "29:marta"}}}}
  - {{id: noor, name: Noor, tz: Asia/Dubai, holidays: AE, ooo: ["2027-03-17..2027-03-19"],
     accounts: {{teams: "29:noor"}}}}
  - {{id: ravi, name: Ravi, tz: Asia/Kolkata, hours: "10:00-18:00", holidays: IN-KA, accounts: {{teams: "29:ravi"}}}}
  - {{id: kenji, name: Kenji, tz: Australia/Sydney, holidays: AU-NSW, accounts: {{teams: "29:kenji"}}}}
standups:
  - {{name: ml-daily, channel: "#ml-team", remind_at: "09:30", days: [mon, tue, wed, thu, fri], members: all,
     tz: Europe/London}}
raci:
  - {{activity: churn model retraining, aliases: [churn retrain], R: [ravi], A: alice, C: [noor, marta], I: [tomas]}}
  - {{activity: feature store, R: [marta], A: alice}}
retros:
  - {{name: sprint-retro, channel: "#ml-team", every: 2w, duration: 60m, starts: "2027-03-15", members: all}}
"""
PEOPLE = {  # member id → (Teams id, name, zone, holiday calendar)
    "alice": ("29:alice", "Alice", "America/Los_Angeles", ("US", "CA")),
    "tomas": ("29:tomas", "Tomás", "America/Sao_Paulo", ("BR", "SP")),
    "marta": ("29:marta", "Marta", "Europe/Berlin", ("DE", "BE")),
    "noor": ("29:noor", "Noor", "Asia/Dubai", ("AE", None)),
    "ravi": ("29:ravi", "Ravi", "Asia/Kolkata", ("IN", "KA")),
    "kenji": ("29:kenji", "Kenji", "Australia/Sydney", ("AU", "NSW")),
}
NOOR_OOO = {date(2027, 3, 17), date(2027, 3, 18), date(2027, 3, 19)}
FIRST, LAST = date(2027, 3, 1), date(2027, 3, 31)
START = datetime(2027, 2, 28, 12, 0, tzinfo=UTC)
NIGHT_ENDS, NIGHT_STARTS = 6, 22
"""The default quiet window, 22:00-06:00 each person's time."""

BY_BUTTON = {"ravi", "kenji", "alice"}
"""Who answers by pressing the reminder's Answer and the form's Submit; the others type their answers."""


def dm_of(member: str) -> str:
    return f"a:personal-{PEOPLE[member][0]}"


def workdays(member: str) -> list[date]:
    """The weekdays of March 2027 that are not the member's public holiday nor a day out of office."""
    country, region = PEOPLE[member][3]
    off = holidays.country_holidays(country, subdiv=region, years=2027)
    days = [FIRST + timedelta(n) for n in range((LAST - FIRST).days + 1)]
    return [d for d in days if d.weekday() < 5 and d not in off and not (member == "noor" and d in NOOR_OOO)]


def nine_thirty(member: str, day: date) -> datetime:
    return datetime.combine(day, time(9, 30), ZoneInfo(PEOPLE[member][2])).astimezone(UTC)


def local(member: str, instant: datetime) -> datetime:
    return instant.astimezone(ZoneInfo(PEOPLE[member][2]))


def reminders(w: TeamsWorld, member: str) -> list[Call]:
    conversation = dm_of(member) if member != "alice" else None
    return [c for c in w.connector.delivered() if c.kind in {"send", "reply"} and "Stand-up: ml-daily" in c.card_text
            and (c.conversation == conversation or (conversation is None and c.conversation == alice_chat(w)))]


def alice_chat(w: TeamsWorld) -> str | None:
    """The 1:1 chat Meridian created with Alice (she never wrote to it first)."""
    created = [c for c in w.connector.delivered("create") if c.body["members"] == [{"id": "29:alice"}]]
    return created[0].answered_id if created else None


def dm_conversation(w: TeamsWorld, member: str) -> str:
    if member == "alice":
        chat = alice_chat(w)
        assert chat is not None
        return chat
    return dm_of(member)


def headers(w: TeamsWorld) -> dict[date, Call]:
    """Each day's report thread in #ml-team, by the day its title names."""
    out: dict[date, Call] = {}
    for c in w.connector.delivered("send", ML_TEAM):
        first = c.card_text.split("\n", 1)[0]
        if first.startswith("📋 ml-daily — "):
            out[datetime.strptime(first.split(" — ", 1)[1][4:].strip(), "%d %b %Y").date()] = c
    return out


def thread(w: TeamsWorld, root: Call) -> list[Call]:
    return w.connector.delivered("reply", f"{ML_TEAM};messageid={root.answered_id}")


async def answer(w: TeamsWorld, t: TeamsClient, user: TeamsUser, member: str, day: date, blocked: bool) -> None:
    """The member answers the day's stand-up: by the card's buttons or by typing three lines in the 1:1 chat."""
    did, plan = f"{day:%a %d}: {member} shipped part {day.day}", f"{day:%a %d}: {member} plans part {day.day + 1}"
    blocker = f"Waiting on GPU quota for {member}" if blocked else "none"
    if member in BY_BUTTON:
        reminder = reminders(w, member)[-1]
        await w.send(t.press(user, reminder, "Answer"))
        form = w.connector.calls[-1]
        assert form.inputs == ["q0", "q1", "q2"], form.card_text
        await w.send(t.press(user, form, "Submit", q0=did, q1=plan, q2=blocker))
    else:
        for line in (did, plan, blocker):
            await w.send(t.personal(user, line))
    assert f"Thanks, {PEOPLE[member][1]}!" in w.connector.calls[-1].card_text, w.connector.calls[-1].card_text


def dump(w: TeamsWorld) -> None:
    for c in w.connector.calls:
        if c.kind in {"member", "members"}:
            continue
        print(c.at, c.kind, c.conversation, c.status, c.activity_id, c.answered_id, repr(c.card_text[:300]))


Users = dict[str, TeamsUser]


async def raci_lookup(w: TeamsWorld, t: TeamsClient, users: Users) -> None:
    """Wed 3 Mar, 08:00 UTC: Marta (09:00 in Berlin) asks in #ml-team; Ravi is at work, Alice asleep in LA."""
    asked = t.channel(users["marta"], ML_TEAM, "ml-team", "who owns churn retraining?")
    await w.send(asked)
    reply = w.connector.calls[-1]
    assert reply.kind == "reply" and reply.conversation == f"{ML_TEAM};messageid={asked['id']}"
    print("LOOKUP", reply.card_text, reply.card.get("msteams") if reply.card else None)


async def raci_edit(w: TeamsWorld, t: TeamsClient, users: Users) -> None:
    """Thu 4 Mar, 18:00 UTC (10:00 in Los Angeles): Alice edits the feature store's row from a card."""
    typed = t.personal(users["alice"], "raci edit feature store")
    typed["conversation"]["id"] = dm_conversation(w, "alice")  # in the chat Meridian opened with her
    await w.send(typed)
    opener = w.connector.calls[-1]
    print("OPENER", opener.kind, opener.conversation, opener.card_text)
    await w.send(t.press(users["alice"], opener, "Open the form"))
    form = w.connector.calls[-1]
    print("FORM", form.kind, form.conversation, form.card_text, form.input_values())
    await w.send(t.press(users["alice"], form, "Save", C="kenji, ravi", about="Features for every model"))
    print("SAVED", w.connector.calls[-1].card_text)


def retro_root(w: TeamsWorld, day: str) -> Call:
    (root,) = [c for c in w.connector.delivered("send", ML_TEAM)
               if c.card_text.startswith(f"🔁 sprint-retro — {day}")]
    return root


def in_retro(w: TeamsWorld, day: str, containing: str) -> list[Call]:
    """What Meridian posted in that retro's thread, containing these words."""
    return [c for c in thread(w, retro_root(w, day)) if containing in c.shown]


MARCH_15 = "Mon 15 Mar 2027"
MARCH_29 = "Mon 29 Mar 2027"
SENT: dict[str, str] = {}
"""The activity ids of what people posted in the retro's thread, by a short name."""


async def retro_items(w: TeamsWorld, t: TeamsClient, users: Users) -> None:
    """Sun 14 Mar, 12:00 UTC: items in the thread (Ravi 17:30 in Kolkata, Marta 13:00 in Berlin) and one by DM."""
    root = retro_root(w, MARCH_15)
    ravi = t.channel(users["ravi"], ML_TEAM, "ml-team", "improve: flaky CI on the training repo", thread=root.answered_id)
    marta = t.channel(users["marta"], ML_TEAM, "ml-team", "🟢 the new eval harness saved hours", thread=root.answered_id)
    for posted in (ravi, marta):
        await w.send(posted)
    SENT.update(ci=ravi["id"], harness=marta["id"])
    await w.send(t.personal(users["noor"], "anon: improve: reviews wait too long for the Berlin side"))
    assert "anonymous" in w.connector.calls[-1].shown.lower(), w.connector.calls[-1].shown


async def retro_votes(w: TeamsWorld, t: TeamsClient, users: Users) -> None:
    """Sun 14 Mar, 13:05 UTC: the anonymous item went in at 12:30, an hour mark of the 15:30 meeting; votes by reaction and by the item's button."""
    root = retro_root(w, MARCH_15)
    (anon,) = in_retro(w, MARCH_15, "reviews wait too long")
    assert anon.at == datetime(2027, 3, 14, 12, 30, tzinfo=UTC) and "Noor" not in anon.card_text
    thread_id = root.answered_id

    def react(who: str, message: str | None, kind: str = "like", added: bool = True) -> dict[str, Any]:
        return t.reaction(users[who], ML_TEAM, "ml-team", str(message), kind, added=added, thread=thread_id)

    await w.send(react("ravi", anon.answered_id))  # 👍 on the item Meridian posted
    await w.send(t.press(users["tomas"], anon, "👍 Vote"))  # the item's own button: an Action.Submit in the thread
    print("VOTED", w.connector.calls[-1].kind, w.connector.calls[-1].conversation, w.connector.calls[-1].shown)
    await w.send(react("marta", SENT["ci"]))  # 👍 on a person's reply
    await w.send(react("noor", SENT["ci"], "heart"))  # a heart is not a vote
    await w.send(react("tomas", SENT["harness"]))
    await w.send(react("tomas", SENT["harness"], added=False))  # taken back


async def retro_action(w: TeamsWorld, t: TeamsClient, users: Users) -> None:
    """Mon 15 Mar, 17:00 UTC (14:00 in São Paulo), after the meeting: Tomás adds an action item for Ravi."""
    root = retro_root(w, MARCH_15)
    await w.send(t.channel(users["tomas"], ML_TEAM, "ml-team", "action: <at>Ravi</at> fix the flaky CI test by 2027-03-24",
                           thread=root.answered_id, mentions=(users["ravi"],)))


async def retro_close(w: TeamsWorld, t: TeamsClient, users: Users) -> None:
    """Sun 28 Mar, 17:00 UTC (10:00 in Los Angeles, 14:00 in São Paulo): Tomás adds an item, then Alice closes the
    round before its meeting (Monday 12:30 UTC) with the confirmation card's button."""
    root = retro_root(w, MARCH_29)
    await w.send(t.channel(users["tomas"], ML_TEAM, "ml-team", "💡 pair on the drift job", thread=root.answered_id))
    await w.send(t.channel(users["alice"], ML_TEAM, "ml-team", "retro close"))
    asked = w.connector.calls[-1]
    print("ASKED", asked.kind, asked.conversation, asked.shown)
    await w.send(t.press(users["alice"], asked, "Close now"))
    print("CLOSED", w.connector.calls[-1].kind, w.connector.calls[-1].conversation, w.connector.calls[-1].shown)


STEPS: dict[date, tuple[tuple[time, Any], ...]] = {
    date(2027, 3, 3): ((time(8, 0), raci_lookup),),
    date(2027, 3, 4): ((time(18, 0), raci_edit),),
    date(2027, 3, 14): ((time(12, 0), retro_items), (time(13, 5), retro_votes)),
    date(2027, 3, 15): ((time(17, 0), retro_action),),
    date(2027, 3, 28): ((time(17, 0), retro_close),),
}


async def test_a_month_of_stand_ups_raci_and_a_retro_on_teams(sqlite_store: Any) -> None:
    async with TeamsWorld(sqlite_store, START) as w:
        w.load(TEAM)
        # Teams' rate limits are kept on the month's clock (plus the real seconds the test takes): four weeks of
        # posts in #ml-team are not a burst because the test runs them in a minute.
        loop = asyncio.get_running_loop()
        w.chat.pacer = TeamsPacer(clock=lambda: w.clock.now().timestamp() + loop.time())
        t = w.tenant(TENANT)
        users = {m: w.connector.add_user(tid, name, f"aad-{m}", tenant=TENANT)
                 for m, (tid, name, _zone, _cal) in PEOPLE.items()}
        await w.send(t.installed_in_team(users["alice"]))
        await w.send(t.channel(users["alice"], ML_TEAM, "ml-team", "standup help"))  # the channel's name is learnt
        for m, user in users.items():
            if m != "alice":  # Alice never writes to Meridian first: her 1:1 chat is created for her reminder
                await w.send(t.installed_personally(user, zone=PEOPLE[m][2]))

        answered: dict[date, set[str]] = {}
        blockers: dict[date, set[str]] = {}
        day = FIRST
        while day <= LAST:
            due: list[tuple[datetime, str, Any]] = [(datetime.combine(day, hour, UTC), "", step)
                                                    for hour, step in STEPS.get(day, ())]
            if day.weekday() < 5:
                due += [(nine_thirty(m, day) + timedelta(minutes=1), m, None) for m in PEOPLE if day in workdays(m)]
            for n, (instant, m, step) in enumerate(sorted(due, key=lambda d: d[0])):
                await w.advance_to(instant)
                if step is not None:
                    await step(w, t, users)
                    continue
                if (day.day + n) % 3 == 0:
                    continue  # not everyone answers every day
                blocked = m == "ravi" and day.day % 4 == 1
                await answer(w, t, users[m], m, day, blocked)
                answered.setdefault(day, set()).add(m)
                if blocked:
                    blockers.setdefault(day, set()).add(m)
            day += timedelta(days=1)
        await w.advance_to(datetime(2027, 4, 1, 12, 0, tzinfo=UTC))

        # --- stand-ups ---------------------------------------------------------------------------------------
        for m in PEOPLE:
            got = [c for c in reminders(w, m) if "Mar 2027" in c.card_text.split("\n", 1)[0]]
            expected = [nine_thirty(m, d) for d in workdays(m)]
            assert sorted(c.at for c in got if c.at is not None) == expected, m
            for c in got:
                assert c.at is not None and local(m, c.at).strftime("%H:%M") == "09:30"
        days = {d: c for d, c in headers(w).items() if d <= LAST}
        assert sorted(days) == [d for d in (FIRST + timedelta(n) for n in range(31)) if d.weekday() < 5]
        for d, root in days.items():
            posts = thread(w, root)
            answers = [p for p in posts if "shipped part" in p.card_text]
            assert len(answers) == len(answered.get(d, ())), (d, [p.card_text for p in answers])
            summary = [p for p in posts if "Answered (" in p.card_text]
            assert len(summary) == 1, d
            if d in blockers:
                assert f"Blockers ({len(blockers[d])})" in summary[0].card_text
                assert "Waiting on GPU quota for ravi" in summary[0].card_text


        for c in w.connector.calls:
            if "sprint-retro" in c.card_text or "flaky" in c.card_text:
                print("RETRO", c.at, c.kind, c.conversation, c.card_text[:600])
        assert False
