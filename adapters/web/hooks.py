"""Routes for ``meridian serve``: ``POST /hooks/alertmanager``, ``POST /hooks/mlflow``, ``GET /charts/…``.

Alertmanager sends no signature, so its requests carry a bearer token
(``MERIDIAN_WEBHOOK_TOKEN``, set in its ``http_config``). MLflow registry webhooks are
signed: ``X-MLflow-Signature: v1,<base64 HMAC-SHA256(secret, "{delivery id}.{timestamp}.{body}")>``
with the secret given when the webhook was created (``MLFLOW_WEBHOOK_SECRET``); deliveries
older than five minutes are refused so a captured request cannot be replayed.

The workspace is the ``?workspace=`` query parameter, or the only workspace with digests.

Trend charts are served from ``MERIDIAN_PUBLIC_URL/charts/{workspace}/{id}.png``: the
digest stores the series under an id derived from its values, and the route draws it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable

from aiohttp import web

from adapters.sources.alertmanager import WebhookBodyError, parse_webhook
from adapters.web.charts import bar_chart_png
from bot.digests.sources import WebhookReceiver, WebhookReceivers
from bot.kernel.app import Meridian
from bot.settings import Settings

log = logging.getLogger("meridian.hooks")

MAX_SKEW_SECONDS = 300


def mlflow_signature(secret: str, delivery_id: str, timestamp: str, body: str) -> str:
    digest = hmac.new(secret.encode(), f"{delivery_id}.{timestamp}.{body}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def _problem(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _workspace_service(registry: WebhookReceivers, request: web.Request) -> WebhookReceiver | None:
    wanted = request.query.get("workspace")
    if wanted:
        return registry.get(wanted)
    configured = registry.configured()
    return registry.get(configured[0]) if len(configured) == 1 else None


RouteInstaller = Callable[[web.Application, Meridian, Settings], None]


def hook_routes(registry: WebhookReceivers) -> RouteInstaller:
    """The webhook and chart routes over the digests' registry, as ``build_web_app`` installs routes."""

    def install(web_app: web.Application, meridian: Meridian, settings: Settings) -> None:
        add_hook_routes(web_app, meridian, settings, registry)

    return install


def add_hook_routes(web_app: web.Application, meridian: Meridian, settings: Settings,
                    registry: WebhookReceivers) -> None:
    token = settings.webhook_token
    secret = settings.mlflow_webhook_secret

    async def alertmanager(request: web.Request) -> web.Response:
        given = request.headers.get("Authorization", "")
        if not token or not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return _problem(401, "a valid bearer token is required")
        service = _workspace_service(registry, request)
        if service is None:
            return _problem(404, "no workspace with digests matches; add ?workspace=ID")
        try:
            events = parse_webhook(await request.json())
        except (ValueError, WebhookBodyError) as err:
            return _problem(400, str(err))
        sent = await service.alerts_received(events)
        return web.json_response({"alerts": len(events), "posted": sent})

    async def mlflow(request: web.Request) -> web.Response:
        body = await request.text()
        delivery = request.headers.get("X-MLflow-Delivery-Id", "")
        stamp = request.headers.get("X-MLflow-Timestamp", "")
        given = request.headers.get("X-MLflow-Signature", "")
        if not secret or not delivery or not stamp.isdigit():
            return _problem(401, "a signed MLflow webhook delivery is required")
        if not hmac.compare_digest(given.encode(), mlflow_signature(secret, delivery, stamp, body).encode()):
            return _problem(401, "bad signature")
        if abs(time.time() - int(stamp)) > MAX_SKEW_SECONDS:
            return _problem(401, "delivery timestamp is too old")
        service = _workspace_service(registry, request)
        if service is None:
            return _problem(404, "no workspace with digests matches; add ?workspace=ID")
        try:
            event = json.loads(body)
            posted = await service.registry_event(str(event["entity"]), str(event["action"]),
                                                  event.get("data") or {}, delivery)
        except (ValueError, KeyError, TypeError):
            return _problem(400, "expected an MLflow webhook body with entity, action and data")
        return web.json_response({"posted": posted})

    async def chart(request: web.Request) -> web.Response:
        chart_id = request.match_info["chart"]
        if not chart_id.isalnum():
            return _problem(404, "no such chart")
        series = meridian.store.kv_get(request.match_info["workspace"], f"chart:{chart_id}")
        if not isinstance(series, list):
            return _problem(404, "no such chart")
        return web.Response(body=bar_chart_png(series), content_type="image/png",
                            headers={"Cache-Control": "public, max-age=86400"})

    web_app.router.add_post("/hooks/alertmanager", alertmanager)
    web_app.router.add_post("/hooks/mlflow", mlflow)
    web_app.router.add_get("/charts/{workspace}/{chart}.png", chart)
