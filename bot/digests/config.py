"""The ``sources:`` and ``digests:`` sections of the team file, checked and typed.

``parse_sources`` takes the team file's mapping and returns a ``SourcesConfig`` or
raises ``SourcesConfigError`` naming the key that is wrong (``sources.tracking[0].goal``),
so a misconfigured source stops start-up with one clear line instead of failing at
08:00 on the first digest. The schema is documented in ``docs/sources.md``.

An entry that names no address takes the deployment's default for its kind
(``SourceDefaults``: ``MLFLOW_TRACKING_URI``, ``EVIDENTLY_URL``, ``PROMETHEUS_URL``), so a
team file can stay the same across environments.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import time, timedelta
from typing import Any, Literal
from urllib.parse import urlparse

from bot.kernel.domain import WEEKDAYS, WORKWEEK
from bot.kernel.timekeeping import TimeInputError, parse_duration, parse_hhmm, validate_zone

Goal = Literal["max", "min"]

DEMO = "demo"
"""The source kind of the recorded demo data shipped with Meridian (no server, no address)."""


class SourcesConfigError(ValueError):
    """A wrong key or value in ``sources:`` / ``digests:``; ``path`` locates it in the file."""

    def __init__(self, path: Sequence[str | int], problem: str) -> None:
        self.path = tuple(path)
        self.problem = problem
        super().__init__(f"{_dotted(self.path)}: {problem}")


def _dotted(path: Sequence[str | int]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


@dataclass(frozen=True)
class SourceDefaults:
    """Addresses from the deployment's settings, for entries of that kind that name none."""

    mlflow_uri: str = ""
    evidently_url: str = ""
    prometheus_url: str = ""
    alertmanager_url: str = ""


Comparison = Literal[">=", ">", "<=", "<"]
COMPARISONS: tuple[Comparison, ...] = (">=", "<=", ">", "<")
TARGET_TEXT = re.compile(r"\s*(>=|<=|>|<|≥|≤)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*")
METRIC_NAME = re.compile(r"[A-Za-z0-9_.\-/ ]+")


@dataclass(frozen=True)
class Target:
    """A metric's goal written as people write it (``val_auc: ">= 0.90"``)."""

    metric: str
    comparison: Comparison
    value: float

    def met(self, value: float) -> bool:
        if not math.isfinite(value):
            return False
        return {">=": value >= self.value, ">": value > self.value,
                "<=": value <= self.value, "<": value < self.value}[self.comparison]

    def __str__(self) -> str:
        sign = {">=": "≥", "<=": "≤"}.get(self.comparison, self.comparison)
        return f"{self.metric} {sign} {self.value:g}"


def parse_target(metric: str, text: Any) -> Target:
    """``">= 0.82"`` for ``metric`` as a ``Target``; ``ValueError`` with a message for the person who wrote it."""
    if not isinstance(metric, str) or not METRIC_NAME.fullmatch(metric):
        raise ValueError(f"{metric!r} is not a metric name")
    if isinstance(text, bool) or not isinstance(text, str):
        raise ValueError(f'must be a comparison and a number in quotes, like ">= 0.9", not {text!r}')
    found = TARGET_TEXT.fullmatch(text)
    if found is None:
        raise ValueError(f'{text!r} is not a comparison: write one of >=, >, <=, < and a number, like ">= 0.9"')
    sign = {"≥": ">=", "≤": "<="}.get(found.group(1), found.group(1))
    value = float(found.group(2))
    if not math.isfinite(value):
        raise ValueError(f"{text!r}: the number must be finite")
    return Target(metric, sign, value)  # type: ignore[arg-type]


@dataclass(frozen=True)
class RunEvents:
    """Run events told to the run's owner as they happen (a tracking entry's ``events:``)."""

    every: timedelta = timedelta(minutes=2)
    """How often the source is polled (W&B: the fallback poll behind its webhook)."""
    stale_after: timedelta = timedelta(minutes=30)
    """A running run with no metric (MLflow) or heartbeat (W&B) for this long has gone stale."""
    channel: str | None = None
    """Where failures go, in the thread of the day; the experiments digest's channel when omitted."""
    targets: tuple[Target, ...] = ()


