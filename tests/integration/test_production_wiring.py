"""README promises proven through the app exactly as ``meridian serve``, ``worker`` and ``import`` build it.

Nothing of ours is faked here: settings come from a ``.env`` file in the working
directory (as an operator writes one), ``bot.cli.main`` runs the operator's commands,
``bot.bootstrap.compose`` builds the app the way ``serve`` and ``worker`` do, and only
the outside services are stand-ins (the Slack Web API emulator).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot import cli
from bot.bootstrap import Composition, compose
from bot.kernel.clock import SimulatedClock
from bot.kernel.timekeeping import utc
from bot.settings import load_settings
from tests.emulators.slack import SlackEmulator
from tests.emulators.wandb import EmulatedRun, WandbEmulator
from tests.integration.services import MlflowServer
from tests.integration.slack_harness import SECRET, signed_headers
from tests.integration.test_mlflow_digest import log_run

MONDAY_EARLY = utc(2027, 3, 15, 5, 0)
TEAM = """\
workspace: T0001
members:
  - {id: bob, name: Bob, tz: Europe/Berlin, accounts: {slack: UBOB}}
  - {id: ravi, name: Ravi, tz: Asia/Kolkata, accounts: {slack: URAVI}, admin: true}
standups:
  - {name: ml-daily, channel: "#ml-team", remind_at: "09:30", days: [mon, tue, wed, thu, fri], members: all}
"""


@pytest.fixture
async def slack_api() -> AsyncIterator[SlackEmulator]:
    clock_box: list[SimulatedClock] = []
    emulator = SlackEmulator(ts_clock=lambda: clock_box[0].now().timestamp() if clock_box else time.time())
    await emulator.start()
    emulator.add_user("UBOB", "Bob", "Europe/Berlin")
    emulator.add_user("URAVI", "Ravi", "Asia/Kolkata")
    yield emulator
    await emulator.stop()


@pytest.fixture
def operator_dir(tmp_path: Path, slack_api: SlackEmulator, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A deployment directory: its ``.env`` configures Slack and the database, and nothing else is set."""
    for name in ("DATABASE_URL", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_API_URL", "SLACK_APP_TOKEN",
                 "SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "MicrosoftAppId", "MERIDIAN_TEAMS_EMULATOR"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / ".env").write_text(
        f"DATABASE_URL=sqlite:///{tmp_path / 'meridian.db'}\n"
        "SLACK_BOT_TOKEN=xoxb-T0001-test\n"
        f"SLACK_SIGNING_SECRET={SECRET}\n"
        f"SLACK_API_URL={slack_api.api_url}\n")
    (tmp_path / "team.yaml").write_text(TEAM)
    monkeypatch.chdir(tmp_path)
    cli.main(["db", "upgrade"])
    return tmp_path


