"""``/api/messages`` under hostile input: forged tokens are 401, foreign service URLs are never called,
and a blank app id never switches authentication off by itself."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.emulators.teams import ConnectorEmulator, TeamsClient, bot_framework
from tests.integration.teams_world import TeamsWorld

ROOT = Path(__file__).resolve().parents[2]
START = datetime(2027, 3, 15, 3, 0, tzinfo=UTC)
TENANT = "tenant-a"
APP_ID = "00000000-0000-0000-0000-00000000abcd"


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def forged_tokens() -> dict[str, str]:
    """Tokens an attacker can make: no algorithm, a shared secret, a key Microsoft never published."""
    claims = {"aud": APP_ID, "iss": "https://api.botframework.com", "serviceurl": "https://evil.test/",
              "exp": 4_000_000_000, "nbf": 0}
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return {
        "alg-none": _b64({"alg": "none", "typ": "JWT"}) + "." + _b64(claims) + ".",
        "hs256": jwt.encode(claims, "a-guessable-shared-secret-32-bytes!", algorithm="HS256"),
        "unknown-kid": jwt.encode(claims, key, algorithm="RS256", headers={"kid": "not-a-microsoft-key"}),
        "garbage": "not.a.jwt",
    }


def misused_tokens(service_url: str) -> dict[str, str]:
    """Tokens signed with the Bot Framework's own (test) key that still must not pass."""
    issuer = bot_framework()
    return {
        "another-bot": issuer.channel_token("11111111-2222-3333-4444-555555555555", service_url),
        "another-service-url": issuer.channel_token(APP_ID, "https://smba.trafficmanager.net/emea/"),
        "expired": issuer.channel_token(APP_ID, service_url, nbf=1_000_000_000, exp=1_000_003_600),
        "another-issuer": issuer.channel_token(APP_ID, service_url, iss="https://evil.example"),
        "the-bots-own-connector-token": issuer.bot_token(APP_ID),
    }


@pytest.mark.parametrize("kind", ["another-bot", "another-service-url", "expired", "another-issuer",
                                  "the-bots-own-connector-token"])
async def test_a_token_signed_by_the_bot_framework_for_something_else_is_401(sqlite_store: Any, kind: str) -> None:
    async with TeamsWorld(sqlite_store, START, app_id=APP_ID) as w:
        user = w.connector.add_user("29:eve", "Eve", "aad-eve", tenant=TENANT)
        activity = w.tenant(TENANT).personal(user, "standup help")
        response = await w.post(activity, {"Authorization": f"Bearer {misused_tokens(w.connector.url)[kind]}"})
        assert response.status == 401
        assert w.connector.calls == [] and w.store.list_workspaces() == []
        await w.send(activity)  # the same activity with the right token is taken
        assert w.connector.calls and w.connector.rejected() == []


@pytest.mark.parametrize("kind", ["alg-none", "hs256", "unknown-kid", "garbage"])
async def test_a_forged_token_is_401_and_changes_nothing(sqlite_store: Any, kind: str) -> None:
    async with TeamsWorld(sqlite_store, START, app_id=APP_ID) as w:
        user = w.connector.add_user("29:eve", "Eve", "aad-eve", tenant=TENANT)
        activity = w.tenant(TENANT).personal(user, "standup help")
        response = await w.post(activity, {"Authorization": f"Bearer {forged_tokens()[kind]}"})
        text = await response.text()
        assert response.status == 401 and "Traceback" not in text and "Server got itself in trouble" not in text
        assert w.connector.calls == [] and w.store.list_members(TENANT) == []
        assert w.store.list_workspaces() == []


async def test_without_a_token_even_a_malformed_body_is_401_not_400(sqlite_store: Any) -> None:
    async with TeamsWorld(sqlite_store, START, app_id=APP_ID) as w:
        assert w.http is not None
        for body, content_type in (("{not json", "application/json"), ("[1, 2]", "application/json"),
                                   ('{"type": 5}', "application/json"), ("hello", "text/plain")):
            response = await w.http.post("/api/messages", data=body, headers={"Content-Type": content_type})
            assert response.status == 401, (body, await response.text())
        # With the Bot Framework's token, the same bodies are what they are: malformed.
        token = {"Authorization": f"Bearer {w.token({})}", "Content-Type": "application/json"}
        for body in ("{not json", "[1, 2]", '{"type": 5}'):
            response = await w.http.post("/api/messages", data=body, headers=token)
            assert response.status == 400, (body, await response.text())
        assert w.store.list_workspaces() == []