@dataclass(frozen=True)
class TrackingConfig:
    kind: Literal["mlflow", "wandb", "demo"]
    name: str
    """Unique id of this source; watermarks are kept under it."""
    url: str
    experiments: tuple[str, ...]
    metric: str
    goal: Goal = "max"
    entity: str | None = None
    """W&B entity (team or user) owning the projects."""
    models: tuple[str, ...] = ()
    """Registered models whose versions and aliases are news (MLflow registry)."""
    champion_alias: str = "champion"
    stale_after: timedelta = timedelta(hours=6)
    error_tag: str = "error"
    lookback: timedelta = timedelta(hours=24)
    """How far back the first digest looks, before there is a watermark."""
    timeout: timedelta = timedelta(seconds=10)
    page_size: int = 1000
    events: RunEvents | None = None
    """Run events as they happen; ``None`` when turned off (``events: false``, and the demo data)."""


@dataclass(frozen=True)
class MonitoringConfig:
    kind: Literal["evidently", "demo"]
    name: str
    url: str
    project: str | None = None
    timeout: timedelta = timedelta(seconds=10)


@dataclass(frozen=True)
class PrometheusConfig:
    url: str
    timeout: timedelta = timedelta(seconds=10)


Aggregate = Literal["sum", "avg", "min", "max"]
AGGREGATES: tuple[Aggregate, ...] = ("sum", "avg", "min", "max")


@dataclass(frozen=True)
class SeriesChoice:
    """Which number a query answering with several series stands for.

    Prometheus promises no order of series, so "the first one" means nothing: a check names the
    labels of the series it means, or how to combine the series (both: combine those with the labels).
    With neither, a query must answer with at most one series.
    """

    labels: Mapping[str, str] = field(default_factory=dict, hash=False)
    aggregate: Aggregate | None = None


@dataclass(frozen=True)
class PromCheck:
    """A PromQL query shown in the drift digest, with optional thresholds that raise the model's status."""

    name: str
    query: str
    warn_above: float | None = None
    alert_above: float | None = None
    warn_below: float | None = None
    alert_below: float | None = None
    choice: SeriesChoice = SeriesChoice()


@dataclass(frozen=True)
class ModelTarget:
    """A model's target and where its value is read (``sources.models[].targets``).

    With ``check`` set, the value is that Prometheus query's (one of the model's checks, or the
    target's own ``prometheus:`` query); otherwise it is the metric its registered champion (or,
    with no champion, its latest version) logged in the run that produced it, read from the
    tracking source ``tracking``.
    """

    target: Target
    check: PromCheck | None = None
    tracking: str | None = None

    @property
    def metric(self) -> str:
        return self.target.metric


@dataclass(frozen=True)
class ModelConfig:
    name: str
    owner: str | None
    project: str
    """The monitoring project that holds this model's drift reports."""
    monitoring: str | None = None
    """Name of the monitoring source; the first one when omitted."""
    drift_share: float | None = None
    """Share of drifted columns that makes an ALERT; the report's own setting when omitted."""
    stale_after: timedelta = timedelta(hours=26)
    prometheus: tuple[PromCheck, ...] = ()
    activity: str | None = None
    """The RACI activity whose Responsible and Accountable an ALERT mentions; the model name when omitted."""
    targets: tuple[ModelTarget, ...] = ()
    registered_model: str | None = None
    """The model's name in the tracking source's registry; the model name when omitted."""

    @property
    def registry_name(self) -> str:
        return self.registered_model or self.name


@dataclass(frozen=True)
class AlertmanagerConfig:
    channel: str | None = None
    """Where firing alerts are posted; the drift digest's alert channel when omitted."""
    url: str | None = None
    """Alertmanager's own address (API v2), for the Silence buttons; without it alerts carry no Silence button."""
    timeout: timedelta = timedelta(seconds=10)
    check_every: timedelta = timedelta(minutes=1)
    """How often an alert muted by a silence from Meridian is looked up in Alertmanager, which sends
    nothing for a muted alert, not even its resolution."""


