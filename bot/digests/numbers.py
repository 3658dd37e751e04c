"""The sprint in numbers: what the tracking sources say about a retro's period.

A retro thread opens with a few figures (``bot.kernel.ports.SprintNumbers``): runs finished
and failed, the best value of each source's metric against the best before the period,
model versions registered and aliases that moved to them, and the drift alerts raised.
Each figure is read from the sources for exactly the period asked, not from the daily
digests' state, so a retro sees the same numbers whenever it opens.
"""

from __future__ import annotations

import asyncio
import math
from collections import Counter
from collections.abc import Callable
from datetime import datetime

from bot.digests.config import TrackingConfig
from bot.digests.experiments import better
from bot.digests.messages import DEMO_NOTE
from bot.digests.service import DigestRegistry, DigestService
from bot.digests.sources import ExperimentRecord, RunRecord, TrackingSource
from bot.digests.text import number, signed


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


class SprintInNumbers:
    """``SprintNumbers`` over every workspace's digests.

    The registry is looked up when asked, so this exists from the capability's construction
    and a retro capability built before the digests are installed can already hold it.
    """

    def __init__(self, registry: Callable[[], DigestRegistry]) -> None:
        self.registry = registry

    async def sprint_numbers(self, workspace: str, since: datetime, until: datetime) -> list[str]:
        """One line per figure; empty without sources. A source that cannot answer raises ``SourceUnavailable``."""
        service = self.registry().get(workspace)
        if service is None:
            return []
        lines: list[str] = []
        named = len(service.config.tracking) > 1
        for cfg in service.config.tracking:
            source = service.sources.tracking.get(cfg.name)
            if source is not None:
                prefix = f"{cfg.name}: " if named else ""
                lines.extend(prefix + line for line in await _tracking_lines(source, cfg, since, until))
        lines.extend(_drift_lines(service, since, until))
        if lines and (service.config.is_demo_tracking() or service.config.is_demo_monitoring()):
            lines.insert(0, DEMO_NOTE)
        return lines


async def _tracking_lines(source: TrackingSource, cfg: TrackingConfig, since: datetime,
                          until: datetime) -> list[str]:
    experiments = await source.experiments(cfg.experiments)
    ids = [e.id for e in experiments]
    lines: list[str] = []
    if ids:
        finished, failed = await asyncio.gather(source.ended_runs(ids, "FINISHED", since, until),
                                                source.ended_runs(ids, "FAILED", since, until))
        lines.append(f"🧪 {_plural(len(finished), 'run')} finished, {len(failed)} failed")
        best = await _best_line(source, cfg, experiments, finished, since)
        if best:
            lines.append(best)
    lines.extend(await _registry_lines(source, cfg, since, until))
    return lines


async def _best_line(source: TrackingSource, cfg: TrackingConfig, experiments: list[ExperimentRecord],
                     finished: list[RunRecord], since: datetime) -> str | None:
    metric, goal = cfg.metric, cfg.goal
    scored = [(r, r.metrics[metric]) for r in finished if metric in r.metrics and math.isfinite(r.metrics[metric])]
    if not scored:
        return None
    run, value = scored[0]
    for candidate, v in scored[1:]:
        if better(v, value, goal):
            run, value = candidate, v
    names = {e.id: e.name for e in experiments}
    earlier = await asyncio.gather(*(source.best_run(e.id, metric, goal, since) for e in experiments))
    before: float | None = None
    for previous in earlier:
        old = previous.metrics.get(metric) if previous is not None else None
        if old is not None and math.isfinite(old) and (before is None or better(old, before, goal)):
            before = old
    where = f"{run.name} in {names.get(run.experiment_id, run.experiment_id)}"
    change = (f", {signed(value - before)} against the best before ({number(before)})" if before is not None
              else ", the first result")
    return f"🏆 Best {metric}: {number(value)} ({where}){change}"


async def _registry_lines(source: TrackingSource, cfg: TrackingConfig, since: datetime, until: datetime) -> list[str]:
    """New versions in the period, and aliases now on one of them (a move the period must have made)."""
    lines: list[str] = []
    for name in cfg.models:
        model = await source.registered_model(name)
        if model is None:
            continue
        fresh = sorted((v for v in await source.model_versions(name) if since < v.created_at <= until),
                       key=lambda v: int(v.version) if v.version.isdigit() else 0)
        if not fresh:
            continue
        versions = {v.version for v in fresh}
        line = f"📦 {name}: {_plural(len(fresh), 'new version')} ({', '.join('v' + v.version for v in fresh)})"
        moved = sorted((alias, version) for alias, version in model.aliases.items() if version in versions)
        if moved:
            line += "; " + ", ".join(f"@{alias} now v{version}" for alias, version in moved)
        lines.append(line)
    return lines


def _drift_lines(service: DigestService, since: datetime, until: datetime) -> list[str]:
    """Drift alerts raised in the period; only where drift alerts are checked at all."""
    if not service.config.models or service.config.digest("drift") is None:
        return []
    raised = Counter(service.drift_alerts_raised(since, until))
    if not raised:
        return ["🌊 No drift alerts"]
    models = ", ".join(f"{model} ×{n}" if n > 1 else model for model, n in sorted(raised.items()))
    return [f"🌊 {_plural(sum(raised.values()), 'drift alert')} ({models})"]
