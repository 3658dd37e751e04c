"""DMs Meridian starts by itself wait for the person's working hours, through the production composition.

A RACI handover after ``forget-me`` is such a DM: its keeper is told, but not in their night.
"""

from __future__ import annotations

from typing import Any

from bot.kernel.commands import Invocation
from bot.kernel.team import export_team
from bot.kernel.teamfile import TeamFileError, parse_team
from bot.kernel.timekeeping import utc

TEAM = """
workspace: acme
members:
  - {id: alice, name: Alice, tz: America/Los_Angeles, admin: true}
  - {id: ravi, name: Ravi, tz: Asia/Kolkata}
  - {id: noor, name: Noor, tz: Pacific/Auckland, quiet: "21:00-07:30"}
raci:
  - {activity: churn model retraining, R: [ravi], A: alice}
  - {activity: drift triage, R: [ravi], A: noor}
"""


async def forget_ravi(h: Any) -> None:
    ravi = h.store.get_member("acme", "ravi")
    reply = await h.app.command(Invocation("acme", ravi, "meridian", "forget-me confirm"))
    assert reply.message.fallback.startswith("Done")


def handovers(h: Any, member: str) -> list[Any]:
    return [d for d in h.dms(member) if "need" in d.text]


async def test_a_handover_at_night_waits_for_working_hours_and_arrives_once(harness_factory: Any) -> None:
    # Monday 12:00 UTC: 05:00 for Alice in Los Angeles, 01:00 Tuesday for Noor in Auckland
    h = harness_factory(utc(2027, 3, 15, 12, 0))
    h.load(TEAM)
    await forget_ravi(h)
    await h.advance_to(utc(2027, 3, 15, 15, 59))
    assert handovers(h, "alice") == [] and handovers(h, "noor") == []
    await h.advance_to(utc(2027, 3, 15, 16, 0))  # 09:00 in Los Angeles
    assert [d.at for d in handovers(h, "alice")] == [utc(2027, 3, 15, 16, 0)]
    assert "churn model retraining" in handovers(h, "alice")[0].text
    await h.advance_to(utc(2027, 3, 15, 20, 0))  # Tuesday 09:00 in Auckland
    assert [d.at for d in handovers(h, "noor")] == [utc(2027, 3, 15, 20, 0)]
    await h.advance_to(utc(2027, 3, 18, 0, 0))
    assert len(handovers(h, "alice")) == 1 and len(handovers(h, "noor")) == 1


async def test_a_held_dm_waits_longer_when_its_person_goes_away_meanwhile(harness_factory: Any) -> None:
    h = harness_factory(utc(2027, 3, 15, 12, 0))
    h.load(TEAM)
    await forget_ravi(h)
    alice = h.store.get_member("acme", "alice")
    reply = await h.app.command(Invocation("acme", alice, "meridian", "ooo 2027-03-15..2027-03-16"))
    assert "2027-03-15..2027-03-16" in reply.message.fallback
    await h.advance_to(utc(2027, 3, 17, 15, 59))
    assert handovers(h, "alice") == []
    await h.advance_to(utc(2027, 3, 17, 16, 1))  # back on Wednesday, 09:00 her time
    assert [d.at for d in handovers(h, "alice")] == [utc(2027, 3, 17, 16, 0)]


async def test_a_held_dm_goes_with_the_person_it_was_for(harness_factory: Any) -> None:
    h = harness_factory(utc(2027, 3, 15, 12, 0))
    h.load(TEAM)
    await forget_ravi(h)
    alice = h.store.get_member("acme", "alice")
    reply = await h.app.command(Invocation("acme", alice, "meridian", "forget-me confirm"))
    assert "1 held DM" in reply.message.fallback
    await h.advance_to(utc(2027, 3, 16, 0, 0))
    assert h.dms("alice") == []


def test_quiet_hours_come_from_the_team_file_and_go_back_out(harness_factory: Any) -> None:
    h = harness_factory(utc(2027, 3, 15, 12, 0))
    h.load(TEAM)
    exported = export_team(h.app, "acme")
    assert {m["id"]: m.get("quiet") for m in exported["members"]} == {"alice": None, "ravi": None,
                                                                       "noor": "21:00-07:30"}
    try:
        parse_team(TEAM.replace('"21:00-07:30"', '"9pm"'), "team.yaml", h.app.sections)
    except TeamFileError as e:
        assert e.errors == ["team.yaml:6: quiet: `9pm` is not a range of hours; write it as "
                            "HH:MM-HH:MM, for example 08:00-16:00."]
    else:
        raise AssertionError("a quiet of 9pm was accepted")


async def test_meridian_me_shows_the_quiet_hours(harness_factory: Any) -> None:
    h = harness_factory(utc(2027, 3, 15, 12, 0))
    h.load(TEAM)
    noor = h.store.get_member("acme", "noor")
    reply = await h.app.command(Invocation("acme", noor, "meridian", "me"))
    text = "".join(str(b) for b in reply.message.blocks)
    assert "quiet 21:00-07:30" in text
