"""Every model-registry webhook event a real MLflow server sends, signed by it, delivered over HTTP to the hook
route and posted with the version's metric against the champion."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from adapters.sources.factory import source_factory
from adapters.web.hooks import add_hook_routes
from bot.settings import Settings
from tests.digest_fakes import installed, make_app
from tests.integration.services import finished_runs

pytestmark = pytest.mark.services

EVENTS = ["registered_model.created", "model_version.created", "model_version_tag.set", "model_version_tag.deleted",
          "model_version_alias.created", "model_version_alias.deleted"]


def team(url: str) -> dict[str, Any]:
    return {"sources": {"tracking": [{"kind": "mlflow", "uri": url, "experiments": ["reg-*"], "metric": "val_auc",
                                      "models": ["reg-model"], "events": False}]},
            "digests": [{"kind": "experiments", "channel": "#ml-team", "at": "08:00 UTC"}]}


def plain(text: str) -> str:
    return re.sub(r" \(http://[^ )]*\)", "", text)


async def test_every_registry_event_of_the_real_server_is_posted_with_the_champion(mlflow_server,
                                                                                 sqlite_store) -> None:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=mlflow_server.url, registry_uri=mlflow_server.url)
    exp = client.create_experiment("reg-churn")
    runs = finished_runs(client, exp, {"r1": 0.88, "r2": 0.91})
    app, _, chat, _ = make_app(sqlite_store, datetime.now(UTC))
    digests = installed(app, source_factory(Settings()))
    service = digests.registry.configure("acme-ml", team(mlflow_server.url))
    web_app = web.Application()
    add_hook_routes(web_app, app, Settings(mlflow_webhook_secret="s3cret"), digests.registry)
    server = TestServer(web_app, host="127.0.0.1")
    await server.start_server()
    hook = client.create_webhook("meridian", str(server.make_url("/hooks/mlflow")), events=EVENTS, secret="s3cret")
    posted: list[str] = []

    async def then(action: Any, *args: Any) -> str:
        """Do one registry action with the real client and wait for its one post."""
        await asyncio.to_thread(action, *args)
        for _ in range(150):
            if len(chat.sent) > len(posted):
                break
            await asyncio.sleep(0.1)
        assert len(chat.sent) == len(posted) + 1, (action, [s.message.fallback for s in chat.sent])
        posted.append(plain(chat.sent[-1].message.fallback))
        return posted[-1]

    try:
        await asyncio.sleep(1.2)  # past the server's one-second webhook cache
        assert await then(client.create_registered_model, "reg-model") == "🆕 reg-model created in the model registry."
        v1 = await then(client.create_model_version, "reg-model", f"runs:/{runs['r1']}/model", runs["r1"])
        assert v1 == f"📦 reg-model v1 registered from run {runs['r1']} — val_auc 0.88; no champion to compare with."
        assert await then(client.set_registered_model_alias, "reg-model", "champion", "1") == \
            "🏆 reg-model v1 promoted to champion — val_auc 0.88."
        v2 = await then(client.create_model_version, "reg-model", f"runs:/{runs['r2']}/model", runs["r2"])
        assert v2 == (f"📦 reg-model v2 registered from run {runs['r2']} — val_auc 0.91 against 0.88 for champion v1 "
                      "(+0.03, better).")
        assert await then(client.set_model_version_tag, "reg-model", "2", "validation", "passed") == \
            "🏷 reg-model v2 tagged validation=passed — val_auc 0.91 against 0.88 for champion v1 (+0.03, better)."
        assert await then(client.delete_model_version_tag, "reg-model", "2", "validation") == \
            "🏷 reg-model v2: tag validation removed."
        assert await then(client.set_registered_model_alias, "reg-model", "champion", "2") == \
            "🏆 reg-model v2 promoted to champion (was v1) — val_auc 0.91 against 0.88 for v1 (+0.03, better)."
        assert await then(client.set_registered_model_alias, "reg-model", "challenger", "1") == \
            "🔀 reg-model@challenger now points to v1 — val_auc 0.88 against 0.91 for champion v2 (−0.03, worse)."
        assert await then(client.delete_registered_model_alias, "reg-model", "challenger") == \
            "🔀 reg-model@challenger removed (was v1)."
        assert {s.channel for s in chat.sent} == {"#ml-team"}
        links = [s.message.fallback for s in chat.sent if "/#/models/reg-model/versions/2" in s.message.fallback]
        assert len(links) == 3, "registered, tagged, promoted: the version links to its page in the MLflow UI"
    finally:
        client.delete_webhook(hook.webhook_id)
        await server.close()
        await service.close()
