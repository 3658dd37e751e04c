"""A month of the demo team on Teams: stand-ups, RACI and retros, through ``meridian serve``'s Teams entry point.

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
import re
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import holidays

from adapters.teams.pacing import TeamsPacer
from tests.emulators.teams import (
    ACTIVITY_LIMIT,
    CARD_TYPE,
    CONSENT_TYPE,
    Call,
    TeamsClient,
    TeamsUser,
    card_errors,
)
from tests.integration.teams_world import ML_TEAM, NO_AUTHORIZATION, TENANT, TeamsWorld

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
START = datetime(2027, 2, 28, 17, 0, tzinfo=UTC)
"""Sunday 09:00 in Los Angeles: Alice adds Meridian to the team; the others install it in their own time."""
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


Users = dict[str, TeamsUser]


def watch_answers(w: TeamsWorld) -> set[int]:
    """The connector calls made while Meridian answered an activity someone sent: replies, not pings.

    Teams runs the whole turn inside the POST, so what reached the connector meanwhile is the answer."""
    answers: set[int] = set()
    post = w.post

    async def posting(activity: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
        before = len(w.connector.calls)
        response = await post(activity, headers)
        answers.update(id(c) for c in w.connector.calls[before:])
        return response

    w.post = posting  # type: ignore[method-assign]
    return answers


async def raci_lookup(w: TeamsWorld, t: TeamsClient, users: Users) -> None:
    """Wed 3 Mar, 08:00 UTC: Marta (09:00 in Berlin) asks in #ml-team; Ravi is at work, Alice asleep in LA."""
    asked = t.channel(users["marta"], ML_TEAM, "ml-team", "who owns churn retraining?")
    await w.send(asked)
    reply = w.connector.calls[-1]
    assert reply.kind == "reply" and reply.conversation == f"{ML_TEAM};messageid={asked['id']}"
    assert "churn model retraining" in reply.shown
    # Those at work are Teams mentions; Alice (midnight in Los Angeles) and Tomás (05:00) are named, not pinged.
    assert "<at>Ravi</at> — 🟢 in hours, 13:30 in Kolkata" in reply.card_text
    assert "Alice — 🌙 00:00 in Los Angeles" in reply.card_text and "Tomás — 🌙 05:00" in reply.card_text
    assert {e["mentioned"]["id"] for e in (reply.card or {})["msteams"]["entities"]} == {"29:ravi", "29:noor",
                                                                                          "29:marta"}


async def raci_edit(w: TeamsWorld, t: TeamsClient, users: Users) -> None:
    """Thu 4 Mar, 18:00 UTC (10:00 in Los Angeles): Alice edits the feature store's row from a card."""
    typed = t.personal(users["alice"], "raci edit feature store")
    typed["conversation"]["id"] = dm_conversation(w, "alice")  # in the chat Meridian opened with her
    await w.send(typed)
    opener = w.connector.calls[-1]
    assert opener.conversation == dm_conversation(w, "alice") and opener.inputs == []
    # A client without dialogs posts the button's press as a message with a value: the form comes into the chat.
    await w.send(t.press(users["alice"], opener, "Open the form"))
    form = w.connector.calls[-1]
    assert form.input_values() == {"R": "marta", "A": "alice", "C": "", "I": "", "aliases": "", "about": ""}
    await w.send(t.press(users["alice"], form, "Save", C="kenji, ravi", about="Features for every model"))
    saved = w.connector.calls[-1].shown
    assert saved.endswith("Saved.") and "Features for every model" in saved
    assert "C · Consulted\nKenji — 🌙 05:00 in Sydney\nRavi — 🌙 23:30 in Kolkata" in saved