@dataclass(frozen=True)
class DigestSchedule:
    kind: Literal["experiments", "drift"]
    channel: str
    at: time
    tz: str
    days: frozenset[str] = WORKWEEK
    sources: tuple[str, ...] = ()
    """Tracking sources this digest covers (all when empty)."""
    alerts_channel: str | None = None
    check_every: timedelta = timedelta(minutes=15)
    cooldown: timedelta = timedelta(hours=6)


@dataclass(frozen=True)
class SourcesConfig:
    tracking: tuple[TrackingConfig, ...] = ()
    monitoring: tuple[MonitoringConfig, ...] = ()
    prometheus: PrometheusConfig | None = None
    alertmanager: AlertmanagerConfig | None = None
    models: tuple[ModelConfig, ...] = ()
    digests: tuple[DigestSchedule, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False)

    def digest(self, kind: str) -> DigestSchedule | None:
        return next((d for d in self.digests if d.kind == kind), None)

    def tracking_named(self, names: Sequence[str]) -> tuple[TrackingConfig, ...]:
        return tuple(t for t in self.tracking if not names or t.name in names)

    def is_demo_tracking(self, names: Sequence[str] = ()) -> bool:
        """Whether any of these tracking sources is the built-in demo data (its messages must say so)."""
        return any(t.kind == DEMO for t in self.tracking_named(names))

    def is_demo_monitoring(self, name: str | None = None) -> bool:
        """Whether the monitoring source ``name`` (any, when ``None``) is the built-in demo data."""
        return any(m.kind == DEMO for m in self.monitoring if name is None or m.name == name)


# --- the reader ---------------------------------------------------------------------------

class _Reader:
    """Reads one mapping, remembering where it is so every error can name its key."""

    def __init__(self, raw: Any, path: tuple[str | int, ...]) -> None:
        if not isinstance(raw, Mapping):
            raise SourcesConfigError(path, f"expected a mapping, got {type(raw).__name__}")
        self.raw = raw
        self.path = path
        self.used: set[str] = set()

    def fail(self, key: str, problem: str) -> SourcesConfigError:
        return SourcesConfigError((*self.path, key), problem)

    def get(self, key: str, default: Any = None) -> Any:
        self.used.add(key)
        return self.raw.get(key, default)

    def text(self, key: str, default: str | None = None, required: bool = False) -> str | None:
        value = self.get(key)
        if value is None:
            if required:
                raise self.fail(key, "is required")
            return default
        if not isinstance(value, str | int | float) or isinstance(value, bool) or str(value).strip() == "":
            raise self.fail(key, f"must be a non-empty string, not {value!r}")
        return str(value)

    def required(self, key: str) -> str:
        value = self.text(key, required=True)
        assert value is not None
        return value

    def url(self, key: str, required: bool = True) -> str | None:
        value = self.text(key, required=required)
        if value is None:
            return None
        parsed = urlparse(value)
        if parsed.scheme not in {"http", "https"} or not parsed.netloc:
            raise self.fail(key, f"must be an http(s) URL, not {value!r}")
        return value.rstrip("/")

    def names(self, key: str, required: bool = False) -> tuple[str, ...]:
        value = self.get(key)
        if value is None:
            if required:
                raise self.fail(key, "is required (a list of names)")
            return ()
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise self.fail(key, "must be a list of names")
        if required and not value:
            raise self.fail(key, "must name at least one")
        return tuple(value)

    def duration(self, key: str, default: timedelta) -> timedelta:
        value = self.get(key)
        if value is None:
            return default
        try:
            parsed = parse_duration(str(value))
        except TimeInputError as err:
            raise self.fail(key, str(err)) from None
        if parsed <= timedelta():
            raise self.fail(key, "must be longer than zero")
        return parsed

    def number(self, key: str, low: float | None = None, high: float | None = None) -> float | None:
        value = self.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise self.fail(key, f"must be a number, not {value!r}")
        if (low is not None and value < low) or (high is not None and value > high):
            raise self.fail(key, f"must be between {low} and {high}, not {value}")
        return float(value)

    def choice(self, key: str, options: Sequence[str], default: str | None = None) -> str:
        value = self.get(key, default)
        if value not in options:
            if value is None:
                raise self.fail(key, f"is required (one of {', '.join(options)})")
            raise self.fail(key, f"must be one of {', '.join(options)}, not {value!r}")
        return str(value)

    def done(self) -> None:
        unknown = sorted(str(k) for k in self.raw if k not in self.used)
        if unknown:
            raise SourcesConfigError((*self.path, unknown[0]), "unknown key")


