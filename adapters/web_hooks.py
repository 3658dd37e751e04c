"""Webhook routes for ``meridian serve``: ``POST /hooks/alertmanager`` and ``POST /hooks/mlflow``.

Alertmanager sends no signature, so its requests carry a bearer token
(``MERIDIAN_WEBHOOK_TOKEN``, set in its ``http_config``). MLflow registry webhooks are
signed: ``X-MLflow-Signature: v1,<base64 HMAC-SHA256(secret, "{delivery id}.{timestamp}.{body}")>``
with the secret given when the webhook was created (``MLFLOW_WEBHOOK_SECRET``); deliveries
older than five minutes are refused so a captured request cannot be replayed.

The workspace is the ``?workspace=`` query parameter, or the only workspace with digests.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import time
from typing import Any

from aiohttp import web

from adapters.alertmanager import WebhookBodyError, parse_webhook
from bot.app import Meridian
from bot.digest_service import Digests, DigestService

log = logging.getLogger("meridian.hooks")

MAX_SKEW_SECONDS = 300


def mlflow_signature(secret: str, delivery_id: str, timestamp: str, body: str) -> str:
    digest = hmac.new(secret.encode(), f"{delivery_id}.{timestamp}.{body}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def _problem(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _workspace_service(meridian: Meridian, request: web.Request) -> DigestService | None:
    registry: Digests | None = meridian.services.get("digests")
    if registry is None:
        return None
    wanted = request.query.get("workspace")
    if wanted:
        return registry.get(wanted)
    services = [s for s in (registry.get(w.id) for w in meridian.store.list_workspaces()) if s is not None]
    return services[0] if len(services) == 1 else None


def add_hook_routes(web_app: web.Application, meridian: Meridian, settings: Any) -> None:
    token = str(getattr(settings, "webhook_token", "") or "")
    secret = str(getattr(settings, "mlflow_webhook_secret", "") or os.environ.get("MLFLOW_WEBHOOK_SECRET", ""))

    async def alertmanager(request: web.Request) -> web.Response:
        given = request.headers.get("Authorization", "")
        if not token or not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return _problem(401, "a valid bearer token is required")
        service = _workspace_service(meridian, request)
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
        service = _workspace_service(meridian, request)
        if service is None:
            return _problem(404, "no workspace with digests matches; add ?workspace=ID")
        try:
            event = json.loads(body)
            posted = await service.registry_event(str(event["entity"]), str(event["action"]),
                                                  event.get("data") or {}, delivery)
        except (ValueError, KeyError, TypeError):
            return _problem(400, "expected an MLflow webhook body with entity, action and data")
        return web.json_response({"posted": posted})

    web_app.router.add_post("/hooks/alertmanager", alertmanager)
    web_app.router.add_post("/hooks/mlflow", mlflow)
