"""Alertmanager alerts: what the webhook delivers, what the drift digest shows, what is posted.

A webhook's alerts are queued as one due-work item (``ALERTS_RECEIVED``, the events as JSON in
its payload) and posted from there, so the request is answered at once and a restart loses
nothing. Alertmanager repeats a firing alert on every group interval and sends it once more when it
resolves; the ``fingerprint`` stays the same throughout. The book below keeps one entry per
fingerprint (stored as JSON), so a firing alert is posted once and its resolution edits
that post instead of adding another. An alert that fires again soon after it resolved (a missed
scrape, a value hovering at the threshold) reopens its post rather than adding one: a flapping alert
is one post, not one a minute. Resolved alerts are forgotten after two days.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from bot.digests.sources import AlertEvent
from bot.digests.text import clock, duration
from bot.kernel.messages import Actions, Block, Button, Context, Inline, Link, Message, Section, plain, rich

ALERT_KEEP = timedelta(hours=48)
REFIRE_WITHIN = timedelta(minutes=10)
"""An alert firing again this soon after it resolved reopens its post (``fired again``) instead of a new one."""
ALERTS_RECEIVED = "digest.alertmanager"
"""The due-work kind of a queued webhook delivery."""
SILENCED_CHECK = "digest.alert-silenced"
"""The due-work kind of a look in Alertmanager at an alert a silence from Meridian mutes."""


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
        if entry is not None and _fires_again(entry, event, starts):
            entry["refired"] = int(entry.get("refired") or 0) + 1
            entry["refired_at"] = starts.isoformat()
            entry["ends_at"] = None
        elif entry is None or (event.status == "firing" and entry["starts_at"] != starts.isoformat()
                               and entry.get("refired_at") != starts.isoformat()):
            entry = {"name": event.name, "starts_at": starts.isoformat(), "model": event.labels.get("model"),
                     "summary": event.annotations.get("summary") or event.annotations.get("description", ""),
                     "status": event.status, "ends_at": None, "key": None}
        entry["status"] = event.status
        entry["labels"] = dict(event.labels)
        entry["url"] = event.url or entry.get("url")
        entry["runbook"] = event.annotations.get("runbook_url") or entry.get("runbook")
        if event.status == "resolved":
            entry["ends_at"] = (event.ends_at or now).isoformat()
        self.entries[event.fingerprint] = entry
        return entry

    def prune(self, now: datetime) -> None:
        keep_after = now - ALERT_KEEP
        self.entries = {fp: e for fp, e in self.entries.items()
                        if e["status"] == "firing" or datetime.fromisoformat(e["ends_at"]) > keep_after}


def _fires_again(entry: Mapping[str, Any], event: AlertEvent, starts: datetime) -> bool:
    """A firing delivery with a new start for a posted alert that resolved within ``REFIRE_WITHIN``, or whose
    resolution never came (Alertmanager sends only the newest state of a group: a flap inside one group
    interval arrives as a new start alone)."""
    if event.status != "firing" or not entry.get("key") or starts.isoformat() in (entry["starts_at"],
                                                                                  entry.get("refired_at")):
        return False
    if entry["status"] == "firing":
        return starts > datetime.fromisoformat(entry["starts_at"])
    return bool(entry.get("ends_at")) and starts - datetime.fromisoformat(entry["ends_at"]) <= REFIRE_WITHIN


def web_link(url: str | None) -> str | None:
    """An http(s) address fit to be a link; anything else (``javascript:``, text) is not shown as one."""
    if not url or len(url) > 3000 or not url.startswith(("http://", "https://")) or any(c.isspace() for c in url):
        return None
    return url


def alertmanager_message(entry: Mapping[str, Any], tz: str, now: datetime, desk: AlertDesk | None = None,
                         can_silence: bool = False) -> Message:
    """An alert's post: what fires, its links, who responds, the log of presses, and the buttons while it fires."""
    desk = desk or AlertDesk()
    starts = datetime.fromisoformat(entry["starts_at"])
    about = f" — {entry['model']}" if entry.get("model") else ""
    summary = f": {entry['summary']}" if entry.get("summary") else ""
    firing = entry["status"] == "firing"
    again = int(entry.get("refired") or 0)
    if firing and again:
        refired = datetime.fromisoformat(entry["refired_at"])
        times = f", {again + 1} times in all" if again > 1 else ""
        text = (f"🔥 FIRING {entry['name']}{about}{summary} (since {clock(starts, tz, now)}; "
                f"resolved and fired again {clock(refired, tz, now)}{times})")
    elif firing:
        text = f"🔥 FIRING {entry['name']}{about}{summary} (since {clock(starts, tz, now)})"
    else:
        ends = datetime.fromisoformat(entry["ends_at"])
        flapped = f", fired {again + 1} times" if again else ""
        text = (f"✅ RESOLVED {entry['name']}{about}{summary} (fired {clock(starts, tz, now)}, "
                f"lasted {duration(ends - starts)}{flapped})")
    blocks: list[Block] = [Section(rich(text))]
    source, runbook = web_link(entry.get("url")), web_link(entry.get("runbook"))
    links: list[Inline] = []
    if source:
        links.append(Link(source, "Source"))
    if runbook:
        links.extend([" · "] if links else [])
        links.append(Link(runbook, "Runbook"))
    if links:
        blocks.append(Context(tuple(links)))
    blocks.extend(desk.lines(tz, now))
    if firing:
        buttons = [Button("I'm on it", ONIT, entry_id(entry), style="primary")]
        if can_silence and desk.silenced(now):
            buttons.append(Button("Lift silence", LIFT, entry_id(entry)))
        elif can_silence:
            buttons.extend(Button(f"Silence {label}", f"{SILENCE}{label.replace(' ', '')}", entry_id(entry))
                           for label in SILENCE_FOR)
        if runbook:
            buttons.append(Button("Runbook", RUNBOOK, entry_id(entry), url=runbook))
        blocks.append(Actions(tuple(buttons)))
    lines = [plain(b.text) for b in blocks if isinstance(b, Section | Context)]
    return Message(tuple(blocks), fallback="\n".join(lines))