async def serve(composition: Composition) -> tuple[web.AppRunner, str]:
    """``meridian serve``'s web application on a loopback port."""
    runner = web.AppRunner(cli.web_application(composition, with_scheduler=False), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"


async def slash(url: str, command: str, text: str, user: str) -> int:
    form = {"token": "legacy", "team_id": "T0001", "team_domain": "acme", "channel_id": "C0TEAM",
            "channel_name": "ml-team", "user_id": user, "user_name": user.lower(), "command": command,
            "text": text, "api_app_id": "A0001", "response_url": "http://127.0.0.1:9/unused",
            "trigger_id": f"{uuid.uuid4().int % 10**12}.trigger"}
    body = urlencode(form)
    async with aiohttp.ClientSession() as session, session.post(
            f"{url}/slack/events", data=body.encode(),
            headers=signed_headers(body, "application/x-www-form-urlencoded")) as resp:
        return resp.status


def reminders_to(emulator: SlackEmulator, user: str) -> list[dict[str, object]]:
    """The day's first reminders (not the nudge) that reached this person's DM on Slack."""
    dm = "D" + user[1:]
    return [c.params for c in emulator.calls("chat.postMessage")
            if c.where in {dm, user} and "Stand-up: ml-daily" in json.dumps(c.params.get("blocks"), ensure_ascii=False)]


async def test_an_imported_team_is_reminded_on_slack_once_per_person(
        operator_dir: Path, slack_api: SlackEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    # Before the team file exists, Bob uses Meridian on Slack: the platform makes him member UBOB.
    clock = SimulatedClock(MONDAY_EARLY)
    settings = load_settings()
    served = compose(settings, clock)
    runner, url = await serve(served)
    try:
        assert await slash(url, "/meridian", "me", "UBOB") == 200
        for _ in range(200):
            if served.app.store.find_member_by_account("T0001", "slack", "UBOB") is not None:
                break
            await asyncio.sleep(0.02)
        assert served.app.store.get_member("T0001", "UBOB") is not None
    finally:
        await runner.cleanup()

    # The operator imports the team file; with Slack configured the team talks on Slack.
    assert cli.main(["import", "team.yaml"]) == 0
    assert "talks on slack" in capsys.readouterr().out

    # `meridian worker` reaches the day's reminders.
    worker = compose(load_settings(), clock, worker="worker-1")
    assert "console" not in worker.app.chats
    await worker.app.engine.advance_to(utc(2027, 3, 15, 9, 0), clock)

    assert [m.id for m in worker.app.store.list_members("T0001")] == ["bob", "ravi"]
    assert len(reminders_to(slack_api, "UBOB")) == 1, "Bob is one member with one reminder"
    assert len(reminders_to(slack_api, "URAVI")) == 1


async def test_a_team_imported_before_slack_was_set_up_talks_on_slack_once_it_is(
        operator_dir: Path, slack_api: SlackEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    env = operator_dir / ".env"
    configured = env.read_text()
    env.write_text("\n".join(line for line in configured.splitlines() if not line.startswith("SLACK_")) + "\n")
    assert cli.main(["import", "team.yaml"]) == 0
    assert "talks on console" in capsys.readouterr().out

    env.write_text(configured)
    clock = SimulatedClock(MONDAY_EARLY)
    worker = compose(load_settings(), clock)
    await worker.app.engine.advance_to(utc(2027, 3, 15, 9, 0), clock)
    assert len(reminders_to(slack_api, "UBOB")) == 1


RETRO_TEAM = """\
workspace: T0001
members:
  - {id: bob, name: Bob, tz: Europe/Berlin, accounts: {slack: UBOB, mlflow: bob}}
  - {id: ravi, name: Ravi, tz: Asia/Kolkata, accounts: {slack: URAVI, mlflow: ravi}}
retros:
  - {name: q1, channel: "#ml-team", async: {opens: "2027-03-01T09:00Z", closes: "2027-03-05T17:00Z"}}
sources:
  tracking: [{kind: mlflow, experiments: ["wiring-*"], metric: val_auc, goal: max}]
"""


@pytest.mark.services
async def test_a_retro_thread_opens_with_the_sprint_in_numbers_from_mlflow_named_in_dotenv(
        operator_dir: Path, slack_api: SlackEmulator, mlflow_server: MlflowServer) -> None:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=mlflow_server.url)
    experiment = client.create_experiment("wiring-churn")
    sprint_end = utc(2027, 2, 26, 12, 0)
    log_run(client, experiment, "baseline", "ravi", "FINISHED", sprint_end - timedelta(days=20), (0.81,))
    log_run(client, experiment, "v7", "ravi", "FINISHED", sprint_end - timedelta(days=3), (0.84,))
    log_run(client, experiment, "v8", "bob", "FINISHED", sprint_end, (0.87,))
    log_run(client, experiment, "oom", "bob", "FAILED", sprint_end - timedelta(days=1))

    # The team file names no address: the tracking server comes from MLFLOW_TRACKING_URI in .env.
    with (operator_dir / ".env").open("a") as env:
        env.write(f"MLFLOW_TRACKING_URI={mlflow_server.url}\n")
    (operator_dir / "team.yaml").write_text(RETRO_TEAM)
    assert cli.main(["import", "team.yaml"]) == 0

    clock = SimulatedClock(utc(2027, 3, 1, 8, 0))
    worker = compose(load_settings(), clock)
    await worker.app.engine.advance_to(utc(2027, 3, 1, 9, 30), clock)

    opened = [c.params for c in slack_api.calls("chat.postMessage")
              if "q1" in str(c.params.get("text")) and c.where == "#ml-team"]
    assert len(opened) == 1, [c.params.get("text") for c in slack_api.calls("chat.postMessage")]
    shown = json.dumps(opened[0]["blocks"], ensure_ascii=False)
    assert "Sprint in numbers" in shown
    assert "2 runs finished, 1 failed" in shown
    assert "Best val_auc: 0.87 (v8 in wiring-churn)" in shown


async def test_a_wandb_key_set_only_in_dotenv_reaches_the_source(
        operator_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def iso(hours_ago: float) -> str:
        return (datetime.now(UTC) - timedelta(hours=hours_ago)).replace(tzinfo=None).isoformat(timespec="seconds")

    emulator = WandbEmulator("acme", "k3y-from-dotenv")
    emulator.projects["churn"] = [EmulatedRun("r1", "finished", iso(5), iso(3), {"val_loss": 0.31}, "ravi-w"),
                                  EmulatedRun("r2", "crashed", iso(4), iso(2), {}, "ravi-w")]
    server = TestServer(emulator.app())
    await server.start_server()
    try:
        url = str(server.make_url("")).rstrip("/")
        with (operator_dir / ".env").open("a") as env:
            env.write("WANDB_API_KEY=k3y-from-dotenv\n")
        (operator_dir / "team.yaml").write_text(TEAM + f"""\
sources:
  tracking: [{{kind: wandb, url: "{url}", entity: acme, projects: [churn], metric: val_loss, goal: min}}]
digests:
  - {{kind: experiments, channel: "#ml-team", at: "08:00 Europe/London"}}
""")
        assert cli.main(["import", "team.yaml"]) == 0
        capsys.readouterr()
        status = await asyncio.to_thread(cli.main, ["digest", "experiments", "--dry-run"])
        printed = capsys.readouterr().out
    finally:
        await server.close()
    assert status == 0, printed
    assert "unavailable" not in printed and "1 finished" in printed and "r1" in printed, printed
