"""A member's delegate goes from the team file into the store and back out; one who leaves stops being one."""

from __future__ import annotations

from typing import Any

from bot.kernel.commands import Invocation
from bot.kernel.team import export_team
from bot.kernel.timekeeping import utc

TEAM = """
workspace: acme
members:
  - {id: alice, name: Alice, tz: America/Los_Angeles, admin: true, delegate: ravi}
  - {id: ravi, name: Ravi, tz: Asia/Kolkata, ooo: ["2027-03-15"]}
  - {id: noor, name: Noor, tz: Asia/Dubai, delegate: "@alice"}
raci:
  - {activity: churn model retraining, R: [noor], A: ravi}
"""


def delegates(h: Any) -> dict[str, str | None]:
    return {m["id"]: m.get("delegate") for m in export_team(h.app, "acme")["members"]}


async def test_delegates_are_stored_exported_and_dropped_when_the_delegate_leaves(harness_factory: Any) -> None:
    h = harness_factory(utc(2027, 3, 15, 12, 0))
    h.load(TEAM)
    assert delegates(h) == {"alice": "ravi", "ravi": None, "noor": "alice"}
    ravi = h.store.get_member("acme", "ravi")
    reply = await h.app.command(Invocation("acme", ravi, "meridian", "forget-me confirm"))
    assert reply.message.fallback.startswith("Done") and "Removed 1 delegation, " in reply.message.fallback
    assert delegates(h) == {"alice": None, "noor": "alice"}
    alice = h.store.get_member("acme", "alice")
    assert alice is not None and alice.delegate is None
    lookup = await h.app.command(Invocation("acme", alice, "raci", "churn model retraining"))
    assert "R · Responsible\n@Noor — 🟢 in hours, 16:00 in Dubai" in lookup.message.fallback
    assert "A · Accountable\nAlice — 🌙 05:00 in Los Angeles" in lookup.message.fallback  # took Ravi's letter
