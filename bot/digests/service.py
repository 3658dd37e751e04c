"""One workspace's digests (``DigestService``) and every workspace's (``DigestRegistry``).

A ``DigestService`` holds a workspace's parsed ``sources:``/``digests:``, the adapters
behind them and the small state the digests keep between runs (watermarks, outages,
alert states), and builds, posts and remembers each digest.

Outages are handled here, once: a source that cannot answer gives one "unavailable since"
line, its watermark stays where it was, and the caller schedules a retry; nothing a source
does can stop another digest or the scheduler.
"""

from __future__ import annotations

import asyncio
import fnmatch
import logging
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from bot.digests.alerts import (
    ALERTS_RECEIVED,
    LIFT,
    ONIT,
    SILENCE,
    SILENCE_FOR,
    SILENCED_CHECK,
    AlertBook,
    AlertDesk,
    AlertRecord,
    alertmanager_message,
    event_to_json,
)
from bot.digests.config import ModelConfig, SourceDefaults, SourcesConfig, SourcesConfigError, parse_sources
from bot.digests.drift import DriftAlert, ModelHealth, alert_message, assess_model, back_to_ok, compose_drift
from bot.digests.events import WatchState, merge_run, observe, poll_runs, tell
from bot.digests.experiments import (
    REGISTRY_EVENTS,
    ExperimentsReport,
    ExperimentsState,
    TrackingUsers,
    VersionStanding,
    compose_experiments,
    gather_experiments,
    registry_event_message,
    version_standing,
)
from bot.digests.messages import DigestMessages, demo_labelled, demo_noted
from bot.digests.sources import (
    AlertEvent,
    ChartPublisher,
    MonitoringSource,
    SilenceRefused,
    SourceFactory,
    SourceSet,
    SourceUnavailable,
)
from bot.digests.targets import TargetReading, crossing_message, crossing_of, read_targets
from bot.digests.text import clock
from bot.kernel.app import Meridian
from bot.kernel.domain import Member
from bot.kernel.messages import Actions, Inline, Message, Section, plain
from bot.kernel.ports import ActivityOwners, DueItem
from bot.kernel.routing import Routing, named, route
from bot.kernel.timekeeping import iso_z

log = logging.getLogger("meridian.digests")

DRIFT_ALERT_LOG_DAYS = 400
"""How long the record of raised drift alerts is kept (for the sprint in numbers)."""


@dataclass
class ExperimentsRun:
    """One build of the experiments digest and the state it would leave behind."""

    digest: DigestMessages
    reports: list[ExperimentsReport] = field(default_factory=list)
    down: list[str] = field(default_factory=list)
    """Tracking sources (team-file names) that could not answer."""
    states: dict[str, ExperimentsState] = field(default_factory=dict)


@dataclass(frozen=True)
class _Answer:
    """What a press tells the presser, and whether the alert's post must change."""

    text: str
    changed: bool = False


