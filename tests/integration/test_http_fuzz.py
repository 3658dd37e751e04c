"""Hypothesis over every HTTP route's body and headers, through the real servers.

Two properties, for each route Meridian serves:

- unauthenticated (no signature, a wrong one, a forged token, no bearer token), whatever
  the body and headers: 401, and nothing is stored and nothing is sent;
- authenticated but arbitrary: never a 500 (a 4xx names what is wrong).

Example counts are bounded (``EXAMPLES``) so the module stays quick on a shared machine.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.web.hooks import hook_routes, mlflow_signature, wandb_signature
from adapters.web.server import build_web_app
from bot.bootstrap import open_store
from bot.digests.sources import SourceSet
from bot.settings import Settings
from tests.digest_fakes import FakeMonitoring, installed, make_app
from tests.integration.live_server import LiveLoop, request
from tests.integration.slack_harness import SlackHarness, signed_headers
from tests.integration.teams_world import APP_ID, TeamsWorld

EXAMPLES = int(os.environ.get("MERIDIAN_FUZZ_EXAMPLES", "60"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
START = datetime(2027, 3, 15, 9, 0, tzinfo=UTC)
NEVER = {500, 502, 503, 504}

header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x2FF, exclude_characters="\x7f"),
                      max_size=60)
json_leaf = st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=False) | st.text(max_size=20)
SLACK_KEYS = ["type", "team_id", "team", "user", "user_id", "event", "event_id", "command", "trigger_id", "text",
              "view", "actions", "channel", "channel_id", "enterprise", "enterprise_id", "authorizations",
              "is_enterprise_install", "challenge", "ssl_check", "callback_id", "state", "values", "id", "container"]
SLACK_VALUES = st.sampled_from(["event_callback", "block_actions", "view_submission", "view_closed",
                                "block_suggestion", "shortcut", "url_verification", "/standup", "/raci",
                                "app_home_opened", "message", "T0001", "U0ALICE", "1"])


def json_values(keys: list[str], words: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.recursive(json_leaf | words, lambda inner: st.lists(inner, max_size=3)
                        | st.dictionaries(st.sampled_from(keys) | st.text(max_size=8), inner, max_size=6),
                        max_leaves=25)


slack_bodies = st.dictionaries(st.sampled_from(SLACK_KEYS), json_values(SLACK_KEYS, SLACK_VALUES), max_size=8)
content_types = st.sampled_from(["application/json", "application/x-www-form-urlencoded", "text/plain", "",
                                 "application/json; charset=latin-1", "multipart/form-data"])
random_bytes = st.binary(max_size=600) | st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass"))


def encode_slack(body: Any, how: str) -> tuple[bytes, str]:
    text = json.dumps(body)
    if how == "json":
        return text.encode(), "application/json"
    if how == "payload":
        return urlencode({"payload": text}).encode(), "application/x-www-form-urlencoded"
    flat = {k: v if isinstance(v, str) else json.dumps(v) for k, v in body.items()} if isinstance(body, dict) else {}
    return urlencode(flat).encode(), "application/x-www-form-urlencoded"


# --- Slack ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def live() -> Iterator[LiveLoop]:
    loop = LiveLoop()
    yield loop
    loop.close()


@pytest.fixture(scope="module")
def slack(live: LiveLoop, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SlackHarness]:
    harness = SlackHarness(tmp_path_factory.mktemp("slack"), START)
    live.run(harness.__aenter__())
    harness.emulator.add_user("U0ALICE", "Alice", "America/Los_Angeles", is_admin=True)
    yield harness
    live.run(harness.__aexit__(None, None, None))


def slack_nothing_stored(live: LiveLoop, slack: SlackHarness) -> bool:
    return live.call(lambda: slack.app.store.list_workspaces() == [] and slack.emulator.recorded == [])


@FUZZ
@given(body=random_bytes, content_type=content_types,
       timestamp=st.none() | header_text | st.integers(0, 2**40).map(str),
       signature=st.none() | header_text | st.text("0123456789abcdef", min_size=64, max_size=64).map("v0=".__add__),
       extra=st.dictionaries(st.sampled_from(["X-Slack-Retry-Num", "X-Slack-Retry-Reason", "Accept", "X-Forwarded-For"]),
                             header_text, max_size=2))
def test_slack_unsigned_requests_are_401_and_store_nothing(live: LiveLoop, slack: SlackHarness, body: bytes,
                                                         content_type: str, timestamp: str | None,
                                                         signature: str | None, extra: dict[str, str]) -> None:
    headers = {"Content-Type": content_type, **extra}
    if timestamp is not None:
        headers["X-Slack-Request-Timestamp"] = timestamp
    if signature is not None:
        headers["X-Slack-Signature"] = signature
    status, text = request(slack.url, "POST", "/slack/events", body, headers)
    assert status == 401, text
    assert "Traceback" not in text
    assert slack_nothing_stored(live, slack)


@FUZZ
@given(body=slack_bodies | json_values(SLACK_KEYS, SLACK_VALUES), how=st.sampled_from(["json", "payload", "form"]))
def test_slack_signed_arbitrary_bodies_never_get_a_500(live: LiveLoop, slack: SlackHarness, body: Any,
                                                       how: str) -> None:
    raw, content_type = encode_slack(body, how)
    headers = signed_headers(raw.decode(), content_type)
    status, text = request(slack.url, "POST", "/slack/events", raw, headers)
    assert status not in NEVER and status in {200, 400, 404}, (status, text)
    if status == 400:
        assert "Traceback" not in text and json.loads(text)["error"]
    workspaces = live.call(slack.app.store.list_workspaces)
    assert all(w.id for w in workspaces), "no workspace with an empty id"


# --- Teams ----------------------------------------------------------------------------------

TEAMS_KEYS = ["type", "id", "serviceUrl", "channelId", "from", "recipient", "conversation", "text", "value",
              "name", "channelData", "tenant", "entities", "membersAdded", "localTimezone", "replyToId", "aadObjectId",
              "conversationType", "reactionsAdded", "action", "data"]
TEAMS_WORDS = st.sampled_from(["message", "invoke", "conversationUpdate", "messageReaction", "msteams", "personal",
                               "adaptiveCard/action", "29:eve", "tenant-a", "standup help", "meridian me", "like"])


@pytest.fixture(scope="module")
def teams(live: LiveLoop, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TeamsWorld, ...]]:
    """Two authenticated Teams (an app id: one only ever sent unauthenticated requests, one sent the Bot Framework's
    tokens) and an emulator-mode one (no authentication, a configured connector)."""
    tmp = tmp_path_factory.mktemp("teams")
    worlds = []
    for name, app_id in (("auth", APP_ID), ("emulator", ""), ("signed", APP_ID)):
        store = live.call(lambda n=name: open_store(f"sqlite:///{tmp / n}.db"))
        world = TeamsWorld(store, START, app_id=app_id)
        live.run(world.__aenter__())
        worlds.append(world)
    yield tuple(worlds)
    for world in worlds:
        live.run(world.__aexit__(None, None, None))


def world_url(world: TeamsWorld) -> str:
    assert world.http is not None
    return str(world.http.make_url("/"))


@FUZZ
@given(body=random_bytes | json_values(TEAMS_KEYS, TEAMS_WORDS).map(lambda v: json.dumps(v).encode()),
       content_type=content_types,
       authorization=st.none() | header_text | header_text.map("Bearer ".__add__))
def test_teams_unauthenticated_requests_are_401_and_store_nothing(live: LiveLoop, teams: tuple[TeamsWorld, ...],
                                                                  body: bytes, content_type: str,
                                                                  authorization: str | None) -> None:
    world = teams[0]
    headers = {"Content-Type": content_type}
    if authorization is not None:
        headers["Authorization"] = authorization
    status, text = request(world_url(world), "POST", "/api/messages", body, headers)
    assert status == 401, text
    assert live.call(lambda: world.store.list_workspaces() == [] and world.connector.calls == [])


@FUZZ
@given(activity=st.dictionaries(st.sampled_from(TEAMS_KEYS), json_values(TEAMS_KEYS, TEAMS_WORDS), max_size=10),
       real_connector=st.booleans(), signed=st.booleans())
def test_teams_arbitrary_activities_never_get_a_500(live: LiveLoop, teams: tuple[TeamsWorld, ...],
                                                    activity: dict[str, Any], real_connector: bool,
                                                    signed: bool) -> None:
    """With the Bot Framework's token for the activity (authentication on), or in emulator mode."""
    world = teams[2] if signed else teams[1]
    if real_connector:
        activity = {**activity, "serviceUrl": world.connector.url}
    headers = {"Content-Type": "application/json"}
    if signed:
        service_url = activity.get("serviceUrl")
        headers["Authorization"] = f"Bearer {world.token({'serviceUrl': service_url})}"
    status, text = request(world_url(world), "POST", "/api/messages", json.dumps(activity).encode(), headers)
    assert status not in NEVER, (status, text)


