"""Alertmanager alerts: what the webhook delivers, what the drift digest shows, what is posted.

A webhook's alerts are queued as one due-work item (``ALERTS_RECEIVED``, the events as JSON in
its payload) and posted from there, so the request is answered at once and a restart loses
nothing. Alertmanager repeats a firing alert on every group interval and sends it once more when it
resolves; the ``fingerprint`` stays the same throughout. The book below keeps one entry per
fingerprint (stored as JSON), so a firing alert is posted once and its resolution edits
that post instead of adding another. Resolved alerts are forgotten after two days.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from bot.digests.sources import AlertEvent
from bot.digests.text import clock, duration
from bot.kernel.messages import Message

ALERT_KEEP = timedelta(hours=48)
ALERTS_RECEIVED = "digest.alertmanager"
"""The due-work kind of a queued webhook delivery."""


def event_to_json(event: AlertEvent) -> dict[str, Any]:
    return {"fingerprint": event.fingerprint, "status": event.status, "name": event.name,
            "labels": dict(event.labels), "annotations": dict(event.annotations),
            "starts_at": event.starts_at.isoformat() if event.starts_at else None,
            "ends_at": event.ends_at.isoformat() if event.ends_at else None, "url": event.url}


def event_from_json(raw: Mapping[str, Any]) -> AlertEvent:
    return AlertEvent(fingerprint=raw["fingerprint"], status=raw["status"], name=raw["name"],
                      labels=raw.get("labels") or {}, annotations=raw.get("annotations") or {},
                      starts_at=datetime.fromisoformat(raw["starts_at"]) if raw.get("starts_at") else None,
                      ends_at=datetime.fromisoformat(raw["ends_at"]) if raw.get("ends_at") else None,
                      url=raw.get("url"))


@dataclass(frozen=True)
class AlertRecord:
    """An Alertmanager alert as the drift digest shows it."""

    fingerprint: str
    name: str
    status: Literal["firing", "resolved"]
    starts_at: datetime
    ends_at: datetime | None
    summary: str = ""
    model: str | None = None


class AlertBook:
    """The alerts seen lately, by fingerprint, with the outbox key of each one's post."""

    def __init__(self, raw: Mapping[str, Any] | None) -> None:
        self.entries: dict[str, dict[str, Any]] = {fp: dict(e) for fp, e in (raw or {}).items()}

    def to_json(self) -> dict[str, Any]:
        return self.entries

    def records(self) -> list[AlertRecord]:
        return [AlertRecord(fingerprint=fp, name=raw["name"], status=raw["status"],
                            starts_at=datetime.fromisoformat(raw["starts_at"]),
                            ends_at=datetime.fromisoformat(raw["ends_at"]) if raw.get("ends_at") else None,
                            summary=raw.get("summary", ""), model=raw.get("model"))
                for fp, raw in self.entries.items()]

    def record(self, event: AlertEvent, now: datetime) -> dict[str, Any]:
        """Note one delivery; a firing alert that started again (a new ``startsAt``) is a new entry."""
        starts = event.starts_at or now
        entry = self.entries.get(event.fingerprint)
        if entry is None or (event.status == "firing" and entry["starts_at"] != starts.isoformat()):
            entry = {"name": event.name, "starts_at": starts.isoformat(), "model": event.labels.get("model"),
                     "summary": event.annotations.get("summary") or event.annotations.get("description", ""),
                     "status": event.status, "ends_at": None, "key": None}
        entry["status"] = event.status
        if event.status == "resolved":
            entry["ends_at"] = (event.ends_at or now).isoformat()
        self.entries[event.fingerprint] = entry
        return entry

    def prune(self, now: datetime) -> None:
        keep_after = now - ALERT_KEEP
        self.entries = {fp: e for fp, e in self.entries.items()
                        if e["status"] == "firing" or datetime.fromisoformat(e["ends_at"]) > keep_after}


def alertmanager_message(entry: Mapping[str, Any], tz: str, now: datetime) -> Message:
    starts = datetime.fromisoformat(entry["starts_at"])
    about = f" — {entry['model']}" if entry.get("model") else ""
    summary = f": {entry['summary']}" if entry.get("summary") else ""
    if entry["status"] == "firing":
        text = f"🔥 FIRING {entry['name']}{about}{summary} (since {clock(starts, tz, now)})"
    else:
        ends = datetime.fromisoformat(entry["ends_at"])
        text = (f"✅ RESOLVED {entry['name']}{about}{summary} (fired {clock(starts, tz, now)}, "
                f"lasted {duration(ends - starts)})")
    return Message.text(text)

