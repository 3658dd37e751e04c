"""The composition root: wires the core's ports to adapters from settings.

This module and ``bot.cli`` are the only parts of ``bot/`` that may import adapters and
storage; every other core module talks through ``bot.kernel.ports``.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.kernel import people, retention
from bot.kernel.app import Meridian, Settings
from bot.kernel.ports import ActivityOwners, ChatPort, Clock, Store
from bot.raci.install import Raci
from bot.raci.service import RaciService
from bot.retros import flow as retros
from bot.standups import flow as standups

DEMO_TEAM = Path(__file__).resolve().parent.parent / "examples" / "team.yaml"


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class Installed:
    """What ``install_capabilities`` built that the rest of the composition root hands on."""

    raci: RaciService | None = None
    """For ``meridian import chart.csv`` and ``meridian export --raci-csv``."""
    owners: ActivityOwners | None = None
    """RACI's answer to "who owns this activity", for stand-up blockers and drift alerts."""


def install_capabilities(app: Meridian) -> Installed:
    """Every capability registers its commands, planners and handlers."""
    engine = getattr(app.store, "engine", None)  # RACI and retros keep their tables beside the core's
    raci: Raci | None = None
    owners: ActivityOwners | None = None
    if engine is not None:
        from storage.raci.repo import RaciRepo

        raci = Raci(RaciRepo(engine))
        owners = raci.service  # what stand-up blockers and drift alerts are given
    standups.install(app)
    people.People().install(app)
    retention.Retention().install(app)
    if raci is not None:
        app.install([raci])
    if engine is not None:
        from storage.retros.repo import RetroRepo

        retros.install(app, RetroRepo(engine))

    from adapters.sources.factory import source_factory
    from adapters.web.hooks import charts_from_env
    from bot.digests import service as digest_service

    digest_service.install(app, source_factory(), charts_from_env(app.store))
    return Installed(raci=raci.service if raci is not None else None, owners=owners)


def cli_commands() -> list[Callable[[Any], None]]:
    """Sub-commands capabilities add to ``meridian`` (imported lazily: ``bot.cli`` imports this module)."""
    from bot.retros.cli import add_rotation_command

    return [add_rotation_command]


def build_core(store: Store, clock: Clock, chats: dict[str, ChatPort], settings: Settings | None = None,
               worker: str | None = None) -> Meridian:
    return assemble(store, clock, chats, settings, worker)[0]


def assemble(store: Store, clock: Clock, chats: dict[str, ChatPort], settings: Settings | None = None,
             worker: str | None = None) -> tuple[Meridian, Installed]:
    """``build_core``, also giving what was installed (the CLI's RACI commands need the RACI service)."""
    app = Meridian(store, clock, chats, settings, worker_id=worker or worker_id())
    installed = install_capabilities(app)
    for chat in chats.values():  # a chat port that needs the core (member lookups, its own scheduled work)
        attach = getattr(chat, "attach", None)
        if callable(attach):
            attach(app)
    return app, installed


def open_store(url: str, migrate: bool = True) -> Store:
    """Open the database; SQLite (the embedded default) is brought up to date on the spot."""
    from storage.db import make_engine, normalise_url
    from storage.kernel.repo import SqlStore
    from storage.migrate import upgrade

    url = normalise_url(url)
    if migrate and url.startswith("sqlite"):
        upgrade(url)
    return SqlStore(make_engine(url))
