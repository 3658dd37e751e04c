"""The composition root: wires the core's ports to adapters from settings.

This module and ``bot.cli`` are the only parts of ``bot/`` that may import adapters and
storage; every other core module talks through ``bot.kernel.ports``.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.kernel import people, retention
from bot.kernel.app import Meridian, Settings
from bot.kernel.ports import ChatPort, Clock, Store
from bot.raci import commands as raci_commands
from bot.retros.install import Retros
from bot.standups import flow as standups

DEMO_TEAM = Path(__file__).resolve().parent.parent / "examples" / "team.yaml"


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def install_capabilities(app: Meridian) -> None:
    """Every capability registers its commands, planners and handlers."""
    standups.install(app)
    people.People().install(app)
    retention.Retention().install(app)
    engine = getattr(app.store, "engine", None)
    if engine is not None:  # RACI and retros keep their tables beside the core's, on the same engine
        from storage.raci.repo import RaciRepo
        from storage.retros.repo import RetroRepo

        raci_commands.install(app, RaciRepo(engine))
        Retros(RetroRepo(engine), numbers=None).install(app)  # numbers: the digests' SprintNumbers, once it offers one

    from adapters.sources.factory import source_factory
    from adapters.web.hooks import charts_from_env
    from bot.digests import service as digest_service

    digest_service.install(app, source_factory(), charts_from_env(app.store))


def cli_commands() -> list[Callable[[Any], None]]:
    """Sub-commands capabilities add to ``meridian`` (imported lazily: ``bot.cli`` imports this module)."""
    from bot.retros.cli import add_rotation_command

    return [add_rotation_command]


def build_core(store: Store, clock: Clock, chats: dict[str, ChatPort], settings: Settings | None = None,
               worker: str | None = None) -> Meridian:
    app = Meridian(store, clock, chats, settings, worker_id=worker or worker_id())
    install_capabilities(app)
    for chat in chats.values():  # a chat port that needs the core (member lookups, its own scheduled work)
        attach = getattr(chat, "attach", None)
        if callable(attach):
            attach(app)
    return app


def open_store(url: str, migrate: bool = True) -> Store:
    """Open the database; SQLite (the embedded default) is brought up to date on the spot."""
    from storage.db import make_engine, normalise_url
    from storage.kernel.repo import SqlStore
    from storage.migrate import upgrade

    url = normalise_url(url)
    if migrate and url.startswith("sqlite"):
        upgrade(url)
    return SqlStore(make_engine(url))