class DigestService:
    def __init__(self, app: Meridian, config: SourcesConfig, sources: SourceSet, workspace: str,
                 charts: ChartPublisher | None = None, owners: ActivityOwners | None = None,
                 locks: dict[str, asyncio.Lock] | None = None) -> None:
        self.app = app
        self.locks = {} if locks is None else locks
        """One lock per alert post, so two presses (or a press and its resolution) take turns."""
        self.config = config
        self.sources = sources
        self.workspace = workspace
        self.charts = charts
        self.owners = owners
        self._names: dict[str, dict[str, str]] = {}

    async def close(self) -> None:
        """Close the sources' HTTP sessions (a CLI run ends its event loop after one digest)."""
        await self.sources.close()

    # --- small state ------------------------------------------------------------------------
    def get(self, key: str) -> Any:
        return self.app.store.kv_get(self.workspace, f"digests:{key}")

    def set(self, key: str, value: Any) -> None:
        self.app.store.kv_set(self.workspace, f"digests:{key}", value)

    def down_since(self, source: str, now: datetime) -> datetime:
        """When a source first failed in its current outage (recorded at the first failure)."""
        raw = self.get(f"down:{source}")
        if raw:
            return datetime.fromisoformat(raw)
        self.set(f"down:{source}", now.isoformat())
        return now

    def _up(self, source: str) -> None:
        if self.get(f"down:{source}"):
            self.app.store.kv_delete(self.workspace, f"digests:down:{source}")

    def _downs(self) -> dict[str, datetime]:
        out = {}
        for name in ("MLflow", "W&B", "Evidently", "Prometheus"):
            raw = self.get(f"down:{name}")
            if raw:
                out[name] = datetime.fromisoformat(raw)
        return out

    def tz(self, kind: str) -> str:
        schedule = self.config.digest(kind)
        if schedule:
            return schedule.tz
        ws = self.app.store.get_workspace(self.workspace)
        return ws.tz if ws else "UTC"

    def people(self, platform: str) -> TrackingUsers:
        return TrackingUsers.of(self.app.store.list_members(self.workspace), platform, self.app.now())

    async def post_digest(self, key: str, channel: str, digest: DigestMessages,
                          thread_key: str | None = None) -> None:
        outbox = self.app.outbox
        await outbox.post(key, self.workspace, channel, digest.headline, thread_key=thread_key)
        parent = thread_key or key
        for i, detail in enumerate(digest.details):
            await outbox.post(f"{key}:detail:{i}", self.workspace, channel, detail, thread_key=parent)

    # --- experiments ---------------------------------------------------------------------------
    async def experiments(self, *, sources: Sequence[str] = (), only: str | None = None) -> ExperimentsRun:
        """Build the experiments digest; nothing is remembered until ``commit`` is called with it."""
        now = self.app.now()
        tz = self.tz("experiments")
        run = ExperimentsRun(DigestMessages(Message.text("")))
        error_tag = "error"
        for cfg in self.config.tracking_named(sources):
            source = self.sources.tracking.get(cfg.name)
            if source is None:
                continue
            error_tag = cfg.error_tag
            state = ExperimentsState.from_json(self.get(f"experiments:{cfg.name}"))
            try:
                report, new_state = await gather_experiments(source, cfg, state, now, tz, only)
            except SourceUnavailable as err:
                log.warning("experiments digest: %s", err)
                since = self.down_since(source.name, now)
                run.reports.append(ExperimentsReport(source=source.name, metric=cfg.metric, goal=cfg.goal,
                                                     since=state.watermark or now - cfg.lookback, until=now,
                                                     unavailable_since=since))
                run.down.append(cfg.name)
                continue
            self._up(source.name)
            run.reports.append(report)
            run.states[cfg.name] = new_state
        people = self.people(self.config.tracking[0].kind if self.config.tracking else "mlflow")
        charts = self.charts
        chart_url = (lambda values: charts.publish(self.workspace, values)) if charts else None
        answered = {t.name for t in self.config.tracking_named(sources)} - set(run.down)
        targets = await self.registry_targets(answered, now) if only is None else []
        run.digest = compose_experiments(run.reports, people, tz, now, error_tag=error_tag, charts=chart_url,
                                         targets=targets)
        if self.config.is_demo_tracking(sources):
            run.digest = demo_labelled(run.digest)
        return run

    async def registry_targets(self, sources: Collection[str], now: datetime) -> list[TargetReading]:
        """The registry targets read from these tracking sources (the experiments digest shows them with the
        versions; Prometheus targets are production health, in the drift digest)."""
        readings: list[TargetReading] = []
        configs = {t.name: t for t in self.config.tracking}
        for model in self.config.models:
            mine = tuple(t for t in model.targets if t.check is None and t.tracking in sources)
            if mine:
                readings.extend(await read_targets(replace(model, targets=mine), self.sources.tracking, configs,
                                                   None, now))
        return readings

    def commit(self, run: ExperimentsRun) -> None:
        """Keep the watermarks of a digest the outbox now holds, so its runs are never reported again."""
        for name, state in run.states.items():
            self.set(f"experiments:{name}", state.to_json())

    # --- run events ---------------------------------------------------------------------------
    async def run_events(self, source_name: str, due_at: datetime | None = None) -> int:
        """Poll one tracking source for run events and tell them; returns how many messages went out.

        A poll that fell due while an earlier one (after downtime, a backlog) already covered its
        instant does nothing. An unreachable source is logged and the next poll covers the gap.
        """
        cfg = next((t for t in self.config.tracking if t.name == source_name), None)
        source = self.sources.tracking.get(source_name)
        feed = self.sources.feeds.get(source_name)
        if cfg is None or cfg.events is None or source is None or feed is None:
            return 0
        key = f"events:{source_name}"
        async with self.locks.setdefault(f"run-events:{source_name}", asyncio.Lock()):
            state = WatchState.from_json(self.get(key))
            now = self.app.now()
            if due_at is not None and state.watermark is not None and state.watermark >= due_at:
                return 0
            try:
                poll = await poll_runs(source, feed, cfg, cfg.events, state, now)
            except SourceUnavailable as err:
                log.warning("run events: %s", err)
                return 0
            sent = 0
            if poll.events or poll.unknown_targets:  # most polls find nothing: then no members, zone or names are read
                names = await self._experiment_names(source, cfg, poll.state.experiments) if poll.events else {}
                sent = await tell(self.app, self.workspace, poll, cfg, self._events_channel(cfg),
                                  self.tz("experiments"), self.people(cfg.kind), names)
            self.set(key, poll.state.to_json())
        return sent

    def _events_channel(self, cfg: Any) -> str | None:
        schedule = self.config.digest("experiments")
        return cfg.events.channel or (schedule.channel if schedule else None)

    async def run_changed(self, kind: str, entity: str | None, project: str, run_id: str | None) -> int | None:
        """A run a webhook told of, read back and told as a poll would tell it (see ``WebhookReceiver``)."""
        watching = [cfg for cfg in self.config.tracking
                    if cfg.kind == kind and cfg.events is not None and cfg.name in self.sources.feeds
                    and (entity is None or cfg.entity == entity)
                    and any(fnmatch.fnmatchcase(project, pattern) for pattern in cfg.experiments)]
        if not watching:
            return None
        sent = 0
        for cfg in watching:
            if run_id is None:
                sent += await self.run_events(cfg.name)
                continue
            source, feed = self.sources.tracking[cfg.name], self.sources.feeds[cfg.name]
            found = await feed.runs_by_id([project], [f"{project}/{run_id}"])
            if not found:
                continue
            key = f"events:{cfg.name}"
            async with self.locks.setdefault(f"run-events:{cfg.name}", asyncio.Lock()):
                assert cfg.events is not None
                poll = observe(found[0], cfg, cfg.events, WatchState.from_json(self.get(key)), self.app.now())
                names = await self._experiment_names(source, cfg, [project]) if poll.events else {}
                sent += await tell(self.app, self.workspace, poll, cfg, self._events_channel(cfg),
                                   self.tz("experiments"), self.people(cfg.kind), names)
                latest = WatchState.from_json(self.get(key))
                self.set(key, merge_run(latest, poll.state, found[0].run_id).to_json())
        return sent

    async def _experiment_names(self, source: Any, cfg: Any, ids: Sequence[str]) -> dict[str, str]:
        """Experiment names by id, read once per process (names change rarely; a new one is read then)."""
        known: dict[str, str] = self._names.setdefault(cfg.name, {})
        if any(i not in known for i in ids):
            known.update({e.id: e.name for e in await source.experiments(cfg.experiments)})
        return known

    # --- drift ---------------------------------------------------------------------------------
    def alert_records(self) -> list[AlertRecord]:
        return AlertBook(self.get("alertmanager")).records()

    def _monitoring_name(self, model: ModelConfig) -> str | None:
        if not self.config.monitoring:
            return None
        return model.monitoring or self.config.monitoring[0].name

    def _monitoring_of(self, model: ModelConfig) -> MonitoringSource | None:
        name = self._monitoring_name(model)
        return self.sources.monitoring.get(name) if name else None

    def _from_demo(self, models: Sequence[ModelConfig]) -> bool:
        """Whether any of these models is watched through the demo data (drift reports, or registry targets)."""
        return any(name is not None and self.config.is_demo_monitoring(name)
                   for name in (self._monitoring_name(m) for m in models)) or \
            any(t.tracking is not None and self.config.is_demo_tracking([t.tracking]) for m in models for t in m.targets)

    async def health(self, only: str | None = None) -> list[ModelHealth]:
        now = self.app.now()
        tz = self.tz("drift")
        alerts = self.alert_records()
        models = [m for m in self.config.models if only is None or m.name == only]
        configs = {t.name: t for t in self.config.tracking}
        prometheus = self.config.prometheus.url if self.config.prometheus else None
        healths = []
        for model in models:
            targets = await read_targets(model, self.sources.tracking, configs, self.sources.metrics, now, prometheus)
            self._note_target_outages(targets, now)
            health = await assess_model(model, self._monitoring_of(model), self.sources.metrics, alerts, now, tz,
                                        down=self._downs(), targets=targets)
            healths.append(health)
        self._note_outages(healths, now)
        return healths

    def _note_target_outages(self, readings: Sequence[TargetReading], now: datetime) -> None:
        """A tracking source that could not be read for a target is down from then; one that answered is up."""
        for reading in readings:
            if reading.target.check is not None:
                continue
            if reading.why and reading.why.endswith(" unavailable"):
                self.down_since(reading.why.removesuffix(" unavailable"), now)
            elif reading.origin:
                source = self.sources.tracking.get(reading.target.tracking or "")
                if source is not None:
                    self._up(source.name)

    def _note_outages(self, healths: Sequence[ModelHealth], now: datetime) -> None:
        """Record the start of an outage the first time it is seen, and its end when data flows again."""
        reasons = " ".join(r for h in healths for r in h.reasons)
        for name in ("Evidently", "Prometheus"):
            if f"{name} unavailable" in reasons:
                self.down_since(name, now)
            elif healths:
                self._up(name)

    async def drift(self, only: str | None = None) -> DigestMessages:
        healths = await self.health(only)
        prometheus = self.config.prometheus.url if self.config.prometheus else None
        names = {m.id: m.name or m.id for m in self.app.store.list_members(self.workspace)}
        digest = compose_drift(healths, self.tz("drift"), self.app.now(), prometheus, names)
        return demo_labelled(digest) if self._from_demo([h.model for h in healths]) else digest

    async def check_drift(self, *, dry_run: bool = False) -> list[DriftAlert]:
        """Post a drift alert once per state change (OK→ALERT, ALERT→OK), with a cool-down."""
        schedule = self.config.digest("drift")
        if schedule is None:
            return []
        channel = schedule.alerts_channel or schedule.channel
        now = self.app.now()
        tz = schedule.tz
        posted: list[DriftAlert] = []
        healths = await self.health()
        for health in healths:
            name = health.model.name
            state = self.get(f"drift-alert:{name}") or {"posted": "OK"}
            last_alert = datetime.fromisoformat(state["alerted_at"]) if state.get("alerted_at") else None
            if health.status == "ALERT" and state["posted"] != "ALERT":
                if last_alert and now - last_alert < schedule.cooldown:
                    continue
                message = alert_message(health, *self.routed(health.model))
                key = f"drift-alert:{self.workspace}:{name}:{iso_z(now)}"
                state = {"posted": "ALERT", "alerted_at": now.isoformat(), "key": key}
            elif health.status == "OK" and state["posted"] == "ALERT":
                message = back_to_ok(name, last_alert or now, tz, now)
                key = f"drift-ok:{self.workspace}:{name}:{iso_z(now)}"
                state = {**state, "posted": "OK"}
            else:
                continue
            if self._from_demo([health.model]):
                message = demo_noted(message)
            posted.append(DriftAlert(name, health.status, message))
            if not dry_run:
                await self.app.outbox.post(key, self.workspace, channel, message)
                self.set(f"drift-alert:{name}", state)
                if health.status == "ALERT":
                    self._log_drift_alert(name, now)
        for health in healths:
            posted.extend(await self._target_crossings(health, channel, tz, now, dry_run))
        return posted

    async def _target_crossings(self, health: ModelHealth, channel: str, tz: str, now: datetime,
                                dry_run: bool) -> list[DriftAlert]:
        """Post each target that crossed (met → not met, or back) since the last check, once.

        The post's key counts the target's crossings, so a check re-run after a crash between the post
        and the state being kept finds the post already in the outbox and sends nothing twice."""
        posted: list[DriftAlert] = []
        for reading in health.targets:
            state_key = f"target:{health.model.name}:{reading.metric}"
            crossing, state = crossing_of(reading, self.get(state_key), now)
            if crossing is None:
                if not dry_run and state != self.get(state_key):
                    self.set(state_key, state)
                continue
            message = crossing_message(crossing, tz, now)
            over = self._over_to(health.model)
            if over is not None:
                message = Message((*message.blocks, over), fallback=f"{message.fallback}\n{plain(over.text)}")
            tracking = reading.target.tracking
            if tracking is not None and self.config.is_demo_tracking([tracking]):
                message = demo_noted(message)
            posted.append(DriftAlert(health.model.name, f"{reading.metric} {reading.state}", message))
            if not dry_run:
                key = f"target:{self.workspace}:{health.model.name}:{reading.metric}:{crossing.count}"
                await self.app.outbox.post(key, self.workspace, channel, message)
                self.set(state_key, state)
        return posted

    def _log_drift_alert(self, model: str, now: datetime) -> None:
        keep_after = now - timedelta(days=DRIFT_ALERT_LOG_DAYS)
        raised = [e for e in self.get("drift-alerts") or [] if datetime.fromisoformat(e["at"]) > keep_after]
        self.set("drift-alerts", [*raised, {"model": model, "at": now.isoformat()}])

    def drift_alerts_raised(self, since: datetime, until: datetime) -> list[str]:
        """The models (one entry per alert) whose drift ALERT was posted in (since, until]."""
        return [e["model"] for e in self.get("drift-alerts") or []
                if since < datetime.fromisoformat(e["at"]) <= until]

    def responsible(self, model: ModelConfig) -> list[tuple[Member | str, str]]:
        """Who an ALERT mentions: RACI's R and A for the model when known, else its owner."""
        if self.owners is not None:
            found = self.owners.owners(self.workspace, model.activity or model.name)
            if found is not None:
                responsible, accountable = found
                people: list[tuple[Member | str, str]] = [(m, "R") for m in responsible]
                if accountable is not None:
                    people.append((accountable, "A"))
                if people:
                    return people
        if model.owner:
            member = self.app.store.get_member(self.workspace, model.owner)
            return [(member or model.owner, "owner")]
        return []

    def routed(self, model: ModelConfig, urgent: bool = False) -> tuple[Routing, list[tuple[str, str]]]:
        """``responsible`` routed on each person's clock now, and the owners who are not members."""
        who = self.responsible(model)
        members = [(m, role) for m, role in who if isinstance(m, Member)]
        routing = route(members, self.app.now(), partial(self.app.store.get_member, self.workspace), urgent)
        return routing, [(m, role) for m, role in who if isinstance(m, str)]

    def with_owners(self, message: Message, labels: Mapping[str, str]) -> Message:
        """A firing Alertmanager alert about a known model, with who it is over to.

        ``severity: critical`` makes it urgent: whoever is not away is pinged, at any hour, and
        the line says so; otherwise only people in their working hours are."""
        model = next((m for m in self.config.models if m.name == labels.get("model")), None)
        if model is None:
            return message
        over = self._over_to(model, labels.get("severity", "").lower() == "critical")
        if over is None:
            return message
        blocks = list(message.blocks)
        blocks.insert(len(blocks) - 1 if blocks and isinstance(blocks[-1], Actions) else len(blocks), over)  # above the buttons
        return Message(tuple(blocks), fallback=f"{message.fallback}\n{plain(over.text)}")

    def _over_to(self, model: ModelConfig, urgent: bool = False) -> Section | None:
        """"Over to @Ravi (R), @Alice (A)": the model's people routed on their clocks (``None`` when nobody)."""
        routing, others = self.routed(model, urgent)
        if not routing.people and not others:
            return None
        parts: list[Inline] = ["Over to ", *named(routing.people, roles=True)]
        parts.extend(f"{', ' if i or routing.people else ''}{who} ({role})" for i, (who, role) in enumerate(others))
        if urgent:
            parts.append(" · critical: pinged at any hour, except those away")
        return Section(tuple(parts))

    # --- webhooks ------------------------------------------------------------------------------
    def _alert_channel(self) -> str | None:
        if self.config.alertmanager and self.config.alertmanager.channel:
            return self.config.alertmanager.channel
        schedule = self.config.digest("drift")
        return (schedule.alerts_channel or schedule.channel) if schedule else None

    async def alerts_received(self, events: Sequence[AlertEvent]) -> int:
        """Queue a webhook's alerts as one due-work item, durably; ``post_alerts`` runs when it is due."""
        key = f"alertmanager-batch:{self.workspace}:{uuid.uuid4().hex}"
        self.app.store.schedule([DueItem(key, ALERTS_RECEIVED, self.workspace, self.app.now(),
                                         {"alerts": [event_to_json(e) for e in events]})])
        return len(events)

    async def post_alerts(self, events: Sequence[AlertEvent]) -> int:
        """Record Alertmanager alerts; post a firing one once, and update that post when it resolves."""
        now = self.app.now()
        tz = self.tz("drift")
        book = AlertBook(self.get("alertmanager"))
        channel = self._alert_channel()
        kept_before = {e.get("key") for e in book.entries.values()}
        sent = 0
        for event in events:
            flapped = int((book.entries.get(event.fingerprint) or {}).get("refired") or 0)
            entry = book.record(event, now)
            if channel is None:
                continue
            reopened = int(entry.get("refired") or 0) > flapped
            if event.status == "firing" and entry["key"] is None:
                key = f"alertmanager:{self.workspace}:{event.fingerprint}:{entry['starts_at']}"
                entry["key"] = key
                message = self.with_owners(alertmanager_message(entry, tz, now,
                                                                can_silence=self.sources.silences is not None),
                                           event.labels)
                await self.app.outbox.post(key, self.workspace, channel, message)
                sent += 1
            elif (event.status == "resolved" or reopened) and entry["key"]:
                async with self._lock(entry["key"]):
                    message = alertmanager_message(entry, tz, now, self._desk(entry["key"]),
                                                   can_silence=self.sources.silences is not None)
                    if reopened:  # firing again: who it is over to, as when first posted
                        message = self.with_owners(message, event.labels)
                    await self.app.outbox.update(self.workspace, entry["key"], message)
                sent += 1
        book.prune(now)
        self.set("alertmanager", book.to_json())
        for gone in kept_before - {e.get("key") for e in book.entries.values()}:
            if gone:  # the press log goes with its post (two days after it resolved, or when it fires anew)
                self.app.store.kv_delete(self.workspace, f"digests:alert-desk:{gone}")
                self.locks.pop(gone, None)
        return sent

    # --- alert buttons ---------------------------------------------------------------------------
    def _lock(self, key: str) -> asyncio.Lock:
        return self.locks.setdefault(key, asyncio.Lock())

    def _desk(self, key: str) -> AlertDesk:
        return AlertDesk.from_json(self.get(f"alert-desk:{key}"))

    async def alert_pressed(self, member: Member, action_id: str, key: str) -> Message | None:
        """A press of an alert's button: do it, record who/what/when, edit the post for all; the presser's answer.

        A press is refused with one line (nothing recorded) when Alertmanager cannot silence; a second
        Silence while one runs answers with the running one instead of making another.
        """
        entry = next((e for e in AlertBook(self.get("alertmanager")).entries.values() if key and e.get("key") == key),
                     None)
        if entry is None:
            return Message.text("That alert is over and no longer tracked here; use the newest post about it.")
        async with self._lock(key):
            desk = self._desk(key)
            now = self.app.now()
            tz = member.tz or self.tz("drift")
            if action_id == ONIT:
                answer = self._on_it(desk, member, now)
            elif action_id.startswith(SILENCE):
                answer = await self._silence(desk, entry, member, action_id.removeprefix(SILENCE), now, tz)
            elif action_id == LIFT:
                answer = await self._lift(desk, member, now, tz)
            else:
                return None  # the Runbook link button: the page opened, nothing to do
            if answer.changed:
                self.set(f"alert-desk:{key}", desk.to_json())
                message = alertmanager_message(entry, self.tz("drift"), now, desk,
                                               can_silence=self.sources.silences is not None)
                if entry.get("status") == "firing":  # the post keeps saying who it is over to
                    message = self.with_owners(message, entry.get("labels") or {})
                await self.app.outbox.update(self.workspace, key, message)
            return Message.text(answer.text)

    def _on_it(self, desk: AlertDesk, member: Member, now: datetime) -> _Answer:
        if any(p["id"] == member.id for p in desk.on_it):
            return _Answer("You are already down as on it.")
        desk.on_it.append({"id": member.id, "name": member.name, "at": now.isoformat()})
        desk.note(member.id, member.name, "on it", now)
        return _Answer("You are on it; the alert says so for everyone.", changed=True)

    async def _silence(self, desk: AlertDesk, entry: Mapping[str, Any], member: Member, length: str,
                       now: datetime, tz: str) -> _Answer:
        span = next((d for label, d in SILENCE_FOR.items() if label.replace(" ", "") == length), None)
        api = self.sources.silences
        if span is None or api is None:
            return _Answer("Silencing is not set up here: add sources.alertmanager.url to the team file "
                           "(or the MERIDIAN_ALERTMANAGER_URL setting).")
        if entry.get("status") != "firing":
            return _Answer("That alert has resolved; there is nothing to silence.")
        if desk.silenced(now) and desk.silence:
            running = clock(datetime.fromisoformat(desk.silence["until"]), tz, now)
            return _Answer(f"Already silenced by {desk.silence['name']} until {running}; nothing more was done.")
        labels = entry.get("labels") or {}
        if not labels:
            return _Answer("This alert carries no labels, so no silence can match it; silence it in Alertmanager.")
        until = now + span
        comment = f"Silenced from Meridian by {member.name} for {length.replace('h', ' h')}"
        try:
            silence_id = await api.create(labels, now, until, member.name, comment)
        except SourceUnavailable:
            return _Answer(f"Alertmanager did not answer ({self._alertmanager_at()}); nothing was silenced. "
                           "Try again shortly.")
        except SilenceRefused as err:
            return _Answer(f"Alertmanager refused the silence: {err}. Nothing was silenced.")
        desk.silence = {"id": silence_id, "by": member.id, "name": member.name, "until": until.isoformat(),
                        "at": now.isoformat()}
        self._check_silenced_at(str(entry["key"]), silence_id, min(now + self._check_every(), until))
        desk.note(member.id, member.name, f"silenced {length.replace('h', ' h')}", now)
        return _Answer(f"Silenced until {clock(until, tz, now)} (Alertmanager silence {silence_id}).", changed=True)

    def _check_every(self) -> timedelta:
        return self.config.alertmanager.check_every if self.config.alertmanager else timedelta(minutes=1)

    def _check_silenced_at(self, key: str, silence_id: str, at: datetime) -> None:
        self.app.store.schedule([DueItem(f"alert-silenced:{self.workspace}:{silence_id}:{at.isoformat()}",
                                         SILENCED_CHECK, self.workspace, at, {"key": key, "silence": silence_id})])

    async def check_silenced(self, key: str, silence_id: str) -> bool:
        """Alertmanager sends nothing for an alert a silence mutes, not even its resolution, and forgets a
        resolved alert before the silence ends; so while a silence from Meridian runs, ask Alertmanager
        every ``check_every`` whether the alert still fires, and edit the post to resolved when it does
        not. Stops when the silence is lifted or over (Alertmanager notifies again). ``True`` when resolved."""
        api = self.sources.silences
        book = AlertBook(self.get("alertmanager"))
        found = next(((fp, e) for fp, e in book.entries.items() if e.get("key") == key), None)
        silence = self._desk(key).silence
        if api is None or found is None or found[1].get("status") != "firing" or not silence \
                or silence.get("id") != silence_id or silence.get("lifted_at") or silence.get("ended"):
            return False
        fingerprint, entry = found
        now = self.app.now()
        try:
            still = await api.firing(entry.get("labels") or {})
        except SourceUnavailable as err:
            log.info("could not look up silenced alert %s in Alertmanager: %s", entry.get("name"), err)
            still = True
        if not still:
            await self.post_alerts([AlertEvent(fingerprint, "resolved", str(entry["name"]),
                                               labels=entry.get("labels") or {}, ends_at=now)])
            return True
        until = datetime.fromisoformat(silence["until"])
        if now < until:  # one look more at its end; after it Alertmanager delivers the resolution itself
            self._check_silenced_at(key, silence_id, min(now + self._check_every(), until))
        return False

    def _alertmanager_at(self) -> str:
        """Where the buttons reach Alertmanager, for the line a presser reads when it does not answer (the
        technical reason is in the log)."""
        return (self.config.alertmanager.url or "") if self.config.alertmanager else ""

    async def _lift(self, desk: AlertDesk, member: Member, now: datetime, tz: str) -> _Answer:
        api = self.sources.silences
        s = desk.silence
        if api is None or not s or s.get("lifted_at") or s.get("ended"):
            return _Answer("There is no silence from Meridian to lift on this alert.")
        try:
            found = await api.get(s["id"])
            if found is None or found.state == "expired":
                s["ended"] = (found.ends_at if found else now).isoformat()
                desk.note(member.id, member.name, "found the silence already over", now)
                when = clock(found.ends_at, tz, now) if found else "a while ago"
                return _Answer(f"That silence had already ended ({when}); there was nothing to lift.", changed=True)
            await api.expire(s["id"])
        except SourceUnavailable:
            return _Answer(f"Alertmanager did not answer ({self._alertmanager_at()}); the silence is still on. "
                           "Try again shortly.")
        except SilenceRefused as err:
            return _Answer(f"Alertmanager refused to lift the silence: {err}. It is still on.")
        s["lifted_by"], s["lifted_at"] = member.name, now.isoformat()
        desk.note(member.id, member.name, "lifted the silence", now)
        return _Answer("Silence lifted; the alert notifies again.", changed=True)

    async def registry_event(self, entity: str, action: str, data: Mapping[str, Any], delivery_id: str) -> bool:
        """Post MLflow registry news as it happens, with the version's metric against the champion's; ``False``
        for events that are not model news (prompts, budgets) or when there is no experiments digest."""
        schedule = self.config.digest("experiments")
        if schedule is None or (entity, action) not in REGISTRY_EVENTS:
            return False
        key = f"mlflow-hook:{self.workspace}:{delivery_id}"
        if self.app.outbox.sent(key) is not None:  # MLflow retried a delivery we had posted: read nothing again
            return True
        name = str(data.get("name") or "")
        alias, version = str(data.get("alias") or ""), str(data.get("version") or "")
        cfg = self._registry_source(name)
        champions = {t.champion_alias for t in self.config.tracking} or {"champion"}
        known = self._aliases_known(name, cfg)
        previous = known.get(alias) if alias else None
        standing: VersionStanding | None = None
        source = self.sources.tracking.get(cfg.name) if cfg else None
        reads = (entity in ("model_version", "model_version_alias") and action == "created") or \
            (entity, action) == ("model_version_tag", "set")
        if cfg is not None and source is not None and version and reads:
            try:
                promotion = entity == "model_version_alias" and alias in champions
                champion: str | None
                if promotion:  # measured against the champion it replaces (none the first time)
                    champion = previous or version
                else:
                    model = await source.registered_model(name)
                    champion = model.aliases.get(cfg.champion_alias) if model else None
                run_id = str(data.get("run_id") or "") or None
                standing = await version_standing(source, cfg, name, version, run_id, champion, former=promotion)
            except SourceUnavailable as err:
                log.warning("registry event %s.%s for %s: %s", entity, action, name, err)
                standing = VersionStanding(cfg.metric, cfg.goal, None, None, unavailable=source.name)
        message = registry_event_message(entity, action, data, champions, standing, previous)
        if message is None:
            return False
        if entity == "model_version_alias" and alias:
            if action == "created":
                known[alias] = version
            else:
                known.pop(alias, None)
            self.set(f"registry:aliases:{name}", known)
        await self.app.outbox.post(key, self.workspace, schedule.channel, message)
        return True

    def _registry_source(self, name: str) -> Any:
        """The MLflow source whose ``models`` list the model, else the first MLflow source."""
        mlflow = [t for t in self.config.tracking if t.kind == "mlflow"]
        return next((t for t in mlflow if name in t.models), mlflow[0] if mlflow else None)

    def _aliases_known(self, name: str, cfg: Any) -> dict[str, str]:
        """The model's aliases as Meridian last heard them: from earlier webhooks, else from the last digest."""
        heard = self.get(f"registry:aliases:{name}")
        if isinstance(heard, dict):
            return {str(k): str(v) for k, v in heard.items()}
        if cfg is None:
            return {}
        return dict(ExperimentsState.from_json(self.get(f"experiments:{cfg.name}")).aliases.get(name, {}))


