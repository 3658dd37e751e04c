"""The composition root: wires the core's ports to adapters from settings.

This module and ``bot.cli`` are the only parts of ``bot/`` that may import adapters and
storage; every other core module talks through ``bot.kernel.ports``.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.kernel import people, retention
from bot.kernel.app import Meridian, Settings
from bot.kernel.ports import ChatPort, Clock, Store
from bot.raci import commands as raci_commands
from bot.retros import flow as retros
from bot.settings import Settings as AppSettings
from bot.standups import flow as standups

if TYPE_CHECKING:
    from bot.digests.install import Digests

DEMO_TEAM = Path(__file__).resolve().parent.parent / "examples" / "team.yaml"


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def install_capabilities(app: Meridian, app_settings: AppSettings | None = None) -> Digests:
    """Every capability registers its commands, planners and handlers."""
    standups.install(app)
    people.People().install(app)
    retention.Retention().install(app)
    engine = getattr(app.store, "engine", None)
    raci = None
    if engine is not None:  # RACI and retros keep their tables beside the core's, on the same engine
        from storage.raci.repo import RaciRepo
        from storage.retros.repo import RetroRepo

        raci = raci_commands.install(app, RaciRepo(engine))
        retros.install(app, RetroRepo(engine))

    from adapters.sources.factory import source_factory
    from adapters.web.hooks import served_charts
    from bot.digests.config import SourceDefaults
    from bot.digests.install import Digests

    given = app_settings or AppSettings()
    digests = Digests(source_factory(given), served_charts(given, app.store), raci,
                      SourceDefaults(given.mlflow_tracking_uri, given.evidently_url, given.prometheus_url))
    app.install([digests])
    return digests


def cli_commands() -> list[Callable[[Any], None]]:
    """Sub-commands capabilities add to ``meridian`` (imported lazily: ``bot.cli`` imports this module)."""
    from bot.retros.cli import add_rotation_command

    return [add_rotation_command]


def build_core(store: Store, clock: Clock, chats: dict[str, ChatPort], settings: Settings | None = None,
               worker: str | None = None, app_settings: AppSettings | None = None) -> Meridian:
    return build_core_with_digests(store, clock, chats, settings, worker, app_settings)[0]


def build_core_with_digests(store: Store, clock: Clock, chats: dict[str, ChatPort], settings: Settings | None = None,
                            worker: str | None = None,
                            app_settings: AppSettings | None = None) -> tuple[Meridian, Digests]:
    """The core, and the digests capability for the routes and commands that reach its registry."""
    app = Meridian(store, clock, chats, settings, worker_id=worker or worker_id())
    digests = install_capabilities(app, app_settings)
    for chat in chats.values():  # a chat port that needs the core (member lookups, its own scheduled work)
        attach = getattr(chat, "attach", None)
        if callable(attach):
            attach(app)
    return app, digests


def open_store(url: str, migrate: bool = True) -> Store:
    """Open the database; SQLite (the embedded default) is brought up to date on the spot."""
    from storage.db import make_engine, normalise_url
    from storage.kernel.repo import SqlStore
    from storage.migrate import upgrade

    url = normalise_url(url)
    if migrate and url.startswith("sqlite"):
        upgrade(url)
    return SqlStore(make_engine(url))
