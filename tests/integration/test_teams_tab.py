"""The personal tab: Slack's App Home on Teams, as an HTML page ``meridian serve`` answers at ``/teams/tab``.

Typing ``home`` in the 1:1 chat brings a link made for that member alone; the page shows
the core's own home sections (next reminder in your time, your RACI roles, your retro slots
and open actions) with every piece of text escaped. A link that was changed, made for
someone who has since left, or older than a week opens nothing.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from tests.integration.teams_world import PUBLIC_URL, TeamsWorld

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
ML_TEAM = "19:ml-team@thread.tacv2"
TEAM = f"""
workspace: {TENANT}
members:
  - {{id: alice, name: Alice, tz: America/New_York, admin: true, accounts: {{teams: "29:alice"}}}}
  - {{id: ravi, name: "Ravi <script>alert(1)</script>", tz: Asia/Kolkata, accounts: {{teams: "29:ravi"}}}}
standups:
  - {{name: daily, channel: "#ml-team", remind_at: "09:30"}}
raci:
  - {{activity: "churn model <b>retraining</b>", R: [ravi], A: alice}}
retros:
  - {{name: sprint-retro, channel: "#ml-team", every: 2w, duration: 60m, starts: 2027-03-22, members: all,
     candidates: ["14:00"]}}
"""


def link_in(text: str) -> str:
    found = re.search(r"\((https://[^)\s]+)\)", text)
    assert found, text
    return found.group(1)


async def test_home_in_the_personal_chat_links_to_an_escaped_home_page_that_only_works_for_a_week(
        sqlite_store: Any) -> None:
    async with TeamsWorld(sqlite_store, datetime(2027, 3, 15, 0, 0, tzinfo=UTC)) as w:
        assert w.http is not None
        w.load(TEAM)
        t = w.tenant(TENANT)
        w.connector.add_user("29:alice", "Alice", "aad-alice", tenant=TENANT)
        ravi = w.connector.add_user("29:ravi", "Ravi", "aad-ravi", tenant=TENANT)
        await w.send(t.installed_personally(ravi))
        assert "`home` for your home page" in w.connector.delivered(conversation="a:personal-29:ravi")[-1].card_text

        # The tab Teams opens from the package, without a link: how to get one.
        bare = await w.http.get("/teams/tab")
        assert bare.status == 200 and "Type <code>home</code> in your chat with Meridian" in await bare.text()

        await w.send(t.personal(ravi, "Home"))
        reply = w.connector.delivered(conversation="a:personal-29:ravi")[-1]
        url = link_in(reply.card_text)
        assert url.startswith(f"{PUBLIC_URL}/teams/tab?t=") and "works for 7 days" in reply.shown
        path = urlsplit(url)._replace(scheme="", netloc="").geturl()

        page = await w.http.get(path)
        body = await page.text()
        assert page.status == 200 and page.headers["Content-Type"].startswith("text/html")
        assert page.headers["Cache-Control"] == "no-store" and page.headers["Referrer-Policy"] == "no-referrer"
        assert "frame-ancestors" in page.headers["Content-Security-Policy"]
        assert "Your time zone is Asia/Kolkata" in body
        assert "09:30" in body  # the next reminder, in Ravi's time
        assert "churn model &lt;b&gt;retraining&lt;/b&gt;" in body and "<b>" not in body  # his RACI role, escaped
        assert "sprint-retro" in body  # his retro slot
        assert "<script>" not in body

        # A changed link, someone else's id in it, or any garbage: 403 and nothing of anyone's.
        token = url.split("t=", 1)[1]
        for bad in (token[:-2] + ("AA" if not token.endswith("AA") else "BB"), "x.y", "not-a-token", token + "."):
            refused = await w.http.get("/teams/tab", params={"t": bad})
            assert refused.status == 403 and "Kolkata" not in await refused.text()

        # After a week the link opens nothing; a new ``home`` gives a new one.
        w.clock.set(datetime(2027, 3, 15, 0, 0, tzinfo=UTC) + timedelta(days=7, minutes=1))
        expired = await w.http.get(path)
        assert expired.status == 403 and "expired" in await expired.text()
        await w.send(t.personal(ravi, "home"))
        fresh = urlsplit(link_in(w.connector.delivered(conversation="a:personal-29:ravi")[-1].card_text))
        assert (await w.http.get(f"{fresh.path}?{fresh.query}")).status == 200

        # Ravi leaves (forget-me): his link shows nothing any more.
        await w.send(t.personal(ravi, "meridian forget-me confirm"))
        assert (await w.http.get(f"{fresh.path}?{fresh.query}")).status == 403


async def test_without_a_public_url_home_says_what_the_operator_must_set(sqlite_store: Any) -> None:
    async with TeamsWorld(sqlite_store, datetime(2027, 3, 15, 0, 0, tzinfo=UTC), public_url="") as w:
        w.load(TEAM)
        t = w.tenant(TENANT)
        ravi = w.connector.add_user("29:ravi", "Ravi", "aad-ravi", tenant=TENANT)
        await w.send(t.personal(ravi, "home"))
        assert "MERIDIAN_PUBLIC_URL" in w.connector.delivered(conversation="a:personal-29:ravi")[-1].shown
