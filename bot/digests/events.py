"""Run events as they happen: a run finishing, failing, killed, gone stale or reaching its target.

MLflow sends no run webhooks, so each tracking source with ``events:`` is polled every
``events.every`` (2 minutes by default) from the due work. A poll costs in proportion to the
runs that changed, not to all runs:

* runs that *ended* since the watermark (``end_time`` after it, less an overlap for ends
  recorded late), any status, in one query;
* for each target, the running runs whose latest value already meets it (MLflow filters on it);
* the watched runs whose stale deadline (last metric, or start, + ``stale_after``) has passed,
  by id — a run that keeps logging is not read again until it could be stale.

Every ``stale_after`` every running run is read (the watched set, again in full): that finds new runs
before any of them can have been silent for ``stale_after``, and runs that ended with an end time in
the past.

Each event has an outbox key (``run-event:{workspace}:{source}:{run}:{what}``) and the poll's state
(watermark, runs seen in the overlap, runs watched) is kept only after the messages are in the
outbox: a restart or a second worker repeats nothing, and a crash loses nothing.

W&B also says when a run changed (its Automations webhook, ``POST /hooks/wandb``): ``observe`` puts
that one run, read back from W&B, through the same rules and the same outbox keys, so a run told by
the webhook is not told again by the poll behind it, nor the other way round.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.digests.config import RunEvents, Target, TrackingConfig
from bot.digests.experiments import OVERLAP, TrackingUsers, linked
from bot.digests.messages import message_of
from bot.digests.sources import RunFeed, RunRecord, TrackingSource
from bot.digests.text import clock, number
from bot.kernel import quiet
from bot.kernel.domain import Member, short_day
from bot.kernel.messages import Context, Inline, Mention, Message, Section, rich
from bot.kernel.ports import DueItem
from bot.kernel.timekeeping import iso_z, local_date

log = logging.getLogger("meridian.digests.events")

RUN_EVENTS = "digest.run-events"


def _ms(instant: datetime) -> int:
    return int(instant.timestamp() * 1000)


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


@dataclass
class WatchState:
    """What one source's run-event poll remembers between polls (stored as JSON)."""

    watermark: datetime | None = None
    experiments: list[str] = field(default_factory=list)
    resynced: datetime | None = None
    seen: dict[str, int] = field(default_factory=dict)
    """Ended run id → end time (ms), for runs told within the overlap before the watermark."""
    watched: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Running run id → {"due": ms when it could be stale, "stale": last-metric ms already told stale,
    "reached": [target metrics already told]}."""
    metrics_seen: list[str] = field(default_factory=list)
    """Target metrics some run has logged (a target naming none of them is probably misspelt)."""

    def to_json(self) -> dict[str, Any]:
        return {"watermark": self.watermark.isoformat() if self.watermark else None,
                "experiments": self.experiments, "resynced": self.resynced.isoformat() if self.resynced else None,
                "seen": self.seen, "watched": self.watched, "metrics_seen": self.metrics_seen}

    @staticmethod
    def from_json(raw: Any) -> WatchState:
        if not isinstance(raw, dict):
            return WatchState()
        mark, resynced = raw.get("watermark"), raw.get("resynced")
        return WatchState(watermark=datetime.fromisoformat(mark) if mark else None,
                          experiments=list(raw.get("experiments") or []),
                          resynced=datetime.fromisoformat(resynced) if resynced else None,
                          seen=dict(raw.get("seen") or {}), watched=dict(raw.get("watched") or {}),
                          metrics_seen=list(raw.get("metrics_seen") or []))


@dataclass(frozen=True)
class RunEvent:
    run: RunRecord
    kind: str
    """``finished``, ``failed``, ``killed``, ``stale`` or ``target``."""
    key: str
    """Unique for this run and this happening (a second stale spell after new metrics is a new event)."""
    target: Target | None = None
    value: float | None = None
    quiet_since: datetime | None = None


@dataclass
class Poll:
    events: list[RunEvent] = field(default_factory=list)
    unknown_targets: list[tuple[Target, RunRecord]] = field(default_factory=list)
    state: WatchState = field(default_factory=WatchState)
    queries: int = 0


def _stale_due(run: RunRecord, stale_after: timedelta) -> int:
    return _ms((run.last_metric_at or run.start_time) + stale_after)


async def poll_runs(source: TrackingSource, feed: RunFeed, cfg: TrackingConfig, events: RunEvents,
                    state: WatchState, now: datetime) -> Poll:
    """One incremental poll: the events since the last one and the state to keep once they are sent."""
    new = _copy(state, now)
    poll = Poll(state=new)
    resync = state.resynced is None or now - state.resynced >= events.stale_after or not state.experiments
    if resync:
        new.experiments = [e.id for e in await source.experiments(cfg.experiments)]
        new.resynced = now
        poll.queries += 1
    ids = new.experiments
    if not ids:
        return poll
    after = (state.watermark or now) - OVERLAP
    # New running runs are not searched for on every poll: a run cannot be stale before ``stale_after`` from its
    # start, and the full re-read every ``stale_after`` finds it by then; its target has a query of its own.
    calls: list[Any] = [feed.ended_since(ids, after), *([source.running_runs(ids)] if resync else [])]
    calls.extend(feed.running_meeting(ids, t) for t in events.targets)
    answers = await asyncio.gather(*calls)
    poll.queries += len(calls)
    ended: list[RunRecord] = answers[0]
    running: dict[str, RunRecord] = {r.run_id: r for r in answers[1]} if resync else {}
    for meeting in answers[2 if resync else 1:]:
        running.update({r.run_id: r for r in meeting})
    ended_ids = {r.run_id for r in ended}
    due = [rid for rid, w in new.watched.items()
           if rid not in running and rid not in ended_ids and (resync or int(w.get("due", 0)) <= _ms(now))]
    if due:
        for run in await feed.runs_by_id(ids, due):
            (running.__setitem__(run.run_id, run) if run.status == "RUNNING" else ended.append(run))
        poll.queries += 1
    for rid in due:  # deleted runs, and runs moved out of the watched experiments
        if rid not in running and all(r.run_id != rid for r in ended):
            new.watched.pop(rid, None)

    for run in ended:
        _ended(poll, run, cfg, events, new)
    for run in running.values():
        _running(poll, run, cfg, events, new, now)
    keep_after = _ms(now - OVERLAP)
    new.seen = {k: v for k, v in new.seen.items() if v > keep_after}
    return poll


def _copy(state: WatchState, watermark: datetime | None) -> WatchState:
    return WatchState(watermark=watermark, experiments=list(state.experiments), resynced=state.resynced,
                      seen=dict(state.seen), watched={k: dict(v) for k, v in state.watched.items()},
                      metrics_seen=list(state.metrics_seen))


def observe(run: RunRecord, cfg: TrackingConfig, events: RunEvents, state: WatchState, now: datetime) -> Poll:
    """The events of one run a webhook told of, by the poll's rules; the watermark is left where it was."""
    poll = Poll(state=_copy(state, state.watermark))
    if run.status == "RUNNING":
        _running(poll, run, cfg, events, poll.state, now)
    else:
        _ended(poll, run, cfg, events, poll.state)
    return poll


