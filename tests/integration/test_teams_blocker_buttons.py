"""A blocker's **Resolved** on Teams: an Action.Submit on the summary's card, through real HTTP with the Bot
Framework's token; the card is edited for everyone and the press answered in the thread."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.integration.teams_world import TeamsWorld, a_day_begins
from tests.integration.test_teams_standup_day import ML_TEAM, TEAM, TENANT


async def test_resolved_on_the_teams_summary_card_edits_it(sqlite_store: Any) -> None:
    async with TeamsWorld(sqlite_store, datetime(2027, 3, 15, 0, 0, tzinfo=UTC)) as w:
        w.load(TEAM)
        t, alice, ravi, reminder = await a_day_begins(w, TENANT, ML_TEAM)
        await w.send(t.press(ravi, reminder, "Answer"))
        form = w.connector.calls[-1]
        await w.send(t.press(ravi, form, "Submit", q0="Trained churn v7", q1="Evaluate v7", q2="Waiting on GPU quota"))
        thanks = w.connector.calls[-1]
        assert "Thanks, Ravi!" in thanks.card_text and "Resolved" in thanks.card_text

        await w.advance_to(datetime(2027, 3, 16, 3, 0, tzinfo=UTC))  # after Alice's 17:00 EDT cut-off
        header = next(c for c in w.connector.delivered("send", ML_TEAM))
        summary = w.connector.delivered("reply", f"{ML_TEAM};messageid={header.answered_id}")[-1]
        assert "Blockers (1)" in summary.card_text and "Resolved" in summary.card_text

        await w.send(t.press(alice, summary, "Resolved"))
        said = w.connector.calls[-1]
        assert "Resolved: Ravi's blocker “Waiting on GPU quota” (since Mon 15 Mar 2027)." in said.card_text
        updates = w.connector.delivered("update", ML_TEAM)
        edited = [c for c in updates if c.activity_id == summary.answered_id]
        assert edited and "✅ **Ravi**: Waiting on GPU quota — resolved by Alice" in edited[-1].card_text
        assert "\nResolved" not in edited[-1].card_text, "no button left on the card"
        answer = [c for c in updates if "Trained churn v7" in c.card_text]
        assert answer and "Blocker resolved: Waiting on GPU quota" in answer[-1].card_text
        headers = [c for c in updates if c.activity_id == header.answered_id]
        assert "1/2 answered · 1 blocker (1 resolved)" in headers[-1].card_text
        assert w.connector.rejected() == []
