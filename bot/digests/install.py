"""The digests capability: experiments and drift digests, drift alerts, webhook events, sprint numbers.

Built at bootstrap with its ports: a ``SourceFactory`` that turns a workspace's ``sources:``
into adapters, a ``ChartPublisher`` (or none: the digests then carry the text sparkline
only), RACI's ``ActivityOwners`` (or none: a drift ALERT then mentions the model's owner),
and ``SourceDefaults`` (the deployment's default addresses). ``install`` registers the
commands, the planner, the due-work handlers and the team-file sections.

What it offers the rest of the process: ``registry`` (every workspace's ``DigestService``,
for ``meridian digest`` and the webhook routes) and ``numbers`` (``SprintNumbers``, for a
retro's opening post).
"""

from __future__ import annotations

from functools import partial

from bot.digests.alerts import ACTION_PREFIX
from bot.digests.commands import DigestCommands
from bot.digests.config import SourceDefaults
from bot.digests.numbers import SprintInNumbers
from bot.digests.schedule import DigestJobs
from bot.digests.service import DigestRegistry
from bot.digests.sources import ChartPublisher, SourceFactory
from bot.digests.teamfile import DigestSections
from bot.kernel.app import Action, Meridian
from bot.kernel.commands import Reply
from bot.kernel.messages import Message
from bot.kernel.ports import ActivityOwners


class NotInstalled(RuntimeError):
    """The capability was asked for its registry before ``install`` gave it an app."""


class Digests:
    name = "digests"

    def __init__(self, sources: SourceFactory, charts: ChartPublisher | None = None,
                 owners: ActivityOwners | None = None, defaults: SourceDefaults | None = None) -> None:
        self.build_sources = sources
        self.charts = charts
        self.owners = owners
        self.defaults = defaults or SourceDefaults()
        self._registry: DigestRegistry | None = None
        self.numbers = SprintInNumbers(lambda: self.registry)

    @property
    def registry(self) -> DigestRegistry:
        if self._registry is None:
            raise NotInstalled("the digests capability is not installed yet")
        return self._registry

    def install(self, app: Meridian) -> None:
        registry = self._registry = DigestRegistry(app, self.build_sources, self.charts, self.owners, self.defaults)
        for family in DigestCommands(registry).families():
            app.add_family(family)
        DigestJobs(registry).install(app)
        for section in DigestSections(registry).sections():
            app.add_section(section)
        app.on_action(ACTION_PREFIX, partial(alert_pressed, registry))


async def alert_pressed(registry: DigestRegistry, app: Meridian, act: Action) -> Reply | None:
    """An alert's button (``app.action`` has already refused anyone who is not a member)."""
    service = registry.get(act.workspace)
    if service is None:
        return Reply(Message.text("Alerts are not set up in this workspace any more."))
    answer = await service.alert_pressed(act.member, act.action_id, act.value)
    return Reply(answer) if answer is not None else None
