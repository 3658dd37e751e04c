"""Builds the source adapters a workspace's ``sources:`` section names (used by the composition root)."""

from __future__ import annotations

from adapters.sources.alertmanager import AlertmanagerApi
from adapters.sources.demo import DemoMonitoring, DemoTracking
from adapters.sources.evidently import EvidentlySource
from adapters.sources.mlflow import MLflowSource
from adapters.sources.prometheus import PrometheusSource
from adapters.sources.wandb import WandbSource
from bot.digests.config import DEMO, SourcesConfig, SourcesConfigError
from bot.digests.sources import MonitoringSource, RunFeed, SourceFactory, SourceSet, TrackingSource
from bot.settings import Settings


def source_factory(settings: Settings) -> SourceFactory:
    """A factory bound to the process settings (``WANDB_API_KEY`` lives there, never in the team file)."""
    api_key = settings.wandb_api_key

    def build(config: SourcesConfig) -> SourceSet:
        tracking: dict[str, TrackingSource] = {}
        feeds: dict[str, RunFeed] = {}
        for i, t in enumerate(config.tracking):
            if t.kind == DEMO:
                tracking[t.name] = DemoTracking(t)
            elif t.kind == "mlflow":
                mlflow = MLflowSource(t)
                tracking[t.name] = mlflow
                if t.events is not None:
                    feeds[t.name] = mlflow
            else:
                if not api_key:
                    raise SourcesConfigError(("sources", "tracking", i, "kind"),
                                             "a W&B source needs the WANDB_API_KEY setting")
                wandb = WandbSource(t, api_key)
                tracking[t.name] = wandb
                if t.events is not None:
                    feeds[t.name] = wandb
        monitoring: dict[str, MonitoringSource] = {
            m.name: DemoMonitoring(m) if m.kind == DEMO else EvidentlySource(m) for m in config.monitoring}
        metrics = PrometheusSource(config.prometheus) if config.prometheus else None
        alertmanager = config.alertmanager
        silences = AlertmanagerApi(alertmanager) if alertmanager and alertmanager.url else None
        return SourceSet(tracking=tracking, monitoring=monitoring, metrics=metrics, silences=silences,
                         feeds=feeds)

    return build