def _list(raw: Any, path: tuple[str | int, ...]) -> list[Any]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise SourcesConfigError(path, "must be a list")
    return raw


def _tracking(raw: Any, path: tuple[str | int, ...], defaults: SourceDefaults) -> TrackingConfig:
    r = _Reader(raw, path)
    kind = r.choice("kind", ("mlflow", "wandb", DEMO))
    name = r.text("name", kind) or kind
    if kind == DEMO:
        url, entity = "", None
    elif kind == "mlflow":
        url = r.url("uri", required=False) or r.url("url", required=False) or defaults.mlflow_uri.rstrip("/")
        if not url:
            raise r.fail("uri", "is required for an MLflow source (the tracking server's URL), "
                                "unless the MLFLOW_TRACKING_URI setting gives it")
        entity = None
    else:
        url = r.url("url", required=False) or "https://api.wandb.ai"
        entity = r.required("entity")
    experiments = r.names("projects" if kind == "wandb" and "projects" in r.raw else "experiments", required=True)
    if kind == "wandb":
        r.used.update({"projects", "experiments"})
    page_size = r.number("page_size", 1, 50_000)
    cfg = TrackingConfig(
        kind=kind,  # type: ignore[arg-type]
        name=name, url=url, experiments=experiments, metric=r.required("metric"),
        goal=r.choice("goal", ("max", "min"), "max"),  # type: ignore[arg-type]
        entity=entity, models=r.names("models"),
        champion_alias=r.text("champion_alias", "champion") or "champion",
        stale_after=r.duration("stale_after", timedelta(hours=6)),
        error_tag=r.text("error_tag", "error") or "error",
        lookback=r.duration("lookback", timedelta(hours=24)),
        timeout=r.duration("timeout", timedelta(seconds=10)),
        page_size=int(page_size) if page_size else 1000,
        events=_events(r, kind),
    )
    r.done()
    return cfg


def _targets(r: _Reader, key: str) -> tuple[Target, ...]:
    value = r.get(key)
    if value is None:
        return ()
    if not isinstance(value, Mapping) or not value:
        raise r.fail(key, 'must be a mapping of metric names to comparisons, like {val_auc: ">= 0.90"}')
    targets = []
    for metric, text in value.items():
        try:
            targets.append(parse_target(metric, text))
        except ValueError as err:
            raise SourcesConfigError((*r.path, key, str(metric)), str(err)) from None
    return tuple(targets)


def _events(parent: _Reader, kind: str) -> RunEvents | None:
    """``events:`` of a tracking entry: on by default for MLflow and W&B, off for the demo data."""
    raw = parent.get("events")
    if raw is False or (raw is None and kind == DEMO):
        return None
    if raw is None or raw is True:
        return RunEvents()
    r = _Reader(raw, (*parent.path, "events"))
    events = RunEvents(every=r.duration("every", timedelta(minutes=2)),
                       stale_after=r.duration("stale_after", timedelta(minutes=30)),
                       channel=r.text("channel"), targets=_targets(r, "targets"))
    if events.every < timedelta(seconds=30):
        raise r.fail("every", "must be at least 30s (each poll asks the tracking server)")
    r.done()
    return events


def _monitoring(raw: Any, path: tuple[str | int, ...], defaults: SourceDefaults) -> MonitoringConfig:
    r = _Reader(raw, path)
    kind = r.choice("kind", ("evidently", DEMO))
    url = "" if kind == DEMO else r.url("url", required=False) or defaults.evidently_url.rstrip("/")
    if not url and kind != DEMO:
        raise r.fail("url", "is required (the Evidently UI's URL), unless the EVIDENTLY_URL setting gives it")
    cfg = MonitoringConfig(kind=kind, name=r.text("name", kind) or kind,  # type: ignore[arg-type]
                           url=url, project=r.text("project"),
                           timeout=r.duration("timeout", timedelta(seconds=10)))
    r.done()
    return cfg


