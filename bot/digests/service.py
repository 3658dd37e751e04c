"""Digests as a capability: scheduled posts, on-demand commands, drift alerts, webhooks.

``install`` registers everything on a ``Meridian``: the ``/experiments`` and ``/drift``
command families, a planner that turns the team file's ``digests:`` into due work,
the handlers that post, and a ``DigestService`` in ``app.services["digests"]`` that
the webhook routes and the CLI call.

Outages are handled here, once: a source that cannot answer gives one
"unavailable since" line, its watermark stays where it was, and a retry is scheduled
with backoff; when it answers again the missing part is posted in the digest's thread.
Nothing a source does can stop another digest or the scheduler.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from bot.digests.build import (
    ICON,
    AlertRecord,
    DigestMessages,
    ExperimentsReport,
    ExperimentsState,
    ModelHealth,
    People,
    assess_model,
    column_text,
    compose_drift,
    compose_experiments,
    gather_experiments,
)
from bot.digests.charts import ChartPublisher
from bot.digests.config import DigestSchedule, ModelConfig, SourcesConfig, SourcesConfigError, parse_sources
from bot.digests.sources import AlertEvent, MetricsSource, MonitoringSource, SourceUnavailable, TrackingSource
from bot.digests.text import clock, duration
from bot.kernel.commands import CommandError, CommandFamily, Invocation, Reply, Subcommand
from bot.kernel.domain import Member
from bot.kernel.messages import Context, Inline, Mention, Message, Section, Strong, plain, rich
from bot.kernel.ports import ClaimedItem, DueItem
from bot.kernel.teamfile import TeamFile, register_section
from bot.kernel.timekeeping import at_local, iso_z, local_date

if TYPE_CHECKING:
    from bot.kernel.app import Meridian

log = logging.getLogger("meridian.digests")

RETRY_BACKOFF = (timedelta(minutes=5), timedelta(minutes=15), timedelta(minutes=45), timedelta(hours=2))
ALERT_KEEP = timedelta(hours=48)


@dataclass
class SourceSet:
    """The adapters behind the configured sources, by the names the team file gives them."""

    tracking: dict[str, TrackingSource] = field(default_factory=dict)
    monitoring: dict[str, MonitoringSource] = field(default_factory=dict)
    metrics: MetricsSource | None = None


SourceFactory = Callable[[SourcesConfig], SourceSet]


class RaciOwners(Protocol):
    """What the digests need from RACI: the Responsible and Accountable of an activity."""

    def owners(self, workspace: str, activity: str) -> tuple[list[Member], Member | None] | None: ...


@dataclass
class ExperimentsRun:
    """One build of the experiments digest and the state it would leave behind."""

    digest: DigestMessages
    reports: list[ExperimentsReport] = field(default_factory=list)
    down: list[str] = field(default_factory=list)
    """Tracking sources (team-file names) that could not answer."""
    states: dict[str, ExperimentsState] = field(default_factory=dict)


@dataclass(frozen=True)
class DriftAlert:
    """A state change the drift check posted (or would post, in a dry run)."""

    model: str
    status: str
    message: Message


class DigestService:
    def __init__(self, app: Meridian, config: SourcesConfig, sources: SourceSet, workspace: str,
                 charts: ChartPublisher | None = None) -> None:
        self.app = app
        self.config = config
        self.sources = sources
        self.workspace = workspace
        self.charts = charts

    async def close(self) -> None:
        """Close the sources' HTTP sessions (a CLI run ends its event loop after one digest)."""
        sources: list[Any] = [*self.sources.tracking.values(), *self.sources.monitoring.values(), self.sources.metrics]
        for source in sources:
            closer = getattr(source, "close", None)
            if closer is not None:
                await closer()

    # --- small state ------------------------------------------------------------------------
    def _get(self, key: str) -> Any:
        return self.app.store.kv_get(self.workspace, f"digests:{key}")

    def _set(self, key: str, value: Any) -> None:
        self.app.store.kv_set(self.workspace, f"digests:{key}", value)

    def down_since(self, source: str, now: datetime) -> datetime:
        """When a source first failed in its current outage (recorded at the first failure)."""
        raw = self._get(f"down:{source}")
        if raw:
            return datetime.fromisoformat(raw)
        self._set(f"down:{source}", now.isoformat())
        return now

    def _up(self, source: str) -> None:
        if self._get(f"down:{source}"):
            self.app.store.kv_delete(self.workspace, f"digests:down:{source}")

    def _downs(self) -> dict[str, datetime]:
        out = {}
        for name in ("MLflow", "W&B", "Evidently", "Prometheus"):
            raw = self._get(f"down:{name}")
            if raw:
                out[name] = datetime.fromisoformat(raw)
        return out

    def tz(self, kind: str) -> str:
        schedule = self.config.digest(kind)
        if schedule:
            return schedule.tz
        ws = self.app.store.get_workspace(self.workspace)
        return ws.tz if ws else "UTC"

    def people(self, platform: str) -> People:
        return People.of(self.app.store.list_members(self.workspace), platform)

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
            state = ExperimentsState.from_json(self._get(f"experiments:{cfg.name}"))
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
        run.digest = compose_experiments(run.reports, people, tz, now, error_tag=error_tag, charts=chart_url)
        return run

    def commit(self, run: ExperimentsRun) -> None:
        """Keep the watermarks of a digest the outbox now holds, so its runs are never reported again."""
        for name, state in run.states.items():
            self._set(f"experiments:{name}", state.to_json())

    async def post_digest(self, key: str, channel: str, digest: DigestMessages,
                          thread_key: str | None = None) -> None:
        outbox = self.app.outbox
        await outbox.post(key, self.workspace, channel, digest.headline, thread_key=thread_key)
        parent = thread_key or key
        for i, detail in enumerate(digest.details):
            await outbox.post(f"{key}:detail:{i}", self.workspace, channel, detail, thread_key=parent)

    # --- drift ---------------------------------------------------------------------------------
    def alert_records(self) -> list[AlertRecord]:
        book = self._get("alertmanager") or {}
        out = []
        for fp, raw in book.items():
            out.append(AlertRecord(fingerprint=fp, name=raw["name"], status=raw["status"],
                                   starts_at=datetime.fromisoformat(raw["starts_at"]),
                                   ends_at=datetime.fromisoformat(raw["ends_at"]) if raw.get("ends_at") else None,
                                   summary=raw.get("summary", ""), model=raw.get("model")))
        return out

    def _model_sources(self, model: ModelConfig) -> MonitoringSource | None:
        if not self.config.monitoring:
            return None
        name = model.monitoring or self.config.monitoring[0].name
        return self.sources.monitoring.get(name)

    async def health(self, only: str | None = None) -> list[ModelHealth]:
        now = self.app.now()
        tz = self.tz("drift")
        alerts = self.alert_records()
        models = [m for m in self.config.models if only is None or m.name == only]
        healths = []
        for model in models:
            health = await assess_model(model, self._model_sources(model), self.sources.metrics, alerts, now, tz,
                                        down=self._downs())
            healths.append(health)
        self._note_outages(healths, now)
        return healths

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
        return compose_drift(healths, self.tz("drift"), self.app.now())

    async def check_drift(self, *, dry_run: bool = False) -> list[DriftAlert]:
        """Post a drift alert once per state change (OK→ALERT, ALERT→OK), with a cool-down."""
        schedule = self.config.digest("drift")
        if schedule is None:
            return []
        channel = schedule.alerts_channel or schedule.channel
        now = self.app.now()
        tz = schedule.tz
        posted: list[DriftAlert] = []
        for health in await self.health():
            name = health.model.name
            state = self._get(f"drift-alert:{name}") or {"posted": "OK"}
            last_alert = datetime.fromisoformat(state["alerted_at"]) if state.get("alerted_at") else None
            if health.status == "ALERT" and state["posted"] != "ALERT":
                if last_alert and now - last_alert < schedule.cooldown:
                    continue
                message = self.alert_message(health, tz, now)
                key = f"drift-alert:{self.workspace}:{name}:{iso_z(now)}"
                state = {"posted": "ALERT", "alerted_at": now.isoformat(), "key": key}
            elif health.status == "OK" and state["posted"] == "ALERT":
                since = last_alert or now
                message = Message.text(f"✅ {name} is back to OK (was ALERT since {clock(since, tz, now)}, "
                                       f"{duration(now - since)}).")
                key = f"drift-ok:{self.workspace}:{name}:{iso_z(now)}"
                state = {**state, "posted": "OK"}
            else:
                continue
            posted.append(DriftAlert(name, health.status, message))
            if not dry_run:
                await self.app.outbox.post(key, self.workspace, channel, message)
                self._set(f"drift-alert:{name}", state)
        return posted

    def _responsible(self, model: ModelConfig) -> list[tuple[Member | str, str]]:
        """Who an ALERT mentions: RACI's R and A for the model when known, else its owner."""
        raci: RaciOwners | None = self.app.services.get("raci")
        if raci is not None:
            found = raci.owners(self.workspace, model.activity or model.name)
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

    def alert_message(self, health: ModelHealth, tz: str, now: datetime) -> Message:
        name = health.model.name
        head: list[Inline] = [Strong(f"{ICON['ALERT']} {name} drift ALERT"), ": " + "; ".join(health.reasons)]
        blocks: list[Section | Context] = [Section(tuple(head))]
        if health.columns:
            blocks.append(Section(rich("Top drifted columns:", *(f"\n• {column_text(c)}" for c in health.columns[:5]))))
        who = self._responsible(health.model)
        if who:
            parts: list[Inline] = ["Over to "]
            for i, (person, role) in enumerate(who):
                if i:
                    parts.append(", ")
                parts.append(Mention(person.id, person.name) if isinstance(person, Member) else person)
                parts.append(f" ({role})")
            blocks.append(Section(tuple(parts)))
        return Message(tuple(blocks), fallback="\n".join(plain(b.text) for b in blocks))

    # --- webhooks ------------------------------------------------------------------------------
    def _alert_channel(self) -> str | None:
        if self.config.alertmanager and self.config.alertmanager.channel:
            return self.config.alertmanager.channel
        schedule = self.config.digest("drift")
        return (schedule.alerts_channel or schedule.channel) if schedule else None

    async def alerts_received(self, events: Sequence[AlertEvent]) -> int:
        """Record Alertmanager alerts; post a firing one once, and update that post when it resolves."""
        now = self.app.now()
        tz = self.tz("drift")
        book: dict[str, Any] = dict(self._get("alertmanager") or {})
        channel = self._alert_channel()
        sent = 0
        for event in events:
            starts = event.starts_at or now
            entry: dict[str, Any] | None = book.get(event.fingerprint)
            if entry is None or (event.status == "firing" and entry["starts_at"] != starts.isoformat()):
                entry = {"name": event.name, "starts_at": starts.isoformat(), "model": event.labels.get("model"),
                         "summary": event.annotations.get("summary") or event.annotations.get("description", ""),
                         "status": event.status, "ends_at": None, "key": None}
            entry["status"] = event.status
            if event.status == "resolved":
                entry["ends_at"] = (event.ends_at or now).isoformat()
            book[event.fingerprint] = entry
            if channel is None:
                continue
            message = self._alertmanager_message(entry, tz, now, event.url)
            if event.status == "firing" and entry["key"] is None:
                key = f"alertmanager:{self.workspace}:{event.fingerprint}:{entry['starts_at']}"
                entry["key"] = key
                await self.app.outbox.post(key, self.workspace, channel, message)
                sent += 1
            elif event.status == "resolved" and entry["key"]:
                await self.app.outbox.update(self.workspace, entry["key"], message)
                sent += 1
        keep_after = now - ALERT_KEEP
        book = {fp: e for fp, e in book.items()
                if e["status"] == "firing" or datetime.fromisoformat(e["ends_at"]) > keep_after}
        self._set("alertmanager", book)
        return sent

    @staticmethod
    def _alertmanager_message(entry: Mapping[str, Any], tz: str, now: datetime, url: str | None) -> Message:
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

    async def registry_event(self, entity: str, action: str, data: Mapping[str, Any], delivery_id: str) -> bool:
        """Post MLflow registry news as it happens ("model promoted"); ``False`` for events we ignore."""
        schedule = self.config.digest("experiments")
        if schedule is None:
            return False
        name, version, alias = data.get("name"), data.get("version"), data.get("alias")
        champion = {t.champion_alias for t in self.config.tracking} or {"champion"}
        if entity == "model_version_alias" and action == "created" and name and version and alias:
            if alias in champion:
                text = f"🏆 {name} v{version} promoted to {alias}."
            else:
                text = f"🔀 {name}@{alias} now points to v{version}."
        elif entity == "model_version_alias" and action == "deleted" and name and alias:
            text = f"🔀 {name}@{alias} removed."
        elif entity == "model_version" and action == "created" and name and version:
            text = f"📦 {name} v{version} registered."
        else:
            return False
        await self.app.outbox.post(f"mlflow-hook:{self.workspace}:{delivery_id}", self.workspace,
                                   schedule.channel, Message.text(text))
        return True


