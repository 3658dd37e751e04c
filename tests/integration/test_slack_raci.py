"""``/raci`` on Slack through the real app: lookups with mentions, permissions, a CSV shared and imported, exports as files."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.kernel.team import apply_team
from bot.kernel.teamfile import parse_team
from bot.kernel.timekeeping import utc
from tests.integration.slack_harness import SlackHarness

TEAM = """
workspace: T0001
members:
  - {id: alice, name: Alice, tz: America/Los_Angeles, hours: "04:00-12:00", admin: true, accounts: {slack: U0ALICE}}
  - {id: ravi, name: Ravi, tz: Asia/Kolkata, hours: "10:00-18:00", accounts: {slack: U0RAVI}}
  - {id: noor, name: Noor, tz: Asia/Dubai, accounts: {email: noor@acme.example}}
raci:
  - {activity: churn model retraining, R: [ravi], A: alice, C: [noor], I: []}
"""
MONDAY = utc(2027, 3, 15, 12, 0)
"""05:00 for Alice and 17:30 for Ravi: both in their working hours, so a lookup pings them."""


@pytest.fixture
async def slack(tmp_path: Path) -> AsyncIterator[SlackHarness]:
    async with SlackHarness(tmp_path, MONDAY) as harness:
        harness.emulator.add_user("U0ALICE", "Alice", "America/Los_Angeles", is_admin=True)
        harness.emulator.add_user("U0RAVI", "Ravi", "Asia/Kolkata")
        apply_team(harness.app, parse_team(TEAM, "team.yaml", harness.app.sections), platform="slack")
        yield harness


async def raci(slack: SlackHarness, text: str, user: str) -> dict[str, Any]:
    """Type ``/raci TEXT`` in the team channel and return what came back through the response URL."""
    before = len(slack.emulator.calls("response_url"))
    status, _ = await slack.command(text, user=user, command="/raci")
    assert status == 200
    await slack.until(lambda: len(slack.emulator.calls("response_url")) > before)
    await slack.settle(0.1)
    return slack.emulator.calls("response_url")[before].params


def shown(answer: dict[str, Any]) -> str:
    return json.dumps(answer["blocks"], ensure_ascii=False)


async def test_a_lookup_mentions_people_who_have_slack_accounts_and_names_the_others(slack: SlackHarness) -> None:
    answer = shown(await raci(slack, "churn model", user="U0RAVI"))
    assert "churn model retraining" in answer
    assert "<@U0RAVI>" in answer and "<@U0ALICE>" in answer
    assert "*Noor*" in answer and "<@noor>" not in answer


async def test_set_by_someone_who_is_neither_admin_nor_accountable_is_refused(slack: SlackHarness) -> None:
    answer = shown(await raci(slack, "set churn model retraining R <@U0RAVI|ravi> @noor", user="U0RAVI"))
    assert "Only workspace admins and the Accountable of “churn model retraining” may change this activity" in answer
    after = shown(await raci(slack, "churn model retraining", user="U0RAVI"))
    assert after.count("<@U0RAVI>") == 1 and "*Noor*" in after  # unchanged: Ravi R, Noor C


async def test_export_arrives_as_a_file_and_the_edited_file_shared_in_the_channel_imports(slack: SlackHarness) -> None:
    emulator = slack.emulator
    answer = shown(await raci(slack, "export", user="U0ALICE"))
    assert "📎 *raci-T0001-wide.csv* is in your DM with Meridian" in answer
    (exported,) = emulator.uploaded("D0ALICE")
    assert exported.name == "raci-T0001-wide.csv" and "```" not in answer, "a file, not a pasted CSV"
    rows = list(csv.reader(io.StringIO(exported.text)))
    header = rows[0]
    assert header[0] == "activity" and {"alice", "ravi", "noor"} <= set(header)

    new_row = ["feature store", *("A" if p == "alice" else "R" if p == "ravi" else "" for p in header[1:])]
    out = io.StringIO()
    csv.writer(out).writerows([*rows, new_row])
    emulator.share_file("U0ALICE", "C0TEAM", "raci-new.csv", out.getvalue())
    emulator.share_file("U0ALICE", "C0OTHER", "elsewhere.csv", "activity,alice\nnot this one,A\n")
    emulator.share_file("U0RAVI", "C0TEAM", "ravis.csv", "activity,ravi\nnor this one,R\n")

    imported = shown(await raci(slack, "import", user="U0ALICE"))
    assert "Imported 2 activities from raci-new.csv (1 new or changed)" in imported
    assert emulator.calls("file_download")[-1].token == "xoxb-T0001-test"
    found = shown(await raci(slack, "feature store", user="U0RAVI"))
    assert "<@U0RAVI>" in found and "<@U0ALICE>" in found
    listed = shown(await raci(slack, "list", user="U0ALICE"))
    assert "feature store" in listed and "churn model retraining" in listed
    assert "not this one" not in listed and "nor this one" not in listed


async def test_only_admins_import_and_a_missing_file_is_explained(slack: SlackHarness) -> None:
    assert "Only workspace admins may import a RACI chart" in shown(await raci(slack, "import", user="U0RAVI"))
    assert "Upload a CSV to this channel first" in shown(await raci(slack, "import", user="U0ALICE"))


async def test_an_export_slack_refuses_to_take_as_a_file_is_shown_inline(slack: SlackHarness) -> None:
    slack.emulator.fail("files.getUploadURLExternal", "missing_scope")
    answer = shown(await raci(slack, "export long", user="U0ALICE"))
    assert "raci-T0001-long.csv" in answer and "activity,person,role" in answer and "```" in answer
    assert not slack.emulator.uploaded()
