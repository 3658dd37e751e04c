"""Alertmanager: webhook (version 4) bodies → ``AlertEvent`` records; silences through its API v2.

The API shapes are Alertmanager's ``api/v2/openapi.yaml``: ``POST /api/v2/silences`` takes a
``postableSilence`` (``matchers`` — at least one, each ``name``, ``value``, ``isRegex``, ``isEqual`` —
``startsAt``, ``endsAt``, ``createdBy``, ``comment``) and answers ``{"silenceID": …}``; a refusal is 400
with a JSON string body (``"Failed to create silence: start time must be before end time"``), a body
the schema refuses is 422. ``GET /api/v2/silence/{id}`` is a ``gettableSilence`` (``status.state``
active, pending or expired) or 404; ``DELETE /api/v2/silence/{id}`` expires it (200; an expired one
stays expired). Alertmanager 0.25 answers an unknown id on DELETE with 500 ``"silence not found"``,
later versions with 404: the buttons read the silence first, so neither is taken for an outage.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from adapters.sources.http import HttpSource
from bot.digests.config import AlertmanagerConfig
from bot.digests.sources import AlertEvent, Silence, SilenceRefused, SourceUnavailable


class WebhookBodyError(ValueError):
    """The body is not an Alertmanager webhook; the message says what is wrong."""


RFC3339 = re.compile(r"(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})")
"""Go's ``time.RFC3339Nano``, the format Alertmanager writes (fractions of any length)."""


def _instant(text: Any) -> datetime | None:
    """An RFC 3339 time; Alertmanager's zero time (``0001-01-01T00:00:00Z``) and null mean "not set"."""
    if text is None:
        return None
    match = RFC3339.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"not an RFC 3339 time: {text!r}")
    day, clock, fraction, zone = match.groups()
    if day == "0001-01-01":
        return None
    zone = "+00:00" if zone in "Zz" else zone
    # Go writes nanoseconds; Python takes at most microseconds.
    value = datetime.fromisoformat(f"{day}T{clock}.{(fraction or '0')[:6].ljust(6, '0')}{zone}")
    return value.astimezone(UTC)


def parse_webhook(body: Any) -> list[AlertEvent]:
    if not isinstance(body, dict) or not isinstance(body.get("alerts"), list):
        raise WebhookBodyError("expected an Alertmanager webhook with an `alerts` list")
    if body.get("version", "4") != "4":
        raise WebhookBodyError(f"unsupported webhook version {body.get('version')!r}; expected 4")
    events = []
    for i, alert in enumerate(body["alerts"]):
        if not isinstance(alert, dict) or not isinstance(alert.get("fingerprint"), str) or not alert["fingerprint"] \
                or alert.get("status") not in ("firing", "resolved"):
            raise WebhookBodyError(f"alert {i} needs a fingerprint and a status of firing or resolved")
        if not all(isinstance(alert.get(f), str | None) for f in ("startsAt", "endsAt", "generatorURL")):
            raise WebhookBodyError(f"alert {i}: startsAt, endsAt and generatorURL are text")
        if not all(isinstance(alert.get(f), dict | None) for f in ("labels", "annotations")):
            raise WebhookBodyError(f"alert {i}: labels and annotations must be objects")
        labels = {str(k): str(v) for k, v in (alert.get("labels") or {}).items()}
        try:
            starts_at, ends_at = _instant(alert.get("startsAt")), _instant(alert.get("endsAt"))
        except (ValueError, OverflowError):
            raise WebhookBodyError(f"alert {i}: startsAt and endsAt must be RFC 3339 times") from None
        url = alert.get("generatorURL")
        events.append(AlertEvent(
            fingerprint=str(alert["fingerprint"]), status=alert["status"],
            name=labels.get("alertname", "alert"), labels=labels,
            annotations={str(k): str(v) for k, v in (alert.get("annotations") or {}).items()},
            starts_at=starts_at, ends_at=ends_at, url=str(url) if url else None))
    return events


def rfc3339(instant: datetime) -> str:
    """UTC with a ``Z``, to the millisecond, as Alertmanager writes its own times."""
    return instant.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _refusal(payload: Any) -> str:
    if isinstance(payload, str):
        return payload
    if isinstance(payload, dict) and payload.get("message"):
        return str(payload["message"])
    return "the request was refused"


class AlertmanagerApi:
    """Alertmanager's silences over its API v2 (the ``Silences`` port)."""

    name = "Alertmanager"

    def __init__(self, config: AlertmanagerConfig) -> None:
        if not config.url:
            raise ValueError("an Alertmanager API needs a URL")
        self.http = HttpSource(self.name, config.url, config.timeout.total_seconds())

    async def create(self, matchers: Mapping[str, str], starts_at: datetime, ends_at: datetime,
                     created_by: str, comment: str) -> str:
        body = {"matchers": [{"name": k, "value": v, "isRegex": False, "isEqual": True}
                             for k, v in sorted(matchers.items())],
                "startsAt": rfc3339(starts_at), "endsAt": rfc3339(ends_at),
                "createdBy": created_by, "comment": comment}
        status, payload = await self.http.call("POST", "/api/v2/silences", body=body)
        if status >= 300:
            raise SilenceRefused(_refusal(payload))
        if not isinstance(payload, dict) or not isinstance(payload.get("silenceID"), str):
            raise SourceUnavailable(self.name, "the silence was created without an id in the answer")
        return payload["silenceID"]

    async def get(self, silence_id: str) -> Silence | None:
        status, payload = await self.http.call("GET", f"/api/v2/silence/{silence_id}")
        if status in (404, 422):
            return None
        if status >= 300 or not isinstance(payload, dict):
            raise SourceUnavailable(self.name, f"HTTP {status} reading silence {silence_id}")
        state = (payload.get("status") or {}).get("state")
        ends = _instant(payload.get("endsAt"))
        if state not in ("active", "pending", "expired") or ends is None:
            raise SourceUnavailable(self.name, f"silence {silence_id} has no state or end")
        return Silence(id=str(payload.get("id", silence_id)), state=state, ends_at=ends,
                       created_by=str(payload.get("createdBy", "")))

    async def expire(self, silence_id: str) -> None:
        status, payload = await self.http.call("DELETE", f"/api/v2/silence/{silence_id}")
        if status >= 300 and status != 404:
            raise SilenceRefused(_refusal(payload))

    async def firing(self, labels: Mapping[str, str]) -> bool:
        """``GET /api/v2/alerts`` lists the alerts not yet resolved (silenced and inhibited ones too); the
        filter narrows them by name and the labels are compared here, whole."""
        params = {"filter": f'alertname="{matcher_value(labels["alertname"])}"'} if "alertname" in labels else {}
        status, payload = await self.http.call("GET", "/api/v2/alerts", params=params)
        if status >= 300 or not isinstance(payload, list):
            raise SourceUnavailable(self.name, f"HTTP {status} reading alerts")
        wanted = dict(labels)
        return any(isinstance(a, dict) and a.get("labels") == wanted for a in payload)

    async def close(self) -> None:
        await self.http.close()


def matcher_value(value: str) -> str:
    """A label value inside a quoted matcher (``name="value"``), escaped as Alertmanager's parser reads it."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
