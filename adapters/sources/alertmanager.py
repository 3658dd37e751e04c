"""Alertmanager webhook (version 4) bodies → ``AlertEvent`` records."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from bot.digests.sources import AlertEvent


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