# =========================================================================================
# Scheduling
# =========================================================================================

def occurrence_key(workspace: str, schedule: DigestSchedule, day: str) -> str:
    return f"digest:{schedule.kind}:{workspace}:{schedule.channel}:{day}"


def plan_digests(workspace: str, config: SourcesConfig, start: datetime, end: datetime) -> list[DueItem]:
    """Digest occurrences and drift checks in [start, end); keys are unique per occurrence."""
    items: list[DueItem] = []
    for schedule in config.digests:
        first = local_date(start, schedule.tz) - timedelta(days=1)
        last = local_date(end, schedule.tz) + timedelta(days=1)
        day = first
        while day <= last:
            instant = at_local(day, schedule.at, schedule.tz)
            if start <= instant < end and day.strftime("%a").lower() in schedule.days:
                items.append(DueItem(occurrence_key(workspace, schedule, day.isoformat()), f"digest.{schedule.kind}",
                                     workspace, instant, {"channel": schedule.channel, "day": day.isoformat(),
                                                                "tz": schedule.tz}))
            day += timedelta(days=1)
        if schedule.kind == "drift":
            step = int(schedule.check_every.total_seconds())
            tick = (int(start.timestamp()) + step - 1) // step * step
            while tick < end.timestamp():
                instant = datetime.fromtimestamp(tick, tz=start.tzinfo)
                items.append(DueItem(f"drift-check:{workspace}:{iso_z(instant)}", "digest.drift-check", workspace,
                                     instant, {}))
                tick += step
    return items