async def raci_after_edit(w: TeamsWorld, t: TeamsClient, users: Users) -> None:
    """Fri 5 Mar, 08:30 UTC (09:30 in Berlin): Marta looks the edited row up; the chart has Alice's change."""
    await w.send(t.channel(users["marta"], ML_TEAM, "ml-team", "raci feature store"))
    shown = w.connector.calls[-1].shown
    assert "Features for every model" in shown and "<at>Ravi</at>" in w.connector.calls[-1].card_text  # 14:00 IST
    assert "Kenji — 🌙 19:30 in Sydney" in shown


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
    voted = w.connector.calls[-1]
    assert voted.conversation == dm_of("tomas") and "counts" in voted.shown  # said to him alone
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
    asked = w.connector.calls[-1]  # before the meeting, closing asks first, with a button
    assert asked.conversation == dm_conversation(w, "alice") and "Closing now ends items and votes" in asked.shown
    await w.send(t.press(users["alice"], asked, "Close now"))
    assert "Closed sprint-retro: the summary is in #ml-team." in w.connector.calls[-1].shown


STEPS: dict[date, tuple[tuple[time, Any], ...]] = {
    date(2027, 3, 3): ((time(8, 0), raci_lookup),),
    date(2027, 3, 4): ((time(18, 0), raci_edit),),
    date(2027, 3, 5): ((time(8, 30), raci_after_edit),),
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
        answers_to_people = watch_answers(w)
        t = w.tenant(TENANT)
        users = {m: w.connector.add_user(tid, name, f"aad-{m}", tenant=TENANT)
                 for m, (tid, name, _zone, _cal) in PEOPLE.items()}
        await w.send(t.installed_in_team(users["alice"]))
        await w.send(t.channel(users["alice"], ML_TEAM, "ml-team", "standup help"))  # the channel's name is learnt
        for m, user in users.items():
            if m != "alice":  # Alice never writes to Meridian first: her 1:1 chat is created for her reminder
                await w.send(t.installed_personally(user, zone=PEOPLE[m][2]))
        # Authentication is on: an activity without the Bot Framework's token is refused and does nothing.
        before = len(w.connector.calls)
        refused = await w.post(t.personal(users["ravi"], "standup"), headers=NO_AUTHORIZATION)
        assert refused.status == 401 and len(w.connector.calls) == before

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
        everyone = set().union(*answered.values())
        assert blockers and everyone & BY_BUTTON == BY_BUTTON and everyone - BY_BUTTON == set(PEOPLE) - BY_BUTTON

        # --- stand-ups ---------------------------------------------------------------------------------------
        for m in PEOPLE:
            got = [c for c in reminders(w, m) if "Mar 2027" in c.card_text.split("\n", 1)[0]]
            assert sorted(c.at for c in got if c.at is not None) == [nine_thirty(m, d) for d in workdays(m)], m
            for c in got:
                assert c.at is not None and local(m, c.at).strftime("%H:%M") == "09:30"
        days = {d: c for d, c in headers(w).items() if d <= LAST}
        # A blocker stays open until Ravi's next answer says nothing is in the way: on the days between, the
        # summary carries it over.
        carried, still_open = set(), False
        for d in sorted(days):
            if "ravi" in answered.get(d, set()):
                still_open = d in blockers
            elif still_open:
                carried.add(d)
        assert sorted(days) == [d for d in (FIRST + timedelta(n) for n in range(31)) if d.weekday() < 5]
        for d, root in days.items():
            expected = [m for m in PEOPLE if d in workdays(m)]
            assert root.at == min(nine_thirty(m, d) for m in expected), d  # the thread opens with the first reminder
            who = answered.get(d, set())
            posts = thread(w, root)
            answers = [p for p in posts if "shipped part" in p.card_text]
            assert len(answers) == len(who), (d, [p.card_text for p in answers])  # each answer posted once
            # the same blocker named again is the same item, a day older: "🚧 Blocker (day 2): …"
            flagged = [p for p in answers if re.search(r"🚧 Blocker( \(day \d+\))?: Waiting on GPU quota for ravi",
                                                       p.card_text)]
            assert len(flagged) == len(blockers.get(d, ())), d
            (summary,) = [p for p in posts if p.card_text.startswith("🧾 ml-daily summary")]
            if who:
                assert f"Answered ({len(who)})" in summary.shown, d
            if len(expected) < len(PEOPLE):
                assert f"Away ({len(PEOPLE) - len(expected)})" in summary.shown, d
            if d in blockers:
                assert f"Blockers ({len(blockers[d])})" in summary.shown and "Waiting on GPU quota" in summary.shown
            elif d in carried:
                if "ravi" in expected:
                    assert "Ravi (carried over, day " in summary.shown, (d, summary.shown)
            else:
                assert "No blockers reported." in summary.shown, d
            status = [u for u in w.connector.delivered("update", ML_TEAM) if u.activity_id == root.answered_id]
            assert status and f"{len(who)}/{len(expected)} answered" in status[-1].card_text, d
        good_friday = next(p for p in thread(w, days[date(2027, 3, 26)]) if "summary" in p.card_text).shown
        assert "Away (4): Kenji (holiday: Good Friday), Marta (holiday: Good Friday)" in good_friday
        assert reminders(w, "ravi")[0].card_text.endswith("\nAnswer\nSkip today\nSnooze 1 h")  # as on Slack
        # Each answer names its author by a Teams mention (what Teams shows as a name one can click).
        ravi_answers = [p for root in days.values() for p in thread(w, root) if "ravi shipped" in p.card_text]
        assert len(ravi_answers) == sum("ravi" in who for who in answered.values())
        for posted in ravi_answers:
            assert (posted.card or {})["msteams"]["entities"] == [
                {"type": "mention", "text": "<at>Ravi</at>", "mentioned": {"id": "29:ravi", "name": "Ravi"}}]

        # --- the month's retros --------------------------------------------------------------------------------
        first = [c for c in w.connector.delivered("send", ML_TEAM) if "sprint-retro summary — Mon 15 Mar" in c.shown]
        assert len(first) == 1 and first[0].at == datetime(2027, 3, 15, 16, 30, tzinfo=UTC)  # at the meeting's end
        retro_summary = first[0].shown
        assert "2 👍  reviews wait too long for the Berlin side" in retro_summary
        assert "1 👍  flaky CI on the training repo" in retro_summary
        assert "0 👍  the new eval harness saved hours" in retro_summary  # a heart and a like taken back count 0
        assert not any(PEOPLE[m][1] in retro_summary for m in PEOPLE)  # nobody's name on an item
        (action,) = in_retro(w, MARCH_15, "fix the flaky CI test")
        assert (action.card or {})["msteams"]["entities"][0]["mentioned"]["id"] == "29:ravi"
        # Its owner is reminded the day before it is due, at the start of his working day (10:00 in Kolkata).
        (falling_due,) = [c for c in w.connector.delivered("send", dm_of("ravi")) if "Action item due tomorrow" in c.shown]
        assert falling_due.at == datetime(2027, 3, 23, 4, 30, tzinfo=UTC) and "fix the flaky CI test" in falling_due.shown
        second = [c for c in w.connector.delivered("send", ML_TEAM) if "sprint-retro summary — Mon 29 Mar" in c.shown]
        assert len(second) == 1 and second[0].at == datetime(2027, 3, 28, 17, 0, tzinfo=UTC)  # closed early, once
        assert "0 👍  pair on the drift job" in second[0].shown
        # Each person has the day-ahead notice once a round, in their own time, with its calendar file to accept
        # (a consent card: the file reaches their OneDrive only if they allow it).
        for root_day, opened, meeting in ((MARCH_15, datetime(2027, 3, 13, 15, 30, tzinfo=UTC),
                                           datetime(2027, 3, 15, 15, 30, tzinfo=UTC)),
                                          (MARCH_29, datetime(2027, 3, 27, 12, 30, tzinfo=UTC),
                                           datetime(2027, 3, 29, 12, 30, tzinfo=UTC))):
            assert retro_root(w, root_day).at == opened  # the thread opens 48 hours before the meeting
            ics = f"sprint-retro-{meeting.date().isoformat()}.ics"
            for m in PEOPLE:
                chat = dm_conversation(w, m)
                files = {c.at for c in w.connector.delivered("send", chat)
                         if (c.attachment(CONSENT_TYPE) or {}).get("name") == ics}
                notices = [c for c in w.connector.delivered("send", chat) if c.at in files
                           and c.card_text.startswith("🔁 sprint-retro ") and "in 15 minutes" not in c.card_text]
                if local(m, meeting).date() not in workdays(m):  # Easter Monday for Marta and Kenji: away, not told
                    assert notices == [], (m, ics)
                    continue
                assert len(notices) == 1, (m, ics, [c.card_text for c in notices])
                assert f"{local(m, meeting):%a %-d %b %H:%M}" in notices[0].shown and "your time" in notices[0].shown
                assert notices[0].at is not None and notices[0].at <= meeting - timedelta(hours=1), (m, ics)

        # --- what holds all month --------------------------------------------------------------------------------
        assert w.connector.rejected() == []
        sent = [c for c in w.connector.delivered() if c.kind in {"create", "send", "reply", "update"}]
        for c in sent:
            assert c.size <= ACTIVITY_LIMIT, (c.size, c.card_text[:200])
            for att in c.body.get("attachments") or []:
                if att.get("contentType") == CARD_TYPE:
                    assert card_errors(att["content"]) == [], c.card_text[:200]
        # Nothing sent twice: no activity repeated to the same place at the same instant, one reminder a person a day.
        repeated = Counter((c.kind, c.conversation, c.at, json.dumps(c.body.get("attachments"), sort_keys=True))
                           for c in sent if c.kind != "update")
        assert max(repeated.values()) == 1, [k for k, n in repeated.items() if n > 1][:3]
        for m in PEOPLE:
            titles = Counter(c.card_text.split("\n", 1)[0] for c in reminders(w, m))
            assert max(titles.values()) == 1, m
        # Nobody pinged at night: no 1:1 message Meridian starts lands between 22:00 and 06:00 the person's time,
        # except what they configured (the stand-up reminder at 09:30, a retro's 15-minute reminder and its file).
        owner = {dm_conversation(w, m): m for m in PEOPLE}
        exempt = {(c.conversation, c.at) for c in sent
                  if c.card_text.startswith("☀️ Stand-up: ") or "in 15 minutes" in c.card_text.split("\n", 1)[0]}
        for c in sent:
            started = id(c) not in answers_to_people and (c.conversation, c.at) not in exempt
            if c.conversation in owner and c.kind == "send" and c.at is not None and started:
                hour = local(owner[c.conversation], c.at).hour
                assert NIGHT_ENDS <= hour < NIGHT_STARTS, (owner[c.conversation], c.at, c.card_text[:200])
        # …and nothing Meridian posts in the channel by itself mentions anyone in their night. (What it posts for
        # someone — Tomás's action item naming Ravi at 22:30 in Kolkata — carries the mention that person typed.)
        # A retro's opening names its facilitator through routing too: on 29 March (Easter Monday for Kenji, whose
        # turn it was) the turn passes to the next member present, and is named without a ping off their hours.
        by_teams_id = {tid: m for m, (tid, *_rest) in PEOPLE.items()}
        at_night = []
        for c in sent:
            on_its_own = id(c) not in answers_to_people
            if c.conversation and c.conversation.startswith(ML_TEAM) and c.card and c.at is not None and on_its_own:
                for entity in c.card.get("msteams", {}).get("entities", []):
                    m = by_teams_id[entity["mentioned"]["id"]]
                    if not NIGHT_ENDS <= local(m, c.at).hour < NIGHT_STARTS:
                        at_night.append((m, c.at, c.card_text.split("\n", 1)[0]))
        assert at_night == []
