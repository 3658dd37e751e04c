"""The roster: added to a team, Meridian reads its members page by page and links them to the team file.

The team file knows people the ways a company does — a Teams id, an Entra object id, an
email — and the connector's ``pagedmembers`` says who is in the team with all three. After
the install a team-file member who never wrote to Meridian gets their stand-up reminder in a
1:1 chat, and when they write they are that member, not a new one. Someone who joins the
team later is linked from the ``conversationUpdate`` that says so.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import aiohttp

from tests.integration.teams_world import TeamsWorld

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
TEAM = f"""
workspace: {TENANT}
members:
  - {{id: alice, name: Alice, tz: America/New_York, admin: true, accounts: {{teams: "29:alice"}}}}
  - {{id: ravi, name: Ravi Kumar, tz: Asia/Kolkata, accounts: {{email: Ravi.Kumar@acme.example}}}}
  - {{id: noor, name: Noor, tz: Asia/Dubai, accounts: {{teams: aad-noor}}}}
  - {{id: kim, name: Kim, tz: Asia/Seoul, accounts: {{email: kim@acme.example}}}}
standups:
  - {{name: daily, channel: "#ml-team", remind_at: "09:30"}}
"""


async def test_installing_in_a_team_links_its_members_by_teams_id_entra_id_or_email(sqlite_store: Any) -> None:
    async with TeamsWorld(sqlite_store, datetime(2027, 3, 15, 0, 0, tzinfo=UTC)) as w:
        w.load(TEAM)
        t = w.tenant(TENANT)
        c = w.connector
        alice = c.add_user("29:alice", "Alice", "aad-alice", "alice@acme.example", tenant=TENANT)
        ravi = c.add_user("29:ravi", "Ravi Kumar", "aad-ravi", "ravi.kumar@acme.example", tenant=TENANT)
        noor = c.add_user("29:noor", "Noor", "aad-noor", "noor@acme.example", tenant=TENANT)
        sam = c.add_user("29:sam", "Sam", "aad-sam", "sam@acme.example", tenant=TENANT)
        kim = c.add_user("29:kim", "Kim", "aad-kim", "KIM@acme.example", tenant=TENANT)
        c.add_to_team(t.team_id, alice, ravi, noor, sam)
        c.page_cap = 3  # Teams may send fewer than asked: the roster follows continuationToken to the end

        await w.send(t.installed_in_team(alice))
        pages = [call for call in c.delivered("members") if call.conversation == t.team_id]
        assert len(pages) == 2
        welcome = c.delivered("send", t.team_id)[-1].shown
        assert "I found 3 members of the team file among this team's 4 people." in welcome
        assert "Not found by Teams id, Entra object id or email: Kim." in welcome

        # Sam is not in the team file: not made a member by being in the team.
        assert sorted(m.id for m in w.store.list_members(TENANT)) == ["alice", "kim", "noor", "ravi"]
        assert w.store.get_member(TENANT, "ravi").accounts["teams"] == "29:ravi"  # linked by email, any case

        # Ravi and Noor never wrote; 09:30 in Kolkata (04:00Z) their reminder reaches a new 1:1 chat.
        await w.advance_to(datetime(2027, 3, 15, 4, 1, tzinfo=UTC))
        created = [call.body["members"][0]["id"] for call in c.delivered("create")]
        assert "29:ravi" in created
        assert any("Stand-up: daily" in call.card_text for call in c.delivered("send", "a:personal-29:ravi"))

        # When Ravi writes, he is the team file's Ravi.
        await w.send(t.personal(ravi, "meridian me"))
        assert "Ravi Kumar" in c.delivered("send", "a:personal-29:ravi")[-1].shown
        assert len(w.store.list_members(TENANT)) == 4

        # Kim joins the team later: the update carries only ids; her email is asked of Teams and matched.
        c.add_to_team(t.team_id, kim)
        await w.send(t.joined_team(alice, kim))
        assert w.store.get_member(TENANT, "kim").accounts["teams"] == "29:kim"
        await w.send(t.personal(kim, "meridian me"))
        assert len(w.store.list_members(TENANT)) == 4


async def test_a_team_whose_members_teams_will_not_list_still_gets_its_welcome(sqlite_store: Any) -> None:
    async with TeamsWorld(sqlite_store, datetime(2027, 3, 15, 0, 0, tzinfo=UTC)) as w:
        w.load(TEAM)
        t = w.tenant(TENANT)
        alice = w.connector.add_user("29:alice", "Alice", "aad-alice", tenant=TENANT)
        w.connector.refuse(403, kinds=("members",))
        await w.send(t.installed_in_team(alice))
        welcome = w.connector.delivered("send", t.team_id)[-1].shown
        assert welcome.startswith("Hi! I'm Meridian.") and "found" not in welcome


async def test_the_emulated_connector_pages_as_teams_documents(sqlite_store: Any) -> None:
    """``{members, continuationToken}``, the token gone on the last page; a token it never gave is a 400."""
    async with TeamsWorld(sqlite_store, datetime(2027, 3, 15, 0, 0, tzinfo=UTC)) as w:
        c = w.connector
        users = [c.add_user(f"29:u{i}", f"User {i}", f"aad-{i}", tenant=TENANT) for i in range(5)]
        c.add_to_team("19:t@thread.tacv2", *users)
        token = w.issuer.bot_token(w.app_id)
        seen: list[str] = []
        query = "pageSize=2"
        async with aiohttp.ClientSession() as http:
            while True:
                async with http.get(f"{c.url}v3/conversations/19:t@thread.tacv2/pagedmembers?{query}",
                                    headers={"Authorization": f"Bearer {token}"}) as r:
                    assert r.status == 200
                    body = await r.json()
                seen.extend(m["id"] for m in body["members"])
                if "continuationToken" not in body:
                    break
                query = f"pageSize=2&continuationToken={body['continuationToken']}"
            assert seen == [u.id for u in users]
            async with http.get(f"{c.url}v3/conversations/19:t@thread.tacv2/pagedmembers?continuationToken=nope",
                                headers={"Authorization": f"Bearer {token}"}) as r:
                assert r.status == 400
