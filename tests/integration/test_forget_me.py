"""``/meridian forget-me`` across capabilities, on SQLite and PostgreSQL: what is left of the person afterwards."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.kernel.commands import Invocation

TEAM = """
workspace: acme
members:
  - {id: alice, name: Alice, tz: America/New_York, admin: true}
  - {id: tomas, name: Tomás, tz: America/Sao_Paulo}
standups:
  - {name: daily, channel: "#ml", remind_at: "09:30", members: [alice, tomas]}
"""


async def test_a_named_participant_leaves_the_stand_up_and_gets_no_more_reminders(harness_factory: Any) -> None:
    h = harness_factory(datetime(2027, 3, 15, 0, 0, tzinfo=UTC))
    h.load(TEAM)
    tomas = h.store.get_member("acme", "tomas")
    reply = await h.app.command(Invocation("acme", tomas, "meridian", "forget-me confirm"))
    assert reply.message.fallback.startswith("Done: you are no longer a member of this team.")
    standup = h.store.get_standup("acme", "daily")
    assert standup is not None and standup.members == ("alice",)
    await h.advance_to(datetime(2027, 3, 17, 0, 0, tzinfo=UTC))
    assert h.dms("tomas") == []
    assert [d.at.date().isoformat() for d in h.dms("alice") if "Stand-up:" in d.text] == ["2027-03-15", "2027-03-16"]
    answer = await h.app.command(Invocation("acme", tomas, "standup", ""))
    assert answer.message.fallback.startswith("You are not a member of this team any more")