# --- webhooks, charts, health ---------------------------------------------------------------------

HOOK_TEAM = {"sources": {"tracking": [{"kind": "mlflow", "uri": "http://mlflow.test", "experiments": ["churn-*"],
                                       "metric": "val_auc"}],
                         "monitoring": [{"kind": "evidently", "url": "http://evidently.test"}],
                         "models": [{"name": "churn-model", "owner": "alice"}],
                         "alertmanager": {"channel": "#ml-alerts"}},
             "digests": [{"kind": "drift", "channel": "#ml-team", "at": "08:05 UTC"},
                         {"kind": "experiments", "channel": "#ml-team", "at": "08:00 UTC"}]}
ALERT_KEYS = ["version", "status", "alerts", "fingerprint", "labels", "annotations", "startsAt", "endsAt",
              "generatorURL", "alertname", "receiver", "groupKey", "entity", "action", "data", "name", "alias",
              "project_name", "entity_name", "run_id", "event_type"]
ALERT_WORDS = st.sampled_from(["4", "firing", "resolved", "0001-01-01T00:00:00Z", "2027-03-15T08:12:31.512345678Z",
                               "not a time", "abc123", "model_version_alias", "created", "churn-model", "champion",
                               "churn-xgb", "${run_id}", "a/b"])


@pytest.fixture(scope="module")
def hooks(live: LiveLoop, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any, Any]]:
    tmp = tmp_path_factory.mktemp("hooks")

    def build() -> tuple[Any, Any, Any]:
        store = open_store(f"sqlite:///{tmp / 'hooks.db'}")
        app, _, chat, _ = make_app(store, START)
        digests = installed(app, lambda config: SourceSet(monitoring={"evidently": FakeMonitoring()}))
        digests.registry.configure("acme-ml", HOOK_TEAM)
        settings = Settings(webhook_token="tok3n", mlflow_webhook_secret="s3cret", public_url="http://m.test/",
                            wandb_webhook_secret="w3cret")
        return app, chat, build_web_app(app, settings, installers=[hook_routes(digests.registry)])

    app, chat, web_app = live.call(build)
    from aiohttp.test_utils import TestServer

    server = TestServer(web_app, host="127.0.0.1")
    live.run(server.start_server())
    yield str(server.make_url("/")), app, chat
    live.run(server.close())