def merge_run(latest: WatchState, observed: WatchState, run_id: str) -> WatchState:
    """``latest`` (as stored now, perhaps by a poll meanwhile) with what ``observe`` learnt of one run."""
    merged = _copy(latest, latest.watermark)
    if run_id in observed.seen:
        merged.seen[run_id] = observed.seen[run_id]
        merged.watched.pop(run_id, None)
    elif run_id in observed.watched:
        merged.watched[run_id] = observed.watched[run_id]
    merged.metrics_seen.extend(m for m in observed.metrics_seen if m not in merged.metrics_seen)
    return merged


def _key(cfg: TrackingConfig, run: RunRecord, what: str) -> str:
    return f"{cfg.name}:{run.run_id}:{what}"


def _note_metrics(poll: Poll, run: RunRecord, events: RunEvents, new: WatchState) -> None:
    for target in events.targets:
        if target.metric in run.metrics and target.metric not in new.metrics_seen:
            new.metrics_seen.append(target.metric)


def _targets(poll: Poll, run: RunRecord, cfg: TrackingConfig, events: RunEvents, reached: list[str]) -> None:
    for target in events.targets:
        value = run.metrics.get(target.metric)
        if value is not None and target.metric not in reached and target.met(value):
            reached.append(target.metric)
            poll.events.append(RunEvent(run, "target", _key(cfg, run, f"target:{target.metric}"), target, value))