def _labels(r: _Reader, key: str) -> dict[str, str]:
    value = r.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not value:
        raise r.fail(key, 'must be a mapping of label names to values, like {instance: "api-1:9100"}')
    for name, text in value.items():
        if not isinstance(name, str) or not LABEL_NAME.fullmatch(name):
            raise r.fail(key, f"{name!r} is not a Prometheus label name")
        if not isinstance(text, str | int | float) or isinstance(text, bool):
            raise r.fail(key, f"the value of {name} must be text, not {text!r}")
    return {name: str(text) for name, text in value.items()}


LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


def _prom_check(raw: Any, path: tuple[str | int, ...]) -> PromCheck:
    r = _Reader(raw, path)
    aggregate = r.get("aggregate")
    if aggregate is not None and aggregate not in AGGREGATES:
        raise r.fail("aggregate", f"must be one of {', '.join(AGGREGATES)}, not {aggregate!r}")
    check = PromCheck(name=r.required("name"), query=r.required("query"),
                      warn_above=r.number("warn_above"), alert_above=r.number("alert_above"),
                      warn_below=r.number("warn_below"), alert_below=r.number("alert_below"),
                      choice=SeriesChoice(_labels(r, "labels"), aggregate))
    r.done()
    return check


def _model(raw: Any, path: tuple[str | int, ...]) -> ModelConfig:
    r = _Reader(raw, path)
    name = r.required("name")
    checks = tuple(_prom_check(c, (*path, "prometheus", i)) for i, c in enumerate(_list(r.get("prometheus"),
                                                                                         (*path, "prometheus"))))
    model = ModelConfig(name=name, owner=r.required("owner"), project=r.text("project", name) or name,
                        monitoring=r.text("monitoring"), drift_share=r.number("drift_share", 0.0, 1.0),
                        stale_after=r.duration("stale_after", timedelta(hours=26)), prometheus=checks,
                        activity=r.text("activity"), targets=_model_targets(r, checks),
                        registered_model=r.text("registered_model"))
    r.get("tracking")  # read against the tracking sources once they are all known (``_target_sources``)
    r.done()
    return model


REGISTRY_KINDS = ("mlflow", DEMO)
"""Tracking sources whose model registry Meridian reads (the W&B adapter reads none)."""


def _model_targets(r: _Reader, checks: Sequence[PromCheck]) -> tuple[ModelTarget, ...]:
    """``targets:``: ``metric: ">= 0.82"``, or ``metric: {condition: "<= 200", prometheus: <query>}``.

    A short-form metric named like one of the model's Prometheus checks reads that check; any other
    reads the registry (which source is settled by ``_target_sources``, once the tracking sources are known).
    """
    value = r.get("targets")
    if value is None:
        return ()
    if not isinstance(value, Mapping) or not value:
        raise r.fail("targets", 'must be a mapping of metric names to conditions, like {val_auc: ">= 0.82"}')
    by_name = {c.name: c for c in checks}
    out: list[ModelTarget] = []
    for metric, raw in value.items():
        path = (*r.path, "targets", str(metric))
        check: PromCheck | None = by_name.get(metric) if isinstance(metric, str) else None
        text = raw
        if isinstance(raw, Mapping):
            t = _Reader(raw, path)
            text = t.get("condition")
            if text is None:
                raise t.fail("condition", 'is required (a comparison and a number, like "<= 200")')
            query = t.text("prometheus")
            aggregate = t.get("aggregate")
            if aggregate is not None and aggregate not in AGGREGATES:
                raise t.fail("aggregate", f"must be one of {', '.join(AGGREGATES)}, not {aggregate!r}")
            labels = _labels(t, "labels")
            if query is None and (labels or aggregate):
                raise t.fail("prometheus", "is required with labels or aggregate (the query they choose among)")
            if query is not None:
                check = PromCheck(name=str(metric), query=query, choice=SeriesChoice(labels, aggregate))
            t.done()
        try:
            target = parse_target(metric, text)
        except ValueError as err:
            raise SourcesConfigError(path, str(err)) from None
        out.append(ModelTarget(target, check))
    return tuple(out)