def hooks_untouched(live: LiveLoop, app: Any, chat: Any) -> bool:
    return live.call(lambda: app.store.next_due_at() is None and chat.sent == [])


@FUZZ
@given(path=st.sampled_from(["/hooks/alertmanager", "/hooks/mlflow", "/hooks/wandb"]), body=random_bytes,
       content_type=content_types,
       headers=st.dictionaries(st.sampled_from(["Authorization", "X-MLflow-Delivery-Id", "X-MLflow-Timestamp",
                                                "X-MLflow-Signature", "X-Wandb-Signature"]), header_text, max_size=5))
def test_webhooks_without_credentials_are_401_and_queue_nothing(live: LiveLoop, hooks: tuple[str, Any, Any], path: str,
                                                                body: bytes, content_type: str,
                                                                headers: dict[str, str]) -> None:
    base, app, chat = hooks
    status, text = request(base, "POST", path, body, {"Content-Type": content_type, **headers})
    assert status == 401, text
    assert hooks_untouched(live, app, chat)


@FUZZ
@given(body=json_values(ALERT_KEYS, ALERT_WORDS), workspace=st.none() | st.text(max_size=12),
       hook=st.sampled_from(["alertmanager", "mlflow", "wandb"]))
def test_authenticated_webhooks_with_arbitrary_bodies_never_get_a_500(live: LiveLoop, hooks: tuple[str, Any, Any],
                                                                      body: Any, workspace: str | None,
                                                                      hook: str) -> None:
    base, _, _ = hooks
    raw = json.dumps(body)
    if hook == "alertmanager":
        headers = {"Authorization": "Bearer tok3n", "Content-Type": "application/json"}
    elif hook == "wandb":
        headers = {"X-Wandb-Signature": wandb_signature("w3cret", raw.encode()), "Content-Type": "application/json"}
    else:
        stamp = str(int(time.time()))
        headers = {"X-MLflow-Delivery-Id": "d-1", "X-MLflow-Timestamp": stamp, "Content-Type": "application/json",
                   "X-MLflow-Signature": mlflow_signature("s3cret", "d-1", stamp, raw)}
    query = f"?workspace={quote(workspace)}" if workspace is not None else ""
    status, text = request(base, "POST", f"/hooks/{hook}{query}", raw.encode(), headers)
    assert status not in NEVER, (status, text)
    assert status in {200, 202, 400, 404, 413}, (status, text)


@FUZZ
@given(workspace=st.text(max_size=30), chart=st.text(max_size=30))
def test_chart_paths_of_any_text_are_a_png_or_a_404(live: LiveLoop, hooks: tuple[str, Any, Any], workspace: str,
                                                    chart: str) -> None:
    base, _, _ = hooks
    status, text = request(base, "GET", f"/charts/{quote(workspace, safe='')}/{quote(chart, safe='')}.png")
    assert status in {200, 404}, (status, text)


def test_health_and_metrics_answer_whatever_the_headers(hooks: tuple[str, Any, Any]) -> None:
    base, _, _ = hooks
    for path in ("/healthz", "/metrics"):
        status, _ = request(base, "GET", path, headers={"Authorization": "Bearer junk", "X-Slack-Signature": "x"})
        assert status == 200