def _ended(poll: Poll, run: RunRecord, cfg: TrackingConfig, events: RunEvents, new: WatchState) -> None:
    if run.run_id in new.seen or run.end_time is None:
        return
    new.seen[run.run_id] = _ms(run.end_time)
    watched = new.watched.pop(run.run_id, {})
    _note_metrics(poll, run, events, new)
    if run.status == "FINISHED":
        _targets(poll, run, cfg, events, list(watched.get("reached", [])))
        for target in events.targets:
            if target.metric not in new.metrics_seen and run.metrics:
                poll.unknown_targets.append((target, run))
    poll.events.append(RunEvent(run, run.status.lower(), _key(cfg, run, run.status.lower())))


def _running(poll: Poll, run: RunRecord, cfg: TrackingConfig, events: RunEvents, new: WatchState,
             now: datetime) -> None:
    watched = new.watched.setdefault(run.run_id, {"due": 0, "stale": None, "reached": []})
    _note_metrics(poll, run, events, new)
    reached: list[str] = watched.setdefault("reached", [])
    _targets(poll, run, cfg, events, reached)
    last = run.last_metric_at or run.start_time
    watched["due"] = _stale_due(run, events.stale_after)
    if now - last >= events.stale_after and watched.get("stale") != _ms(last):
        watched["stale"] = _ms(last)
        poll.events.append(RunEvent(run, "stale", _key(cfg, run, f"stale:{_ms(last)}"), quiet_since=last))
    if watched["due"] <= _ms(now):  # told already: look again after another spell, for new metrics
        watched["due"] = _ms(now + events.stale_after)


# --- messages ----------------------------------------------------------------------------------

HEADS = {"finished": "✅", "failed": "❌", "killed": "⏹", "stale": "⏳", "target": "🎯"}


def event_text(event: RunEvent, experiment: str, source: TrackingConfig, tz: str, now: datetime,
               owner: Member | None) -> tuple[Inline, ...]:
    """One line about the event, speaking to the owner (``Your run``) or about them in the channel."""
    run = event.run
    whose: tuple[Inline, ...] = ("Your run ",) if owner is not None else (f"Run by `{run.user}`: ",)
    name = linked(run.name, run.url, strong=True)
    where = f" in {experiment}"
    metric = run.metrics.get(source.metric)
    score = f" — {source.metric} {number(metric)}" if metric is not None and math.isfinite(metric) else ""
    when = clock(run.end_time, tz, now) if run.end_time else ""
    if event.kind == "finished":
        tail: str = f" finished at {when}{score}."
    elif event.kind == "failed":
        reason = run.tags.get(source.error_tag)
        tail = f" failed at {when}" + (f": {reason}" if reason else f" (no `{source.error_tag}` tag says why)") + "."
    elif event.kind == "killed":
        tail = f" was killed at {when}{score}."
    elif event.kind == "stale":
        since = event.quiet_since or run.start_time
        what = "metric" if run.last_metric_at else "metric since it started"
        tail = (f" is still RUNNING but has logged no {what} for {_span(now - since)} "
                f"(last at {clock(since, tz, now)}).")
    else:
        assert event.target is not None and event.value is not None
        state = "finished and met" if run.status == "FINISHED" else "reached"
        tail = f" {state} its target: {event.target.metric} {number(event.value)} ({event.target})."
    return (f"{HEADS[event.kind]} ", *whose, name, where, tail)