def _target_sources(models: Sequence[ModelConfig], raw_models: Sequence[Any], tracking: Sequence[TrackingConfig],
                    prometheus: PrometheusConfig | None) -> list[ModelConfig]:
    """Each registry target with the tracking source it is read from, or the one-line reason it has none.

    The source is the model's ``tracking:``, else the tracking source whose ``models:`` list the model's
    registered name, else the only tracking source there is.
    """
    out: list[ModelConfig] = []
    for i, model in enumerate(models):
        raw = raw_models[i] if i < len(raw_models) and isinstance(raw_models[i], Mapping) else {}
        path: tuple[str | int, ...] = ("sources", "models", i)
        named = raw.get("tracking")
        if named is not None and (not isinstance(named, str) or named not in {t.name for t in tracking}):
            raise SourcesConfigError((*path, "tracking"), f"no tracking source named {named!r}")
        if any(t.check is not None for t in model.targets) and prometheus is None:
            reads = next(t for t in model.targets if t.check is not None)
            raise SourcesConfigError((*path, "targets", reads.metric),
                                     "reads Prometheus, which needs sources.prometheus.url (or the PROMETHEUS_URL "
                                     "setting)")
        registry = [t for t in model.targets if t.check is None]
        if not registry:
            out.append(model)
            continue
        metric = registry[0].metric
        checks = ", ".join(c.name for c in model.prometheus)
        not_a_check = (f"is not one of this model's Prometheus checks ({checks})" if checks
                       else "is not a Prometheus check of this model")
        source = next((t for t in tracking if t.name == named), None) if named else \
            next((t for t in tracking if model.registry_name in t.models), None) or \
            (tracking[0] if len(tracking) == 1 else None)
        if source is None and not tracking:
            raise SourcesConfigError((*path, "targets", metric),
                                     f"{not_a_check}, and there is no tracking source to read it from: add "
                                     "sources.tracking (an MLflow registry), or give it a prometheus: query")
        if source is None:
            raise SourcesConfigError((*path, "targets", metric),
                                     f"{not_a_check}; say which tracking source's registry holds "
                                     f"{model.registry_name!r} with tracking: (one of "
                                     f"{', '.join(t.name for t in tracking)}), or list it in that source's models:")
        if source.kind not in REGISTRY_KINDS:
            raise SourcesConfigError((*path, "targets", metric),
                                     f"{not_a_check}, and tracking source {source.name!r} ({source.kind}) has no "
                                     "model registry Meridian reads: use an MLflow source, or a prometheus: query")
        out.append(replace(model, targets=tuple(t if t.check is not None else replace(t, tracking=source.name)
                                                for t in model.targets)))
    return out


def _digest(raw: Any, path: tuple[str | int, ...]) -> DigestSchedule:
    r = _Reader(raw, path)
    kind = r.choice("kind", ("experiments", "drift"))
    at_raw = r.required("at")
    at_text, _, zone = at_raw.strip().partition(" ")
    try:
        at = parse_hhmm(at_text)
        tz = validate_zone(zone.strip() or "UTC")
    except TimeInputError as err:
        raise r.fail("at", f"{err} Write it like \"08:00 Europe/London\".") from None
    days = r.names("days") or tuple(sorted(WORKWEEK))
    bad = [d for d in days if d not in WEEKDAYS]
    if bad:
        raise r.fail("days", f"{bad[0]!r} is not a day; use {', '.join(WEEKDAYS)}")
    schedule = DigestSchedule(kind=kind, channel=r.required("channel"), at=at, tz=tz,  # type: ignore[arg-type]
                              days=frozenset(days), sources=r.names("sources"),
                              alerts_channel=r.text("alerts_channel"),
                              check_every=r.duration("check_every", timedelta(minutes=15)),
                              cooldown=r.duration("cooldown", timedelta(hours=6)))
    r.done()
    return schedule


def _unique(items: Sequence[Any], attr: str, path: tuple[str | int, ...]) -> None:
    seen: set[str] = set()
    for i, item in enumerate(items):
        value = getattr(item, attr)
        if value in seen:
            raise SourcesConfigError((*path, i, attr), f"{value!r} is used twice; give each one its own {attr}")
        seen.add(value)


