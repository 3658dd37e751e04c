"""Alertmanager alerts: what the webhook delivers, what the drift digest shows, what is posted.

Alertmanager repeats a firing alert on every group interval and sends it once more when it
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

