"""Alertmanager webhook (version 4) bodies → ``AlertEvent`` records."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.digests.sources import AlertEvent


class WebhookBodyError(ValueError):
    """The body is not an Alertmanager webhook; the message says what is wrong."""


def _instant(text: Any) -> datetime | None:
    """Alertmanager's zero time (``0001-01-01T00:00:00Z``) means "not set"."""
    if not text or not isinstance(text, str) or text.startswith("0001-01-01"):
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        # Go writes nanoseconds; Python takes at most microseconds.
        head, _, rest = text.partition(".")
        digits = "".join(ch for ch in rest if ch.isdigit())[:6]
        zone = rest[len("".join(ch for ch in rest if ch.isdigit())):] or "Z"
        value = datetime.fromisoformat(f"{head}.{digits or '0'}{zone}".replace("Z", "+00:00"))
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def parse_webhook(body: Any) -> list[AlertEvent]:
    if not isinstance(body, dict) or not isinstance(body.get("alerts"), list):
        raise WebhookBodyError("expected an Alertmanager webhook with an `alerts` list")
    if str(body.get("version", "4")) != "4":
        raise WebhookBodyError(f"unsupported webhook version {body.get('version')!r}; expected 4")
    events = []
    for i, alert in enumerate(body["alerts"]):
        if not isinstance(alert, dict) or not alert.get("fingerprint") or alert.get("status") not in {"firing",
                                                                                                     "resolved"}:
            raise WebhookBodyError(f"alert {i} needs a fingerprint and a status of firing or resolved")
        if not all(isinstance(alert.get(f) or {}, dict) for f in ("labels", "annotations")):
            raise WebhookBodyError(f"alert {i}: labels and annotations must be objects")
        labels = {str(k): str(v) for k, v in (alert.get("labels") or {}).items()}
        try:
            starts_at, ends_at = _instant(alert.get("startsAt")), _instant(alert.get("endsAt"))
        except ValueError:
            raise WebhookBodyError(f"alert {i}: startsAt and endsAt must be RFC 3339 times") from None
        url = alert.get("generatorURL")
        events.append(AlertEvent(
            fingerprint=str(alert["fingerprint"]), status=alert["status"],
            name=labels.get("alertname", "alert"), labels=labels,
            annotations={str(k): str(v) for k, v in (alert.get("annotations") or {}).items()},
            starts_at=starts_at, ends_at=ends_at, url=str(url) if url else None))
    return events
