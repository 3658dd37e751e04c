"""One person, one member: what a platform-created member did before the import moves to the team file's member."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from bot.kernel.commands import Invocation
from bot.kernel.domain import Member
from bot.kernel.ports import StandupRun
from bot.retros.model import ActionItem, Item
from storage.raci.repo import RaciRepo
from storage.retros.repo import RetroRepo

BEFORE = """
workspace: acme
members:
  - {id: alice, name: Alice, tz: Europe/London, admin: true}
retros:
  - {name: q1, channel: "#ml", async: {opens: "2027-03-01T09:00Z", closes: "2027-03-05T17:00Z"}}
"""
AFTER = BEFORE.replace("admin: true}", "admin: true}\n  - {id: bob, name: Bob, tz: Europe/Berlin, accounts: {slack: UBOB}}")


async def test_a_platform_user_folded_into_the_team_file_member_keeps_roles_votes_actions_and_answers(
        harness_factory: Any) -> None:
    h = harness_factory(datetime(2027, 3, 2, 10, 0, tzinfo=UTC))
    h.load(BEFORE)
    h.store.upsert_member(Member("acme", "UBOB", "UBOB", tz="Europe/Berlin", accounts={"slack": "UBOB"}))
    alice = h.store.get_member("acme", "alice")
    reply = await h.app.command(Invocation("acme", alice, "raci", "set feature store R @UBOB A @alice", "#ml"))
    assert reply.message is not None and "feature store" in reply.message.fallback
    retros = RetroRepo(h.store.engine)
    day = date(2027, 3, 1)
    item = retros.add_item(Item("acme", "q1", day, "improve", "flaky CI", author="UBOB"))
    assert retros.vote(item, "UBOB")
    retros.add_action(ActionItem("acme", "q1", day, "UBOB", "fix the flaky test", due=date(2027, 3, 9)))
    h.store.save_run(StandupRun("acme", "daily", "UBOB", day, "answered", ("done", "next", "none")))

    h.load(AFTER)

    assert [m.id for m in h.store.list_members("acme")] == ["alice", "bob"]
    activity = RaciRepo(h.store.engine).get_activity("acme", "feature store")
    assert activity is not None and {(a.member_id, a.role.value) for a in activity.assignments} == {
        ("bob", "R"), ("alice", "A")}
    [moved] = retros.items("acme", "q1", day)
    assert moved.author == "bob" and retros.votes_cast("acme", "q1", day, "bob") == 1
    assert [a.owner for a in retros.actions("acme")] == ["bob"]
    assert h.store.get_run("acme", "daily", "bob", day) is not None
