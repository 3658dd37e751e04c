"""Retro votes by Teams reaction: a ``like`` on an item Meridian posted itself is a 👍 vote.

Anonymous items are posted by Meridian into the retro's thread; the item is found again by
the activity id the connector gave that post (what the outbox recorded), which is the
``replyToId`` Teams puts on a ``messageReaction``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.integration.teams_world import ML_TEAM, TENANT, TeamsWorld

TEAM = f"""
workspace: {TENANT}
members:
  - {{id: alice, name: Alice, tz: Europe/London, admin: true, accounts: {{teams: "29:alice"}}}}
  - {{id: ravi, name: Ravi, tz: Asia/Kolkata, accounts: {{teams: "29:ravi"}}}}
  - {{id: noor, name: Noor, tz: Asia/Dubai, accounts: {{teams: "29:noor"}}}}
retros:
  - {{name: sprint-retro, channel: "#ml-team", every: 2w, duration: 60m, starts: 2027-01-04, members: all,
     candidates: ["14:00"], max_votes: 1}}
"""


async def test_a_like_on_an_item_meridian_posted_votes_and_taking_it_back_unvotes(sqlite_store: Any) -> None:
    start = datetime(2027, 1, 2, 15, 0, tzinfo=UTC)
    async with TeamsWorld(sqlite_store, start) as w:
        w.load(TEAM)
        t = w.tenant(TENANT)
        alice = w.connector.add_user("29:alice", "Alice", "aad-alice", tenant=TENANT)
        ravi = w.connector.add_user("29:ravi", "Ravi", "aad-ravi", tenant=TENANT)
        noor = w.connector.add_user("29:noor", "Noor", "aad-noor", tenant=TENANT)
        await w.send(t.installed_in_team(alice))
        for user in (alice, ravi, noor):
            await w.send(t.installed_personally(user))
        await w.send(t.channel(alice, ML_TEAM, "ml-team", "retro open"))
        root = next(c for c in w.connector.delivered("send", ML_TEAM) if "sprint-retro" in c.card_text)

        # Two anonymous items, posted by Meridian into the thread at the next release.
        await w.send(t.personal(ravi, "anon: improve: deploys take too long"))
        await w.send(t.personal(noor, "anon: well: the new feature store"))
        await w.advance_to(start + timedelta(hours=1, minutes=5))
        posts = {c.card_text: c for c in w.connector.delivered("reply")}
        deploys = next(c for text, c in posts.items() if "deploys take too long" in text)
        store_item = next(c for text, c in posts.items() if "the new feature store" in text)
        assert deploys.activity_id == root.answered_id and deploys.answered_id

        # like = 👍 votes; heart is a reaction, not a vote; a like taken off takes the vote back.
        await w.send(t.reaction(alice, ML_TEAM, "ml-team", str(deploys.answered_id), "like",
                                thread=root.answered_id))
        await w.send(t.reaction(ravi, ML_TEAM, "ml-team", str(deploys.answered_id), "like",
                                thread=root.answered_id))
        await w.send(t.reaction(noor, ML_TEAM, "ml-team", str(deploys.answered_id), "heart",
                                thread=root.answered_id))
        await w.send(t.reaction(ravi, ML_TEAM, "ml-team", str(deploys.answered_id), "like", added=False,
                                thread=root.answered_id))
        await w.send(t.reaction(ravi, ML_TEAM, "ml-team", str(store_item.answered_id), "like",
                                thread=root.answered_id))
        # Alice has one vote (max_votes: 1): her second like is refused in her 1:1 chat, not counted.
        before = len(w.connector.delivered("send", "a:personal-29:alice"))
        await w.send(t.reaction(alice, ML_TEAM, "ml-team", str(store_item.answered_id), "like",
                                thread=root.answered_id))
        refusals = w.connector.delivered("send", "a:personal-29:alice")[before:]
        assert len(refusals) == 1 and "vote" in refusals[0].shown.lower()

        await w.send(t.channel(alice, ML_TEAM, "ml-team", "retro close confirm"))
        summary = next(c for c in w.connector.delivered("send", ML_TEAM) if "summary" in c.card_text)
        assert "1 👍  deploys take too long" in summary.shown
        assert "1 👍  the new feature store" in summary.shown