class Digests:
    """The digest services of every workspace, built from each workspace's stored team-file sections."""

    CONFIG_KEY = "digests:config"

    def __init__(self, app: Meridian, build_sources: SourceFactory, charts: ChartPublisher | None = None) -> None:
        self.app = app
        self.build_sources = build_sources
        self.charts = charts
        self._services: dict[str, tuple[Any, DigestService]] = {}

    def configure(self, workspace: str, raw: Mapping[str, Any], sources: SourceSet | None = None) -> DigestService:
        """Keep a workspace's ``sources:``/``digests:`` and build its service (``sources`` given in tests)."""
        config = parse_sources(raw)
        stored = {"sources": raw.get("sources"), "digests": raw.get("digests")}
        self.app.store.kv_set(workspace, self.CONFIG_KEY, stored)
        service = DigestService(self.app, config, sources or self.build_sources(config), workspace, self.charts)
        self._services[workspace] = (stored, service)
        return service

    def get(self, workspace: str) -> DigestService | None:
        stored = self.app.store.kv_get(workspace, self.CONFIG_KEY)
        if not stored:
            return None
        cached = self._services.get(workspace)
        if cached is not None and cached[0] == stored:
            return cached[1]
        try:
            config = parse_sources(stored)
        except SourcesConfigError as err:
            log.error("workspace %s: stored digest configuration is invalid: %s", workspace, err)
            return None
        service = DigestService(self.app, config, self.build_sources(config), workspace, self.charts)
        self._services[workspace] = (stored, service)
        return service

    def require(self, workspace: str) -> DigestService:
        service = self.get(workspace)
        if service is None:
            raise CommandError("No sources are configured for this workspace; add `sources:` and `digests:` "
                               "to the team file and import it.")
        return service

    def plan(self, start: datetime, end: datetime) -> list[DueItem]:
        items: list[DueItem] = []
        for ws in self.app.store.list_workspaces():
            service = self.get(ws.id)
            if service is not None:
                items.extend(plan_digests(ws.id, service.config, start, end))
        return items


