"""The composition root: builds the app from settings, the one way ``serve``, ``worker``,
``socket``, ``console``, ``import`` and ``digest`` all get it.

This module and ``bot.cli`` are the only parts of ``bot/`` that import adapters and
storage. Every registry (chat platforms, capabilities, team-file sections, commands) is
filled here, when an app is built, never as a side effect of importing a module.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.digests.config import SourceDefaults
from bot.digests.install import Digests
from bot.kernel import people, quiet, retention, routing, status
from bot.kernel.app import Meridian
from bot.kernel.engine import EngineSettings
from bot.kernel.ports import ActivityOwners, ChatPort, Clock, ConfirmsDelivery, ReceivesUploads, SprintNumbers
from bot.kernel.teamfile import TeamSection
from bot.raci.install import Raci
from bot.retros.install import Retros
from bot.settings import Settings, SettingsError
from bot.standups.install import Standups

if TYPE_CHECKING:
    from storage.kernel.repo import SqlStore

DEMO_TEAM = Path(__file__).resolve().parent.parent / "examples" / "team.yaml"

RouteInstaller = Callable[[Any, Meridian, Settings], None]
"""Mounts a platform's HTTP routes on ``meridian serve``'s web application."""


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


# --- chat platforms ---------------------------------------------------------------------------
@dataclass
class Connection:
    """A configured chat platform: its port for the core, the routes it serves, and what it needs of the core."""

    chat: ChatPort
    routes: list[RouteInstaller] = field(default_factory=list)
    attach: Callable[[Meridian], None] | None = None
    """Called once the core exists (members for mentions, the platform's own scheduled work)."""


@dataclass(frozen=True)
class Platform:
    """One record per chat platform: whether the settings switch it on, and how to connect it."""

    name: str
    configured: Callable[[Settings], bool]
    connect: Callable[[Settings], Connection]
    """Raises ``SettingsError`` with one line naming the setting when the settings are incomplete."""


def _slack_configured(settings: Settings) -> bool:
    return bool(settings.slack_bot_token or settings.slack_client_id or settings.slack_client_secret
                or settings.slack_app_token)


def _connect_slack(settings: Settings) -> Connection:
    from adapters.slack.chat import SlackChat
    from adapters.slack.cli import slack_chats

    chats, routes = slack_chats(settings)
    if "slack" not in chats:
        raise SettingsError("SLACK_BOT_TOKEN (or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET) is required for Slack")
    chat: SlackChat = chats["slack"]
    confirms: ConfirmsDelivery = chat  # mypy checks the optional capabilities the core probes for
    uploads: ReceivesUploads = chat
    del confirms, uploads
    return Connection(chat, routes, chat.attach)


def _teams_configured(settings: Settings) -> bool:
    from adapters.teams.cli import teams_enabled

    return teams_enabled(settings)


def _connect_teams(settings: Settings) -> Connection:
    from adapters.teams.chat import TeamsChat
    from adapters.teams.cli import teams_factory

    chats, routes = teams_factory(settings)
    chat: TeamsChat = chats["teams"]
    return Connection(chat, routes, chat.attach)


def platforms() -> list[Platform]:
    """Every chat platform Meridian speaks, besides the console (always there, no settings)."""
    return [Platform("slack", _slack_configured, _connect_slack),
            Platform("teams", _teams_configured, _connect_teams)]


def configured_platforms(settings: Settings) -> list[Platform]:
    return [p for p in platforms() if p.configured(settings)]


def connect_platforms(settings: Settings) -> dict[str, Connection]:
    """The configured platforms, connected; the console answers when none is configured."""
    connections = {p.name: p.connect(settings) for p in configured_platforms(settings)}
    if not connections:
        from adapters.console.chat import ConsoleChat
        from bot.kernel.clock import SystemClock

        connections["console"] = Connection(ConsoleChat(SystemClock()))
    return connections


# --- capabilities -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Installed:
    """The capability objects an app was built with, for the rest of the composition root to hand on."""

    raci: Raci
    digests: Digests


def install_capabilities(app: Meridian, store: SqlStore, settings: Settings) -> Installed:
    """Build every capability with its ports, then install each: commands, planners, handlers, sections.

    RACI is built first because others are given what it offers (``ActivityOwners``).
    """
    from adapters.sources.factory import source_factory
    from adapters.web.charts import served_charts
    from storage.raci.repo import RaciRepo
    from storage.retros.repo import RetroRepo

    raci = Raci(RaciRepo(store.engine), store)
    owners: ActivityOwners = raci.service  # mypy checks the service still offers what the port names
    digests = Digests(source_factory(settings), served_charts(settings, store), owners,
                      SourceDefaults(settings.mlflow_tracking_uri, settings.evidently_url, settings.prometheus_url,
                                     settings.alertmanager_url))
    numbers: SprintNumbers = digests.numbers
    app.install([Standups(owners=owners), people.People(), status.StatusOutOfOffice(), retention.Retention(),
                 quiet.QuietHours(), routing.Delegates(), raci,
                 Retros(RetroRepo(store.engine), numbers=numbers), digests])
    return Installed(raci, digests)


def assemble(store: SqlStore, clock: Clock, chats: dict[str, ChatPort], settings: Settings | None = None,
             worker: str | None = None, attach: Sequence[Callable[[Meridian], None]] = ()
             ) -> tuple[Meridian, Installed]:
    """The app on a store and chat ports, with every capability installed, and the capabilities."""
    settings = settings or Settings()
    beat = timedelta(seconds=settings.heartbeat_seconds)
    engine_settings = EngineSettings(retention_days=settings.retention_days, heartbeat=beat, silent_after=3 * beat)
    app = Meridian(store, clock, chats, engine_settings, worker_id=worker or worker_id())
    installed = install_capabilities(app, store, settings)
    for hook in attach:
        hook(app)
    return app, installed


def build_core(store: SqlStore, clock: Clock, chats: dict[str, ChatPort], settings: Settings | None = None,
               worker: str | None = None, attach: Sequence[Callable[[Meridian], None]] = ()) -> Meridian:
    """The app on a store and chat ports, with every capability installed."""
    return assemble(store, clock, chats, settings, worker, attach)[0]


def open_store(url: str, migrate: bool = True, pause: Callable[[], None] | None = None) -> SqlStore:
    """Open the database; SQLite (the embedded default) is brought up to date on the spot.

    ``pause``: run before each store call made off the event loop (PostgreSQL; ``Store.off_loop``), on its
    thread; ``meridian serve`` waits there while its HTTP loop answers."""
    from storage.db import make_engine, normalise_url
    from storage.kernel.repo import SqlStore
    from storage.migrate import upgrade
    from storage.offload import BlockingCalls

    url = normalise_url(url)
    if migrate and url.startswith("sqlite"):
        upgrade(url)
    engine = make_engine(url)
    return SqlStore(engine, calls=BlockingCalls(pause=pause) if pause and engine.dialect.name == "postgresql" else None)


def team_sections(settings: Settings | None = None) -> list[TeamSection]:
    """Every capability's team-file sections, as an app registers them (``rotation plan`` checks a file with
    them without a database: installing touches no data, so an unmigrated in-memory store is enough)."""
    from bot.kernel.clock import SystemClock

    return build_core(open_store("sqlite://", migrate=False), SystemClock(), {}, settings).sections


@dataclass
class Composition:
    """What ``meridian serve``, ``worker``, ``socket``, ``import`` and ``digest`` run on."""

    app: Meridian
    settings: Settings
    connections: dict[str, Connection]
    capabilities: Installed
    database_probe: Callable[[], None] | None = None
    """Raises unless the database takes writes now; ``/healthz`` runs it off the event loop."""

    @property
    def routes(self) -> list[RouteInstaller]:
        return [route for c in self.connections.values() for route in c.routes]


def compose(settings: Settings, clock: Clock, *, worker: str | None = None,
            connections: dict[str, Connection] | None = None, pause: Callable[[], None] | None = None) -> Composition:
    """The app as production builds it: the settings' database and chat platforms, every capability
    (``pause``: see ``open_store``)."""
    if connections is None:
        connections = connect_platforms(settings)
    store = open_store(settings.database_url, pause=pause)
    chats = {name: c.chat for name, c in connections.items()}
    attach = [c.attach for c in connections.values() if c.attach is not None]
    app, installed = assemble(store, clock, chats, settings, worker, attach)
    from storage.db import database_probe

    return Composition(app, settings, connections, installed, database_probe(store.engine))


def default_platform(settings: Settings, accounts: Sequence[dict[str, str]] = ()) -> str:
    """Where an imported team talks: the configured platform; with several, the one its members have
    accounts on; the console when none is configured."""
    names = [p.name for p in configured_platforms(settings)]
    if not names:
        return "console"
    if len(names) == 1:
        return names[0]
    counts = {n: sum(1 for a in accounts if a.get(n)) for n in names}
    best = max(counts.values())
    chosen = [n for n in names if counts[n] == best]
    if len(chosen) > 1:
        raise SettingsError(f"{' and '.join(names)} are both configured: name the team's platform with "
                            f"--platform {'|'.join(names)}")
    return chosen[0]
