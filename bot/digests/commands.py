"""``/experiments [NAME]`` and ``/drift [MODEL]``: the digests on demand, as a private reply."""

from __future__ import annotations

from bot.digests.service import DigestRegistry, DigestService
from bot.kernel.app import Meridian
from bot.kernel.commands import CommandError, CommandFamily, Invocation, Reply, Subcommand


class DigestCommands:
    def __init__(self, registry: DigestRegistry) -> None:
        self.registry = registry

    def _require(self, workspace: str) -> DigestService:
        service = self.registry.get(workspace)
        if service is None:
            raise CommandError("No sources are configured for this workspace; add `sources:` and `digests:` "
                               "to the team file and import it.")
        return service

    async def experiments(self, app: Meridian, inv: Invocation, args: list[str]) -> Reply:
        service = self._require(inv.workspace)
        if not service.config.tracking:
            raise CommandError("No experiment tracking source is configured; add one under sources.tracking "
                               "in the team file.")
        only = " ".join(args).strip() or None
        run = await service.experiments(only=only)
        if only and not run.down and not any(r.experiments for r in run.reports):
            raise CommandError(f"No experiment matches `{only}`. Give an experiment name or a pattern like churn-*.")
        return Reply(run.digest.as_one())

    async def drift(self, app: Meridian, inv: Invocation, args: list[str]) -> Reply:
        service = self._require(inv.workspace)
        only = " ".join(args).strip() or None
        if only and only not in {m.name for m in service.config.models}:
            known = ", ".join(sorted(m.name for m in service.config.models)) or "none configured"
            raise CommandError(f"No model named `{only}`. Known models: {known}.")
        return Reply((await service.drift(only)).as_one())

    def families(self) -> list[CommandFamily[Meridian]]:
        experiments = Subcommand("", "[NAME]", "what ran, improved and broke since the last digest (all "
                                 "experiments, or those matching NAME)", self.experiments)
        drift = Subcommand("", "[MODEL]", "drift and alert status of every model, or of MODEL", self.drift)
        return [CommandFamily("experiments", "experiment digest on demand", default=experiments, takes_free_text=True),
                CommandFamily("drift", "drift digest on demand", default=drift, takes_free_text=True)]