def _registry(app: Meridian) -> Digests:
    registry: Digests = app.services["digests"]
    return registry


def _service(app: Meridian, workspace: str) -> DigestService:
    service = _registry(app).get(workspace)
    if service is None:
        raise LookupError(f"workspace {workspace} has no digest configuration")
    return service


async def post_experiments_digest(service: DigestService, key: str, channel: str,
                                  sources: Sequence[str] = ()) -> ExperimentsRun:
    """Build, post and commit one experiments digest; the run tells which tracking sources were down."""
    run = await service.experiments(sources=sources)
    await service.post_digest(key, channel, run.digest)
    service.commit(run)
    return run


def _schedule_retry(service: DigestService, item_key: str, channel: str, down: Sequence[str], attempt: int) -> None:
    if not down or attempt > len(RETRY_BACKOFF):
        return
    due = service.app.now() + RETRY_BACKOFF[attempt - 1]
    service.app.store.schedule([DueItem(f"{item_key}:retry:{attempt}", "digest.experiments-retry", service.workspace,
                                        due, {"channel": channel, "parent": item_key, "sources": list(down),
                                              "attempt": attempt})])


async def _on_experiments(app: Meridian, item: ClaimedItem) -> None:
    service = _service(app, item.workspace)
    channel = item.payload["channel"]
    schedule = service.config.digest("experiments")
    run = await post_experiments_digest(service, item.key, channel, schedule.sources if schedule else ())
    _schedule_retry(service, item.key, channel, run.down, 1)


