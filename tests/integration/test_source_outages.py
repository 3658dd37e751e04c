"""A tracking server that answers 500, hangs, or is not there: one line, a retry, and nothing else stops."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from adapters.sources.factory import source_factory
from adapters.sources.mlflow import MLflowSource
from bot.digests.config import parse_sources
from bot.digests.sources import SourceUnavailable
from bot.kernel.ports import ClaimedItem
from bot.settings import Settings
from tests.digest_fakes import installed, make_app
from tests.integration.services import free_port

NOW = datetime(2027, 3, 15, 8, 0, tzinfo=UTC)


class BrokenMlflow:
    """Answers experiments/search normally and runs/search with a 500 or not at all."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.searches = 0

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/api/2.0/mlflow/experiments/search", self.experiments)
        app.router.add_post("/api/2.0/mlflow/runs/search", self.runs)
        return app

    async def experiments(self, request: web.Request) -> web.Response:
        return web.json_response({"experiments": [{"experiment_id": "1", "name": "churn-a"}]})

    async def runs(self, request: web.Request) -> web.Response:
        self.searches += 1
        if self.mode == "hang":
            await asyncio.sleep(30)
        return web.json_response({"error_code": "INTERNAL_ERROR", "message": "database is locked"}, status=500)


def team(url: str) -> dict[str, Any]:
    return {"sources": {"tracking": [{"kind": "mlflow", "uri": url, "experiments": ["churn-*"], "metric": "val_auc",
                                      "timeout": "1s"}]},
            "digests": [{"kind": "experiments", "channel": "#ml", "at": "08:00 UTC"}]}


@pytest.mark.parametrize("mode", ["error", "hang"])
async def test_broken_server_gives_one_line_and_a_retry(mode: str, sqlite_store) -> None:
    broken = BrokenMlflow(mode)
    server = TestServer(broken.app())
    await server.start_server()
    app, store, chat, _ = make_app(sqlite_store, NOW)
    service = installed(app, source_factory(Settings())).registry.configure("acme-ml", team(str(server.make_url("")).rstrip("/")))
    try:
        key = "digest:experiments:acme-ml:#ml:2027-03-15"
        await app.due_handlers["digest.experiments"](app, ClaimedItem(1, key, "digest.experiments", "acme-ml", NOW,
                                                                      {"channel": "#ml"}, 0))
        assert chat.texts() == ["⚠️ MLflow unavailable since 08:00 — retrying with backoff."]
        assert store.due_status(f"{key}:retry:1") == "pending"
        before = broken.searches
        # Within the fail-fast window a second digest does not wait on the broken server again.
        run = await service.experiments()
        assert run.down == ["mlflow"] and broken.searches == before
    finally:
        await service.close()
        await server.close()


async def test_nothing_listening_is_unavailable_not_a_crash() -> None:
    config = parse_sources(team(f"http://127.0.0.1:{free_port()}")).tracking[0]
    source = MLflowSource(config)
    with pytest.raises(SourceUnavailable, match="MLflow unavailable: ClientConnectorError"):
        await source.experiments(["churn-*"])
    await source.close()
