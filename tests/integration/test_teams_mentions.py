"""Teams mentions and reactions reach the core in its own terms: ``@member-id`` and Unicode emoji.

Activities go to ``/api/messages`` as the Bot Framework sends them; a hook placed first in the
real app's message and reaction lists notes what the core was handed, and passes it on.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.integration.core_inbox import Seen
from tests.integration.teams_world import TeamsWorld

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
ML_TEAM = "19:ml-team@thread.tacv2"
TEAM = f"""
workspace: {TENANT}
members:
  - {{id: alice, name: Alice, tz: Europe/London, admin: true, accounts: {{teams: "29:alice"}}}}
  - {{id: ravi, name: Ravi, tz: Asia/Kolkata, accounts: {{teams: aad-ravi}}}}
retros:
  - {{name: sprint-retro, channel: "#ml-team", every: 2w, duration: 60m, starts: 2027-01-04, members: all,
     candidates: ["14:00"], max_votes: 2}}
"""


async def test_a_thread_reply_names_members_by_id_and_a_like_is_a_thumbs_up_vote(sqlite_store: Any) -> None:
    async with TeamsWorld(sqlite_store, datetime(2027, 1, 2, 15, 0, tzinfo=UTC)) as w:
        w.load(TEAM)
        seen = Seen(w.app)
        t = w.tenant(TENANT)
        alice = w.connector.add_user("29:alice", "Alice", "aad-alice", tenant=TENANT)
        ravi = w.connector.add_user("29:ravi", "Ravi", "aad-ravi", tenant=TENANT)
        stranger = w.connector.add_user("29:sam", "Sam Stranger", "aad-sam", tenant=TENANT)
        await w.send(t.installed_in_team(alice))
        await w.send(t.installed_personally(ravi))  # Ravi's Teams id is learnt; the team file knew his Entra id

        await w.send(t.channel(alice, ML_TEAM, "ml-team", "retro open"))
        root = next(c for c in w.connector.delivered("send", ML_TEAM) if "sprint-retro" in c.card_text)
        assert root.answered_id is not None

        # A reply in the retro's thread mentions Ravi (by the Teams id the bot learnt) and someone Meridian never met.
        reply = t.channel(alice, ML_TEAM, "ml-team", "improve: <at>Ravi</at> and <at>Sam Stranger</at> pair on CI",
                          mention_bot=False, thread=root.answered_id, mentions=(ravi, stranger))
        await w.send(reply)
        (msg,) = seen.messages
        assert msg.text == "improve: @ravi and @29:sam pair on CI"
        assert msg.thread == root.answered_id and msg.member.id == "alice" and not msg.is_dm

        # Teams' reaction names arrive as emoji: a like is a 👍 vote, a heart is not a vote.
        await w.send(t.reaction(ravi, ML_TEAM, "ml-team", reply["id"], "like", thread=root.answered_id))
        await w.send(t.reaction(ravi, ML_TEAM, "ml-team", reply["id"], "heart", thread=root.answered_id))
        await w.send(t.reaction(alice, ML_TEAM, "ml-team", reply["id"], "like", thread=root.answered_id))
        await w.send(t.reaction(alice, ML_TEAM, "ml-team", reply["id"], "like", added=False,
                                thread=root.answered_id))
        assert [(r.member.id, r.emoji, r.added) for r in seen.reactions] == [
            ("ravi", "👍", True), ("ravi", "❤️", True), ("alice", "👍", True), ("alice", "👍", False)]
        assert {r.message_id for r in seen.reactions} == {reply["id"]}

        await w.send(t.channel(alice, ML_TEAM, "ml-team", "retro close confirm"))  # before the meeting: confirmed
        summary = next(c for c in w.connector.delivered("send", ML_TEAM) if "summary" in c.card_text)
        assert "1 👍  @ravi and @29:sam pair on CI" in summary.card_text