async def _on_experiments_retry(app: Meridian, item: ClaimedItem) -> None:
    """Try the sources that were down again; post what they have in the digest's thread once they answer."""
    service = _service(app, item.workspace)
    payload = item.payload
    run = await service.experiments(sources=payload["sources"])
    digest, down = run.digest, run.down
    back = [s for s in payload["sources"] if s not in down]
    if back:
        names = ", ".join(back)
        headline = Message((Section(rich(f"✅ {names} answered again; here is what it missed:")), *digest.headline.blocks),
                           fallback=f"✅ {names} answered again.\n{digest.headline.fallback}")
        await service.post_digest(item.key, payload["channel"], DigestMessages(headline, digest.details),
                                  thread_key=payload["parent"])
        service.commit(run)
    _schedule_retry(service, payload["parent"], payload["channel"], down, int(payload["attempt"]) + 1)


async def _on_drift(app: Meridian, item: ClaimedItem) -> None:
    service = _service(app, item.workspace)
    await service.post_digest(item.key, item.payload["channel"], await service.drift())


async def _on_drift_check(app: Meridian, item: ClaimedItem) -> None:
    await _service(app, item.workspace).check_drift()


# =========================================================================================
# Commands
# =========================================================================================

async def _experiments_command(app: Meridian, inv: Invocation, args: list[str]) -> Reply:
    service = _registry(app).require(inv.workspace)
    if not service.config.tracking:
        raise CommandError("No experiment tracking source is configured; add one under sources.tracking in the team file.")
    only = " ".join(args).strip() or None
    run = await service.experiments(only=only)
    if only and not run.down and not any(r.experiments for r in run.reports):
        raise CommandError(f"No experiment matches `{only}`. Give an experiment name or a pattern like churn-*.")
    return Reply(run.digest.as_one())


async def _drift_command(app: Meridian, inv: Invocation, args: list[str]) -> Reply:
    service = _registry(app).require(inv.workspace)
    only = " ".join(args).strip() or None
    if only and only not in {m.name for m in service.config.models}:
        known = ", ".join(sorted(m.name for m in service.config.models)) or "none configured"
        raise CommandError(f"No model named `{only}`. Known models: {known}.")
    return Reply((await service.drift(only)).as_one())


def families() -> list[CommandFamily]:
    experiments = Subcommand("", "[NAME]", "what ran, improved and broke since the last digest (all experiments, "
                             "or those matching NAME)", _experiments_command)
    drift = Subcommand("", "[MODEL]", "drift and alert status of every model, or of MODEL", _drift_command)
    return [CommandFamily("experiments", "experiment digest on demand", default=experiments, takes_free_text=True),
            CommandFamily("drift", "drift digest on demand", default=drift, takes_free_text=True)]


# =========================================================================================
# The team file
# =========================================================================================

def validate_team_sections(raw: Mapping[str, Any], where: Any) -> list[str]:
    """``sources:`` and ``digests:`` errors as ``file:line: key: reason`` lines."""
    try:
        parse_sources(raw)
    except SourcesConfigError as err:
        return [f"{where(*err.path)}: {err}"]
    return []


def install(app: Meridian, build_sources: SourceFactory, charts: ChartPublisher | None = None) -> Digests:
    """Register the digests on ``app``; ``build_sources`` (from the composition root) turns config into adapters.

    ``charts`` serves trend charts as images; without it the digests carry the text sparkline only.
    """
    registry = Digests(app, build_sources, charts)
    app.services["digests"] = registry
    for family in families():
        app.add_family(family)
    app.on_due("digest.experiments", _on_experiments)
    app.on_due("digest.experiments-retry", _on_experiments_retry)
    app.on_due("digest.drift", _on_drift)
    app.on_due("digest.drift-check", _on_drift_check)
    app.add_planner(lambda _app, start, end: registry.plan(start, end))
    return registry


def _validate_section(tf: TeamFile) -> list[str]:
    return validate_team_sections(tf.raw, tf.where)


def _apply_section(app: Meridian, tf: TeamFile) -> None:
    registry: Digests | None = app.services.get("digests")
    if registry is not None:
        registry.configure(tf.workspace, tf.raw)


register_section("sources", _validate_section, _apply_section)
register_section("digests", lambda tf: [] if "sources" in tf.raw else _validate_section(tf))