def _span(gap: timedelta) -> str:
    minutes = int(gap.total_seconds() // 60)
    return f"{minutes} min" if minutes < 120 else f"{minutes // 60} h {minutes % 60:02d} min"


def day_thread_key(workspace: str, channel: str, day: str) -> str:
    return f"run-events:{workspace}:{channel}:{day}"


def day_thread_message(day_text: str) -> Message:
    return Message((Section(rich(f"🧪 Run events, {day_text} — failures, and runs of people the team file "
                                 "does not map, as they happen (in this thread).")),),
                   fallback=f"🧪 Run events, {day_text} — failures, and runs of people the team file does not "
                            "map, as they happen (in this thread).")


def unmapped_hint(platform: str, user: str) -> Context:
    return Context(rich(f"`{user}` is no member of this team: add `accounts: {{{platform}: {user}}}` to their "
                        "entry in the team file so their runs reach them by DM."))


async def tell(app: Any, workspace: str, poll: Poll, source: TrackingConfig, channel: str | None, tz: str,
               people: TrackingUsers, experiments: dict[str, str]) -> int:
    """Send a poll's events: a DM to each run's owner (held in their quiet hours), failures and unmapped
    owners' runs in the channel's thread of the day at once. Returns how many messages went to the outbox."""
    now = app.now()
    sent = 0
    for event in poll.events:
        owner = people.by_account.get(event.run.user)
        text = event_text(event, experiments.get(event.run.experiment_id, event.run.experiment_id), source, tz, now,
                          owner)
        key = f"run-event:{workspace}:{event.key}"
        if owner is not None:
            await quiet.notify(app, key, workspace, owner, message_of([Section(text)]))
            sent += 1
        if channel is not None and (event.kind == "failed" or owner is None):
            blocks: list[Section | Context] = [Section(event_text(event, experiments.get(
                event.run.experiment_id, event.run.experiment_id), source, tz, now, None) if owner is None else
                (*text[:1], owner_mention(owner), "'s run ", *text[2:]))]
            if owner is None:
                blocks.append(unmapped_hint(source.kind, event.run.user))
            await in_day_thread(app, workspace, channel, tz, f"{key}:channel", message_of(blocks))
            sent += 1
    for target, run in poll.unknown_targets:
        if channel is None:
            continue
        logged = ", ".join(sorted(run.metrics)[:6])
        line = (f"⚠️ Run target `{target}` ({source.name}): {run.name} finished without logging "
                f"`{target.metric}` (it logged {logged}), and no run has logged it yet — check the metric's name "
                "in the team file's `events.targets`.")
        await in_day_thread(app, workspace, channel, tz, f"run-event:{workspace}:{source.name}:unknown-target:"
                            f"{target.metric}", Message.text(line))
        sent += 1
    return sent


def owner_mention(owner: Member) -> Inline:
    return Mention(owner.id, owner.name)


async def in_day_thread(app: Any, workspace: str, channel: str, tz: str, key: str, message: Message) -> None:
    now = app.now()
    day = local_date(now, tz)
    parent = day_thread_key(workspace, channel, day.isoformat())
    await app.outbox.post(parent, workspace, channel, day_thread_message(short_day(day)))
    await app.outbox.post(key, workspace, channel, message, thread_key=parent)


def plan_polls(workspace: str, sources: Sequence[TrackingConfig], start: datetime, end: datetime) -> list[DueItem]:
    """A poll every ``events.every`` per source with events, keyed by its instant (planning twice adds nothing)."""
    items: list[DueItem] = []
    for cfg in sources:
        if cfg.events is None:
            continue
        step = max(1, int(cfg.events.every.total_seconds()))
        tick = (int(start.timestamp()) + step - 1) // step * step
        while tick < end.timestamp():
            instant = datetime.fromtimestamp(tick, tz=UTC)
            items.append(DueItem(f"run-events:{workspace}:{cfg.name}:{iso_z(instant)}", RUN_EVENTS, workspace,
                                 instant, {"source": cfg.name}))
            tick += step
    return items