async def test_in_emulator_mode_a_malformed_body_is_a_400(sqlite_store: Any) -> None:
    async with TeamsWorld(sqlite_store, START, app_id="") as w:
        assert w.http is not None
        for body in ("{not json", "[1, 2]", '{"type": 5}', '{"text": "no type"}'):
            response = await w.http.post("/api/messages", data=body, headers={"Content-Type": "application/json"})
            assert response.status == 400, (body, await response.text())
        assert w.store.list_workspaces() == []


async def test_an_activity_naming_a_foreign_service_url_is_refused_and_never_called(sqlite_store: Any) -> None:
    attacker = ConnectorEmulator()
    await attacker.start()
    try:
        async with TeamsWorld(sqlite_store, START) as w:
            victim = attacker.add_user("29:eve", "Eve", "aad-eve", tenant=TENANT)
            activity = TeamsClient(attacker.url, TENANT).personal(victim, "standup help")
            response = await w.post(activity)
            assert response.status == 400 and "serviceUrl" in (await response.json())["error"]
            for url in ("https://smba.trafficmanager.net.evil.test/amer/", "http://169.254.169.254/latest/",
                        "file:///etc/passwd"):
                assert (await w.post({**activity, "serviceUrl": url})).status == 400
            assert attacker.calls == [] and w.connector.calls == []
            assert w.store.list_members(TENANT) == [] and w.chat.repo.newest(TENANT) is None
            # The configured connector is still answered.
            t = w.tenant(TENANT)
            noor = w.connector.add_user("29:noor", "Noor", "aad-noor", tenant=TENANT)
            await w.send(t.personal(noor, "standup help"))
            assert w.connector.calls and attacker.calls == []
    finally:
        await attacker.close()


def serve(env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("Microsoft", "MERIDIAN_TEAMS"))}
    full.update({"PYTHONPATH": str(ROOT), "DATABASE_URL": f"sqlite:///{tmp_path / 'm.db'}", **env})
    return subprocess.run([sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", "1"],
                          cwd=tmp_path, env=full, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("blank", [" ", "  \t"])
def test_serve_refuses_a_blank_app_id_without_the_emulator_flag_in_one_line(tmp_path: Path, blank: str) -> None:
    done = serve({"MicrosoftAppId": blank, "MicrosoftAppPassword": "p"}, tmp_path)
    assert done.returncode != 0
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "MicrosoftAppId is blank" in lines[0], done.stderr
    assert "Traceback" not in done.stderr


def test_serve_in_emulator_mode_needs_the_connector_url(tmp_path: Path) -> None:
    done = serve({"MicrosoftAppId": " ", "MERIDIAN_TEAMS_EMULATOR": "1"}, tmp_path)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode != 0 and len(lines) == 1 and "MERIDIAN_TEAMS_EMULATOR_URL" in lines[0], done.stderr


async def test_a_conversation_kept_with_a_foreign_service_url_is_never_called(sqlite_store: Any) -> None:
    """A reference stored before service URLs were checked (or by an older version) is not used."""
    from botbuilder.schema import ChannelAccount, ConversationAccount, ConversationReference

    from bot.kernel.messages import Message
    from bot.kernel.ports import DeliveryError

    attacker = ConnectorEmulator()
    await attacker.start()
    try:
        async with TeamsWorld(sqlite_store, START) as w:
            w.load(f"""
workspace: {TENANT}
members:
  - {{id: alice, name: Alice, tz: Europe/Berlin, accounts: {{teams: "29:alice"}}}}
""")
            reference = ConversationReference(channel_id="msteams", service_url=attacker.url,
                                              conversation=ConversationAccount(id="a:personal-29:alice"),
                                              user=ChannelAccount(id="29:alice"), bot=ChannelAccount(id="28:bot"))
            w.chat.repo.save_conversation(TENANT, "a:personal-29:alice", "personal", attacker.url,
                                          reference.serialize(), START, member_id="alice")
            alice = w.store.get_member(TENANT, "alice")
            assert alice is not None
            with pytest.raises(DeliveryError, match="not a Bot Framework service URL"):
                await w.chat.dm(alice, Message.text("your reminder"))
            assert attacker.calls == []
    finally:
        await attacker.close()