def parse_sources(raw: Mapping[str, Any], defaults: SourceDefaults | None = None) -> SourcesConfig:
    """Read ``sources:`` and ``digests:`` from the team file's top-level mapping (other keys are ignored)."""
    defaults = defaults or SourceDefaults()
    section = raw.get("sources") or {}
    s = _Reader(section, ("sources",))
    tracking = tuple(_tracking(t, ("sources", "tracking", i), defaults)
                     for i, t in enumerate(_list(s.get("tracking"), ("sources", "tracking"))))
    monitoring = tuple(_monitoring(m, ("sources", "monitoring", i), defaults)
                       for i, m in enumerate(_list(s.get("monitoring"), ("sources", "monitoring"))))
    raw_models = _list(s.get("models"), ("sources", "models"))
    models = [_model(m, ("sources", "models", i)) for i, m in enumerate(raw_models)]
    prometheus = None
    if s.get("prometheus") is not None:
        p = _Reader(s.get("prometheus"), ("sources", "prometheus"))
        url = p.url("url", required=False) or defaults.prometheus_url.rstrip("/")
        if not url:
            raise p.fail("url", "is required (the Prometheus server's URL), unless the PROMETHEUS_URL setting gives it")
        prometheus = PrometheusConfig(url=url, timeout=p.duration("timeout", timedelta(seconds=10)))
        p.done()
    elif defaults.prometheus_url and any(m.prometheus for m in models):
        prometheus = PrometheusConfig(url=defaults.prometheus_url.rstrip("/"))
    alertmanager = None
    if s.get("alertmanager") is not None:
        a = _Reader(s.get("alertmanager") or {}, ("sources", "alertmanager"))
        am_url = a.url("url", required=False) or defaults.alertmanager_url.rstrip("/") or None
        alertmanager = AlertmanagerConfig(channel=a.text("channel"), url=am_url,
                                          timeout=a.duration("timeout", timedelta(seconds=10)),
                                          check_every=a.duration("check_every", timedelta(minutes=1)))
        a.done()
    elif defaults.alertmanager_url:
        alertmanager = AlertmanagerConfig(url=defaults.alertmanager_url.rstrip("/"))
    s.done()
    _unique(tracking, "name", ("sources", "tracking"))
    _unique(monitoring, "name", ("sources", "monitoring"))
    _unique(models, "name", ("sources", "models"))
    for i, model in enumerate(models):
        if model.monitoring and model.monitoring not in {m.name for m in monitoring}:
            raise SourcesConfigError(("sources", "models", i, "monitoring"),
                                     f"no monitoring source named {model.monitoring!r}")
        if model.prometheus and prometheus is None:
            raise SourcesConfigError(("sources", "models", i, "prometheus"),
                                     "needs sources.prometheus.url (or the PROMETHEUS_URL setting)")
        if not monitoring and not model.prometheus and not model.targets:
            raise SourcesConfigError(("sources", "models", i), "has nothing to watch: add a monitoring source, "
                                     "prometheus queries or targets")
    models = _target_sources(models, raw_models, tracking, prometheus)
    covered = {(m.monitoring or (monitoring[0].name if monitoring else None), m.project) for m in models}
    for mon in monitoring:
        if mon.project and (mon.name, mon.project) not in covered and (None, mon.project) not in covered:
            models.append(ModelConfig(name=mon.project, owner=None, project=mon.project, monitoring=mon.name))
    digests = tuple(_digest(d, ("digests", i)) for i, d in enumerate(_list(raw.get("digests"), ("digests",))))
    for i, d in enumerate(digests):
        unknown = [n for n in d.sources if n not in {t.name for t in tracking}]
        if unknown:
            raise SourcesConfigError(("digests", i, "sources"), f"no tracking source named {unknown[0]!r}")
        if d.kind == "experiments" and not tracking:
            raise SourcesConfigError(("digests", i), "an experiments digest needs sources.tracking")
        if d.kind == "drift" and not models:
            raise SourcesConfigError(("digests", i), "a drift digest needs sources.monitoring or sources.models")
    return SourcesConfig(tracking=tracking, monitoring=monitoring, prometheus=prometheus,
                         alertmanager=alertmanager, models=tuple(models), digests=digests)