class DigestRegistry:
    """The digest services of every workspace, built from each workspace's stored team-file sections."""

    CONFIG_KEY = "digests:config"

    def __init__(self, app: Meridian, build_sources: SourceFactory, charts: ChartPublisher | None = None,
                 owners: ActivityOwners | None = None, defaults: SourceDefaults | None = None) -> None:
        self.app = app
        self.build_sources = build_sources
        self.charts = charts
        self.owners = owners
        self.defaults = defaults or SourceDefaults()
        self._by_workspace: dict[str, tuple[Any, DigestService]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def parse(self, raw: Mapping[str, Any]) -> SourcesConfig:
        """``sources:``/``digests:`` checked, with this deployment's default addresses filled in."""
        return parse_sources(raw, self.defaults)

    def configure(self, workspace: str, raw: Mapping[str, Any], sources: SourceSet | None = None) -> DigestService:
        """Keep a workspace's ``sources:``/``digests:`` and build its service (``sources`` given in tests)."""
        config = self.parse(raw)
        stored = {"sources": raw.get("sources"), "digests": raw.get("digests")}
        self.app.store.kv_set(workspace, self.CONFIG_KEY, stored)
        service = self._service(workspace, config, sources or self.build_sources(config))
        self._by_workspace[workspace] = (stored, service)
        return service

    def get(self, workspace: str) -> DigestService | None:
        stored = self.app.store.kv_get(workspace, self.CONFIG_KEY)
        if not stored:
            return None
        cached = self._by_workspace.get(workspace)
        if cached is not None and cached[0] == stored:
            return cached[1]
        try:
            config = self.parse(stored)
            sources = self.build_sources(config)
        except SourcesConfigError as err:
            log.error("workspace %s: stored digest configuration is invalid: %s", workspace, err)
            return None
        service = self._service(workspace, config, sources)
        self._by_workspace[workspace] = (stored, service)
        return service

    def _service(self, workspace: str, config: SourcesConfig, sources: SourceSet) -> DigestService:
        return DigestService(self.app, config, sources, workspace, self.charts, self.owners, self._locks)

    def configured(self) -> list[str]:
        """The workspaces that have sources."""
        return [ws.id for ws in self.app.store.list_workspaces() if self.get(ws.id) is not None]
