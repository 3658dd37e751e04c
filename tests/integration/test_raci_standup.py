"""RACI as a service to stand-ups: a blocker that names an activity points at its Accountable."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.kernel.app import Action, IncomingMessage
from bot.kernel.commands import Invocation

TEAM = """
workspace: acme
members:
  - {id: alice, name: Alice, tz: America/New_York, admin: true}
  - {id: ravi, name: Ravi, tz: Asia/Kolkata}
  - {id: marta, name: Marta, tz: Europe/Berlin}
standups:
  - {name: daily, channel: "#ml", remind_at: "09:30", tz: Europe/London, members: [ravi]}
raci:
  - {activity: feature store, aliases: [fs], R: [marta], A: marta}
"""


async def test_a_blocker_naming_an_activity_suggests_its_accountable(sqlite_harness: Any) -> None:
    h = sqlite_harness(datetime(2027, 3, 15, 3, 0, tzinfo=UTC))
    h.load(TEAM)
    await h.advance_to(datetime(2027, 3, 15, 4, 1, tzinfo=UTC))
    ravi = h.store.get_member("acme", "ravi")
    for text in ("Trained v7", "Evaluate v7", "Blocked on Feature-Store access since Friday"):
        assert await h.app.message(IncomingMessage("acme", ravi, text, None, True))
    answer = next(m for m in h.chat.in_channel("#ml") if m.thread is not None)
    assert "Blocked on Feature-Store access since Friday — feature store is owned by Marta (off hours, 05:01 in Berlin)" in answer.text


async def test_a_renamed_activity_is_still_recognised_in_blockers(sqlite_harness: Any) -> None:
    h = sqlite_harness(datetime(2027, 3, 15, 3, 0, tzinfo=UTC))
    h.load(TEAM)
    alice = h.store.get_member("acme", "alice")
    await h.app.command(Invocation("acme", alice, "raci", "rename feature store to feature platform"))
    await h.advance_to(datetime(2027, 3, 15, 4, 1, tzinfo=UTC))
    ravi = h.store.get_member("acme", "ravi")
    for text in ("Trained v7", "Evaluate v7", "still waiting on the feature store"):
        assert await h.app.message(IncomingMessage("acme", ravi, text, None, True))
    answer = next(m for m in h.chat.in_channel("#ml") if m.thread is not None)
    assert "still waiting on the feature store — feature platform is owned by Marta (off hours, 05:01 in Berlin)" in answer.text


async def test_a_blocker_naming_no_activity_gets_no_owner(sqlite_harness: Any) -> None:
    h = sqlite_harness(datetime(2027, 3, 15, 3, 0, tzinfo=UTC))
    h.load(TEAM)
    ravi = h.store.get_member("acme", "ravi")
    form = (await h.app.command(Invocation("acme", ravi, "standup", "", channel="#ml", trigger="t1"))).form
    assert form is not None
    values = {"q0": "Trained v7", "q1": "Evaluate v7", "q2": "blocked on the VPN"}
    await h.app.action(Action("acme", ravi, "standup.submit", values=values, metadata=form.metadata))
    answer = next(m for m in h.chat.in_channel("#ml") if m.thread is not None)
    assert "Blocker: blocked on the VPN" in answer.text and "is owned by" not in answer.text