ACTION_PREFIX = "alert."
ONIT = "alert.onit"
SILENCE = "alert.silence."
LIFT = "alert.lift"
RUNBOOK = "alert.runbook"
SILENCE_FOR: dict[str, timedelta] = {"1 h": timedelta(hours=1), "4 h": timedelta(hours=4)}
"""The Silence buttons: label → how long."""
LOG_SHOWN = 6
"""Presses shown under an alert (all are stored)."""


def entry_id(entry: Mapping[str, Any]) -> str:
    """What a button carries to find its alert again: the key of the alert's post."""
    return str(entry.get("key") or "")


@dataclass
class AlertDesk:
    """The response to one alert: who is on it, its silence, and every press (who, what, when), stored."""

    on_it: list[dict[str, str]] = field(default_factory=list)
    silence: dict[str, str] | None = None
    """``{"id", "by", "name", "until", "at"}``, and ``"lifted_by"``/``"lifted_at"``/``"ended"`` once over."""
    log: list[dict[str, str]] = field(default_factory=list)

    @staticmethod
    def from_json(raw: Mapping[str, Any] | None) -> AlertDesk:
        raw = raw or {}
        return AlertDesk(on_it=list(raw.get("on_it") or []), silence=raw.get("silence"),
                         log=list(raw.get("log") or []))

    def to_json(self) -> dict[str, Any]:
        return {"on_it": self.on_it, "silence": self.silence, "log": self.log}

    def note(self, member_id: str, name: str, what: str, now: datetime) -> None:
        self.log.append({"at": now.isoformat(), "by": member_id, "name": name, "what": what})

    def silenced(self, now: datetime) -> bool:
        """A silence Meridian made is running (not lifted, not ended, not past its end)."""
        s = self.silence
        if not s or s.get("lifted_at") or s.get("ended"):
            return False
        return datetime.fromisoformat(s["until"]) > now

    def lines(self, tz: str, now: datetime) -> list[Block]:
        out: list[Block] = []
        if self.on_it:
            names = ", ".join(p["name"] for p in self.on_it)
            since = clock(datetime.fromisoformat(self.on_it[0]["at"]), tz, now)
            out.append(Section(rich(f"👀 On it: {names} (since {since})")))
        s = self.silence
        if s:
            until = clock(datetime.fromisoformat(s["until"]), tz, now)
            if s.get("lifted_at"):
                lifted = clock(datetime.fromisoformat(s["lifted_at"]), tz, now)
                out.append(Section(rich(f"🔔 Silence lifted by {s['lifted_by']} at {lifted}")))
            elif s.get("ended") or datetime.fromisoformat(s["until"]) <= now:
                ended = clock(datetime.fromisoformat(s.get("ended") or s["until"]), tz, now)
                out.append(Section(rich(f"🔔 Silence by {s['name']} ended ({ended})")))
            else:
                out.append(Section(rich(f"🔕 Silenced by {s['name']} until {until}")))
        if self.log:
            shown = self.log[-LOG_SHOWN:]
            text = " · ".join(f"{clock(datetime.fromisoformat(e['at']), tz, now)} {e['name']}: {e['what']}"
                              for e in shown)
            more = f"{len(self.log) - len(shown)} earlier · " if len(self.log) > len(shown) else ""
            out.append(Context(rich(f"Log: {more}{text}")))
        return out

