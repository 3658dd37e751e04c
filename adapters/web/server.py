"""The HTTP server of ``meridian serve``: health, metrics, and the routes chat adapters mount.

The scheduler runs inside the server's event loop when asked (APScheduler's asyncio
scheduler must start with a running loop, so it starts in ``on_startup``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from aiohttp import web

from bot.kernel import metrics
from bot.kernel.app import Meridian

log = logging.getLogger("meridian.web")

MERIDIAN_KEY = web.AppKey("meridian", Meridian)
RouteInstaller = Callable[[web.Application, Meridian, Any], None]
TICK_SECONDS = 10


def start_scheduler(app: Meridian, interval: float = TICK_SECONDS) -> Any:
    """APScheduler calls the engine's tick on an interval; the engine itself decides what is due."""
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    scheduler = AsyncIOScheduler(timezone="UTC")
    scheduler.add_job(app.engine.tick, "interval", seconds=interval, id="meridian-tick", max_instances=1,
                      coalesce=True, misfire_grace_time=None, next_run_time=app.now())
    # Beside the tick, not in it: a long fan-out must not look like a dead worker.
    scheduler.add_job(app.engine.heartbeat, "interval", seconds=app.engine.settings.heartbeat.total_seconds(),
                      id="meridian-heartbeat", max_instances=1, coalesce=True, misfire_grace_time=None)
    scheduler.start()
    return scheduler


def build_web_app(app: Meridian, settings: Any = None, with_scheduler: bool = False,
                  installers: list[RouteInstaller] | None = None) -> web.Application:
    web_app = web.Application(client_max_size=8 * 1024 * 1024)
    web_app[MERIDIAN_KEY] = app

    async def healthz(_request: web.Request) -> web.Response:
        try:
            app.store.get_workspace("_health")
        except Exception as err:
            log.warning("health check: database unreachable: %s", type(err).__name__)
            return web.json_response({"status": "unhealthy", "database": "unreachable"}, status=503)
        return web.json_response({"status": "ok", "database": "ok"})

    async def metrics_view(_request: web.Request) -> web.Response:
        return web.Response(text=metrics.render(), content_type="text/plain", charset="utf-8",
                            headers={"X-Content-Type-Options": "nosniff"})

    @web.middleware
    async def count_requests(request: web.Request, handler: Any) -> web.StreamResponse:
        route = request.match_info.route.resource.canonical if request.match_info.route.resource else "unmatched"
        metrics.inc("meridian_http_requests_total", route=route)
        response: web.StreamResponse = await handler(request)
        return response

    web_app.middlewares.append(count_requests)
    web_app.router.add_get("/healthz", healthz)
    web_app.router.add_get("/metrics", metrics_view)
    for install in installers or []:
        install(web_app, app, settings)
    if with_scheduler:
        async def on_startup(_web_app: web.Application) -> None:
            web_app["scheduler"] = start_scheduler(app)

        async def on_cleanup(_web_app: web.Application) -> None:
            scheduler = web_app.get("scheduler")
            if scheduler is not None:
                scheduler.shutdown(wait=False)

        web_app.on_startup.append(on_startup)
        web_app.on_cleanup.append(on_cleanup)
    return web_app
