"""Routes for ``meridian serve``: ``POST /hooks/alertmanager``, ``/hooks/mlflow``, ``/hooks/wandb``, ``GET /charts/…``.

Alertmanager sends no signature, so its requests carry a bearer token
(``MERIDIAN_WEBHOOK_TOKEN``, set in its ``http_config``). MLflow registry webhooks are
signed: ``X-MLflow-Signature: v1,<base64 HMAC-SHA256(secret, "{delivery id}.{timestamp}.{body}")>``
with the secret given when the webhook was created (``MLFLOW_WEBHOOK_SECRET``); deliveries
older than five minutes are refused so a captured request cannot be replayed.
W&B's Automations webhooks carry the webhook's access token as ``Authorization: Bearer …`` and,
when the webhook has a secret, ``X-Wandb-Signature: <base64 HMAC-SHA256(secret, body)>``; either,
made with ``WANDB_WEBHOOK_SECRET``, is accepted. Their body is the payload template the user
pasted (``docs/sources.md``); only the project and run are taken from it, and the run is read back
from W&B, so a forged or stale state in the body tells nothing, and a retried delivery finds its
messages already in the outbox.

The workspace is the ``?workspace=`` query parameter, or the only workspace with digests.

An Alertmanager delivery is answered at once (202) and its alerts are posted from a durable
queue (the due work), so a large group never holds the request open and a restart loses
nothing. A delivery is bounded: at most ``MAX_ALERTS`` alerts and ``MAX_BODY_BYTES`` of body
(413 past either; set ``max_alerts`` in Alertmanager's ``webhook_config`` to stay under it).
Authentication is checked before the body is read.

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
from typing import Any

from aiohttp import web

from adapters.sources.alertmanager import WebhookBodyError, parse_webhook
from adapters.web.charts import bar_chart_png
from bot.digests.sources import SourceUnavailable, WebhookReceiver, WebhookReceivers
from bot.kernel.app import Meridian
from bot.settings import Settings

log = logging.getLogger("meridian.hooks")

MAX_SKEW_SECONDS = 300
MAX_ALERTS = 1000
"""Alerts in one Alertmanager delivery; more is a 413 (Alertmanager's ``max_alerts`` keeps it under)."""
MAX_BODY_BYTES = 2 * 1024 * 1024
"""Body of one webhook delivery (Alertmanager or MLflow); more is a 413."""


class BodyTooLarge(Exception):
    """The body is past ``MAX_BODY_BYTES``."""


async def read_bounded(request: web.Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The body, refused (without reading the rest) as soon as it is past ``limit``."""
    if request.content_length is not None and request.content_length > limit:
        raise BodyTooLarge
    if request.content.at_eof():  # read already (``meridian serve`` reads bodies before the core loop runs this)
        raw = await request.read()
        if len(raw) > limit:
            raise BodyTooLarge
        return raw
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large() -> web.Response:
    return _problem(413, f"a webhook body is at most {MAX_BODY_BYTES} bytes and {MAX_ALERTS} alerts")


def mlflow_signature(secret: str, delivery_id: str, timestamp: str, body: str) -> str:
    digest = hmac.new(secret.encode(), f"{delivery_id}.{timestamp}.{body}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def wandb_signature(secret: str, body: bytes) -> str:
    """``X-Wandb-Signature`` as W&B computes it: base64 of HMAC-SHA256 over the body with the webhook's secret."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


class WandbBodyError(ValueError):
    """A W&B delivery that is not the documented payload template; the message says what is wrong."""


def _template_value(body: dict[str, Any], key: str) -> str | None:
    """A filled-in template variable; ``None`` when absent, empty or left unfilled (``"${run_id}"``)."""
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise WandbBodyError(f"{key} must be a string")
    if len(value) > 200 or "/" in value:
        raise WandbBodyError(f"{key} is not a W&B name (at most 200 characters, no /)")
    return None if not value or value.startswith("${") else value


def parse_wandb(raw: bytes) -> tuple[str | None, str, str | None, str | None]:
    """(entity, project, run id, event type) of a W&B Automations delivery."""
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeError) as err:
        raise WandbBodyError("the body is not JSON") from err
    if not isinstance(body, dict):
        raise WandbBodyError("the body is a JSON object (the payload template in docs/sources.md)")
    project = _template_value(body, "project_name")
    if project is None:
        raise WandbBodyError("project_name is required (\"project_name\": \"${project_name}\")")
    return (_template_value(body, "entity_name"), project, _template_value(body, "run_id"),
            _template_value(body, "event_type"))


def _problem(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _bytes(header: str) -> bytes:
    """A header as bytes, whatever it holds (aiohttp keeps undecodable bytes as surrogates)."""
    return header.encode("utf-8", "surrogateescape")


def plausible_id(value: str) -> bool:
    """Could this name a workspace or a chart? Anything else is not looked up at all (a NUL byte, say,
    which PostgreSQL refuses with an error rather than a miss)."""
    return 0 < len(value) <= 200 and value.isprintable()


def _workspace_service(registry: WebhookReceivers, request: web.Request) -> WebhookReceiver | None:
    wanted = request.query.get("workspace")
    if wanted:
        return registry.get(wanted) if plausible_id(wanted) else None
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
    wandb_secret = settings.wandb_webhook_secret

    async def alertmanager(request: web.Request) -> web.Response:
        given = request.headers.get("Authorization", "")
        if not token or not hmac.compare_digest(_bytes(given), f"Bearer {token}".encode()):
            return _problem(401, "a valid bearer token is required")
        if request.content_type != "application/json":
            return _problem(415, "an Alertmanager webhook is application/json")
        try:
            raw = await read_bounded(request)
        except BodyTooLarge:
            return _too_large()
        service = _workspace_service(registry, request)
        if service is None:
            return _problem(404, "no workspace with digests matches; add ?workspace=ID")
        try:
            body = json.loads(raw)
            if isinstance(body, dict) and isinstance(body.get("alerts"), list) and len(body["alerts"]) > MAX_ALERTS:
                return _too_large()
            events = parse_webhook(body)
        except (ValueError, WebhookBodyError) as err:
            return _problem(400, str(err) if isinstance(err, WebhookBodyError) else "the body is not JSON")
        queued = await service.alerts_received(events) if events else 0
        return web.json_response({"alerts": len(events), "queued": queued}, status=202)

    async def mlflow(request: web.Request) -> web.Response:
        delivery = request.headers.get("X-MLflow-Delivery-Id", "")
        stamp = request.headers.get("X-MLflow-Timestamp", "")
        given = request.headers.get("X-MLflow-Signature", "")
        if not secret or not delivery or not (stamp.isascii() and stamp.isdigit()) or len(stamp) > 12:
            return _problem(401, "a signed MLflow webhook delivery is required")
        try:
            raw = await read_bounded(request)
        except BodyTooLarge:
            return _too_large()
        try:
            expected = mlflow_signature(secret, delivery, stamp, raw.decode("utf-8"))
        except (UnicodeError, ValueError):
            return _problem(401, "bad signature")
        if not hmac.compare_digest(_bytes(given), expected.encode()):
            return _problem(401, "bad signature")
        if abs(time.time() - int(stamp)) > MAX_SKEW_SECONDS:
            return _problem(401, "delivery timestamp is too old")
        service = _workspace_service(registry, request)
        if service is None:
            return _problem(404, "no workspace with digests matches; add ?workspace=ID")
        try:
            event = json.loads(raw)
            posted = await service.registry_event(str(event["entity"]), str(event["action"]),
                                                  event.get("data") or {}, delivery)
        except (ValueError, KeyError, TypeError, AttributeError):
            return _problem(400, "expected an MLflow webhook body with entity, action and data")
        return web.json_response({"posted": posted})

    async def wandb(request: web.Request) -> web.Response:
        bearer = request.headers.get("Authorization", "")
        signature = request.headers.get("X-Wandb-Signature", "")
        if not wandb_secret or not (bearer or signature):
            return _problem(401, "a W&B webhook with its access token or signature is required")
        try:
            raw = await read_bounded(request)
        except BodyTooLarge:
            return _too_large()
        token_ok = bool(bearer) and hmac.compare_digest(_bytes(bearer), f"Bearer {wandb_secret}".encode())
        signed_ok = bool(signature) and hmac.compare_digest(_bytes(signature),
                                                           wandb_signature(wandb_secret, raw).encode())
        if not (token_ok or signed_ok):
            return _problem(401, "bad access token or signature")
        service = _workspace_service(registry, request)
        if service is None:
            return _problem(404, "no workspace with digests matches; add ?workspace=ID")
        try:
            entity, project, run_id, event_type = parse_wandb(raw)
        except WandbBodyError as err:
            return _problem(400, str(err))
        try:
            told = await service.run_changed("wandb", entity, project, run_id)
        except SourceUnavailable as err:
            log.warning("W&B webhook for %s: %s", project, err)
            return web.json_response({"events": 0, "deferred": "W&B did not answer; the next poll catches up"},
                                     status=202)
        if told is None:
            where = f"{entity}/{project}" if entity else project
            return web.json_response({"events": 0, "ignored": f"no W&B source with events watches {where}"})
        return web.json_response({"events": told, "event_type": event_type})

    async def chart(request: web.Request) -> web.Response:
        chart_id = request.match_info["chart"]
        if not (chart_id.isascii() and chart_id.isalnum()) or not plausible_id(request.match_info["workspace"]):
            return _problem(404, "no such chart")
        series = meridian.store.kv_get(request.match_info["workspace"], f"chart:{chart_id}")
        if not isinstance(series, list):
            return _problem(404, "no such chart")
        return web.Response(body=bar_chart_png(series), content_type="image/png",
                            headers={"Cache-Control": "public, max-age=86400"})

    web_app.router.add_post("/hooks/alertmanager", alertmanager)
    web_app.router.add_post("/hooks/mlflow", mlflow)
    web_app.router.add_post("/hooks/wandb", wandb)
    web_app.router.add_get("/charts/{workspace}/{chart}.png", chart)
