"""``meridian``: the operator's one command (DESIGN §3).

Every failure a person can cause (a bad team file, a bad setting, a bad date) ends with
one clear line on stderr and exit status 2; nothing here prints a stack trace for them.
Every command builds its app through ``bot.bootstrap``, the same way production does.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import yaml

from bot.bootstrap import (
    DEMO_TEAM,
    Composition,
    Connection,
    Installed,
    assemble,
    compose,
    configured_platforms,
    default_platform,
    open_store,
    platforms,
    team_sections,
)
from bot.kernel.app import Meridian
from bot.kernel.clock import SimulatedClock, SystemClock
from bot.kernel.team import apply_team, export_team
from bot.kernel.teamfile import TeamFile, TeamFileError, load_team
from bot.kernel.timekeeping import TimeInputError, parse_date, parse_instant
from bot.settings import Settings, SettingsError, load_settings
from storage.db import DatabaseUrlError, as_database_error, ensure_reachable

if TYPE_CHECKING:
    from adapters.web.server import CoreLoop

Command = Callable[[argparse.Namespace], int]


class UserError(Exception):
    """Ends the command with one line on stderr and exit status 2."""


def _settings(socket_mode: bool = False) -> Settings:
    try:
        return load_settings(socket_mode=socket_mode)
    except SettingsError as err:
        raise UserError(str(err)) from None


def _logging(level: str = "INFO") -> None:
    logging.basicConfig(level=getattr(logging, level, logging.INFO),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def _console_log() -> Path:
    """The console's log goes to a file: the terminal shows only the transcript, on the simulated clock."""
    path = Path(tempfile.mkdtemp(prefix="meridian-log-")) / "console.log"
    logging.basicConfig(level=logging.WARNING, filename=path,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return path


def _team(path: str, app: Meridian) -> TeamFile:
    """The team file validated whole, with every section the app's capabilities own."""
    try:
        return load_team(path, app.sections)
    except TeamFileError as err:
        raise UserError(str(err)) from None


def _compose(settings: Settings, connections: dict[str, Connection] | None = None,
             pause: Callable[[], None] | None = None) -> Composition:
    ensure_reachable(settings.database_url)
    try:
        return compose(settings, SystemClock(), connections=connections, pause=pause)
    except SettingsError as err:
        raise UserError(str(err)) from None


def memory_app(start: datetime, out: TextIO | None = None) -> tuple[Meridian, Any, SimulatedClock]:
    """A core on a private SQLite file with the console chat and a simulated clock."""
    app, _installed, chat, clock = memory_composition(start, out)
    return app, chat, clock


def memory_composition(start: datetime, out: TextIO | None = None
                       ) -> tuple[Meridian, Installed, Any, SimulatedClock]:
    """``memory_app`` and the capabilities it was built with."""
    from adapters.console.chat import ConsoleChat

    db = Path(tempfile.mkdtemp(prefix="meridian-")) / "console.db"
    clock = SimulatedClock(start)
    stores: list[Meridian] = []

    def channel_zone(channel: str) -> str:
        for s in stores[0].store.list_standups():
            if s.channel == channel:
                return str(s.tz)
        return "UTC"

    chat = ConsoleChat(clock, out=out, channel_zone=channel_zone)
    settings = replace(_settings_or_default(), database_url=f"sqlite:///{db}")
    app, installed = assemble(open_store(settings.database_url), clock, {"console": chat}, settings,
                              worker="console")
    stores.append(app)
    return app, installed, chat, clock


def _settings_or_default() -> Settings:
    """The console needs no setting; ones that are set (a W&B key in .env) still reach the sources."""
    try:
        return load_settings()
    except SettingsError:
        return Settings()


# --- console --------------------------------------------------------------------------------
def cmd_console(args: argparse.Namespace) -> int:
    from adapters.console.session import ConsoleSession

    try:
        start = parse_instant(args.start) if args.start else datetime.now(UTC).replace(second=0, microsecond=0)
    except TimeInputError as err:
        raise UserError(str(err)) from None
    log_file = _console_log()
    app, chat, clock = memory_app(start)
    team = _team(args.team, app)
    apply_team(app, team, platform="console")
    session = ConsoleSession(app, chat, clock, team.workspace)

    async def main() -> int:
        if not sys.stdin.isatty():
            errors = await session.run_script(sys.stdin)
            return 1 if errors and args.strict else 0
        print(f"Meridian console — team {team.workspace}, {len(team.members)} people. "
              f"Simulated time {clock.now():%Y-%m-%d %H:%M}Z. Type :help. (Log: {log_file})")
        while True:
            try:
                line = input(session.prompt())
            except (EOFError, KeyboardInterrupt):
                print()
                return 0
            if await session.run_line(line) is None:
                return 0

    return asyncio.run(main())


# --- operators' commands --------------------------------------------------------------------
def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from storage.migrate import upgrade

    settings = _settings()
    ensure_reachable(settings.database_url)
    upgrade(settings.database_url)
    print("database is up to date")
    return 0


def _stored_app() -> Composition:
    """The production app on the configured database, without connecting any chat platform:
    importing and exporting send nothing."""
    return _compose(_settings(), connections={})


def cmd_import(args: argparse.Namespace) -> int:
    composition = _stored_app()
    app = composition.app
    if args.file.lower().endswith(".csv"):
        from bot.raci.cli import import_raci_file
        from bot.raci.model import RaciRefused

        try:
            print(import_raci_file(app, composition.capabilities.raci.service, args.file, args.workspace))
        except RaciRefused as err:
            raise UserError(str(err)) from None
        return 0
    team = _team(args.file, app)
    known = [p.name for p in platforms()] + ["console"]
    if args.platform and args.platform not in known:
        raise UserError(f"--platform must be one of {', '.join(known)}, not {args.platform!r}")
    try:
        platform = args.platform or default_platform(composition.settings, [m.accounts for m in team.members])
    except SettingsError as err:
        raise UserError(str(err)) from None
    apply_team(app, team, platform=platform)
    print(f"imported {team.workspace}: {len(team.members)} members, {len(team.standups)} stand-ups "
          f"(talks on {platform})")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    composition = _stored_app()
    app = composition.app
    if args.raci_csv:
        from bot.raci.cli import export_raci_csv
        from bot.raci.model import RaciRefused

        try:
            sys.stdout.write(export_raci_csv(app, composition.capabilities.raci.service, args.workspace,
                                             args.raci_csv))
        except RaciRefused as err:
            raise UserError(str(err)) from None
        return 0
    workspaces = [w.id for w in app.store.list_workspaces()]
    workspace = args.workspace or (workspaces[0] if workspaces else None)
    if workspace is None:
        raise UserError("there is nothing to export: the database has no workspace yet (meridian import FILE)")
    yaml.safe_dump(export_team(app, workspace), sys.stdout, sort_keys=False, allow_unicode=True)
    return 0


def cmd_schedule_preview(args: argparse.Namespace) -> int:
    from bot.kernel.preview import format_rows, preview

    try:
        first = parse_date(args.start) if args.start else datetime.now(UTC).date()
    except TimeInputError as err:
        raise UserError(str(err)) from None
    if args.days < 1 or args.days > 366:
        raise UserError("--days must be between 1 and 366")
    start = datetime.combine(first, datetime.min.time(), tzinfo=UTC)
    app, _chat, _clock = memory_app(start, out=open(os.devnull, "w"))  # noqa: SIM115
    team = _team(args.team, app)
    apply_team(app, team, platform="console")
    rows = preview(app, start, start + timedelta(days=args.days))
    if args.json:
        json.dump(rows, sys.stdout, indent=1)
        print()
        return 0
    print(format_rows(rows))
    return 0


def web_application(composition: Composition, with_scheduler: bool, core: CoreLoop | None = None) -> Any:
    """``meridian serve``'s aiohttp application: health and metrics, each platform's routes, the webhooks.

    Everything that touches the store runs on a core loop of its own (``CoreLoop``), so a
    slow or locked database never holds up the HTTP loop that answers ``/healthz``."""
    from adapters.web.hooks import hook_routes
    from adapters.web.server import CoreLoop, build_web_app

    return build_web_app(composition.app, composition.settings, with_scheduler=with_scheduler,
                         installers=[*composition.routes, hook_routes(composition.capabilities.digests.registry)],
                         core=core or CoreLoop(), probe=composition.database_probe)


def cmd_serve(args: argparse.Namespace) -> int:
    from aiohttp import web

    from adapters.web.server import CoreLoop, GiveWay

    settings = _settings()
    _logging(settings.log_level)
    # The core loop and the store's threads (PostgreSQL) both wait while the HTTP loop answers a burst.
    give_way = GiveWay()
    web_app = web_application(_compose(settings, pause=give_way.wait), with_scheduler=not args.no_scheduler,
                              core=CoreLoop(give_way))
    web.run_app(web_app, host=args.host, port=args.port or settings.port, print=None)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from adapters.web.server import start_scheduler

    settings = _settings()
    _logging(settings.log_level)
    app = _compose(settings).app

    async def main() -> None:
        start_scheduler(app, interval=args.interval)
        logging.getLogger("meridian").info("worker %s started", app.worker_id)
        await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
    return 0


def cmd_socket(args: argparse.Namespace) -> int:
    """Slack over Socket Mode: the same app as ``serve``, with Slack's events arriving over a socket."""
    from adapters.slack.cli import socket_parts

    settings = _settings(socket_mode=True)
    try:
        chat, serve = socket_parts(settings)
    except SettingsError as err:
        raise UserError(str(err)) from None
    _logging(settings.log_level)
    try:  # Teams beside Slack keeps working; Slack itself comes over the socket, not HTTP
        connections = {p.name: p.connect(settings) for p in configured_platforms(settings) if p.name != "slack"}
    except SettingsError as err:
        raise UserError(str(err)) from None
    connections["slack"] = Connection(chat, [], chat.attach)
    app = _compose(settings, connections).app
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(app, not args.no_scheduler))
    return 0


def cmd_teams_package(args: argparse.Namespace) -> int:
    from adapters.teams.package import PackageError, PackageInfo, build_package

    app_id = args.app_id or _settings().microsoft_app_id
    public_url = args.public_url if args.public_url is not None else _settings().public_url
    info = PackageInfo(app_id=app_id, version=args.version, developer=args.developer, website=args.website,
                       privacy=args.privacy or "", terms=args.terms or "", domain=args.domain or "",
                       public_url=public_url)
    try:
        data = build_package(info)
    except PackageError as err:
        raise UserError(str(err)) from None
    out = Path(args.out)
    try:
        out.write_bytes(data)
    except OSError as err:
        raise UserError(f"cannot write {out}: {err.strerror}") from None
    print(f"wrote {out} ({len(data):,} bytes): upload it in Teams → Apps → Manage your apps → Upload an app")
    return 0


def cmd_digest(args: argparse.Namespace) -> int:
    """Build a digest now: print it (``--dry-run``, nothing remembered) or post it to its channel."""
    from bot.kernel.timekeeping import iso_z

    if args.team:
        if not args.dry_run:
            raise UserError("--team only previews; add --dry-run, or `meridian import` the file and post from the database")
        app, installed, _chat, _clock = memory_composition(datetime.now(UTC).replace(microsecond=0),
                                                           out=open(os.devnull, "w"))  # noqa: SIM115
        team = _team(args.team, app)
        apply_team(app, team, platform="console")
        workspace = team.workspace
    else:
        composition = _compose(_settings())
        app, installed = composition.app, composition.capabilities
        configured = installed.digests.registry.configured()
        workspace = args.workspace or (configured[0] if len(configured) == 1 else "")
        if not workspace:
            raise UserError("name the workspace with --workspace (" + (", ".join(configured) or "none has sources") + ")")
    registry = installed.digests.registry
    service = registry.get(workspace)
    if service is None:
        raise UserError(f"workspace {workspace} has no `sources:` in its team file")
    schedule = service.config.digest(args.kind)
    if args.kind == "experiments" and not service.config.tracking:
        raise UserError("the team file has no sources.tracking, so there is no experiments digest to build")

    async def main() -> int:
        try:
            run = None
            if args.kind == "experiments":
                run = await service.experiments(sources=schedule.sources if schedule else ())
                digest = run.digest
            else:
                digest = await service.drift()
            if args.dry_run:
                print(digest.as_one().fallback)
                return 1 if run and run.down else 0
            if schedule is None:
                raise UserError(f"the team file's digests: section has no {args.kind} digest naming a channel")
            key = f"digest:{args.kind}:{workspace}:{schedule.channel}:manual:{iso_z(app.now())}"
            await service.post_digest(key, schedule.channel, digest)
            if run is not None:
                service.commit(run)
            print(f"posted the {args.kind} digest to {schedule.channel}")
            return 1 if run and run.down else 0
        finally:
            await service.close()

    return asyncio.run(main())


# --- parser ---------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="meridian", description="Meridian: the async project manager for ML teams.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("console", help="chat with Meridian in the terminal (demo team, simulated time)")
    p.add_argument("--team", default=str(DEMO_TEAM), help="team file (default: the demo team)")
    p.add_argument("--start", help="simulated start instant, e.g. 2027-03-15T07:00Z (default: now)")
    p.add_argument("--strict", action="store_true", help="exit 1 when a script line was a mistake")
    p.set_defaults(func=cmd_console)

    p = sub.add_parser("serve", help="the HTTP server: Slack, Teams, webhooks, health, metrics")
    p.add_argument("--port", type=int, default=None)
    p.add_argument("--host", default="0.0.0.0")
    p.add_argument("--no-scheduler", action="store_true", help="leave scheduled work to `meridian worker`")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("worker", help="the scheduler alone (more than one is safe)")
    p.add_argument("--interval", type=float, default=10.0, help="seconds between scheduler passes")
    p.set_defaults(func=cmd_worker)

    db = sub.add_parser("db", help="database maintenance").add_subparsers(dest="db_command", required=True)
    p = db.add_parser("upgrade", help="apply the Alembic migrations")
    p.set_defaults(func=cmd_db_upgrade)

    p = sub.add_parser("import", help="load a team file (or a RACI chart, FILE.csv) into the database")
    p.add_argument("file")
    p.add_argument("--workspace", help="the workspace a RACI CSV belongs to (default: the only one)")
    p.add_argument("--platform", help="where the team talks: slack, teams or console (default: the configured "
                                      "platform; with both, the one the members have accounts on)")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("export", help="print the stored team as a team file")
    p.add_argument("--workspace")
    p.add_argument("--raci-csv", nargs="?", const="wide", choices=["wide", "long"],
                   help="print the RACI chart as CSV instead: a matrix (wide, the default) or one row per role")
    p.set_defaults(func=cmd_export)

    sched = sub.add_parser("schedule", help="scheduled work").add_subparsers(dest="schedule_command", required=True)
    p = sched.add_parser("preview", help="every reminder, nudge and summary instant, in UTC and local time")
    p.add_argument("--team", required=True)
    p.add_argument("--from", dest="start", help="first UTC date (default: today)")
    p.add_argument("--days", type=int, default=7)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_schedule_preview)

    p = sub.add_parser("digest", help="build the experiments or drift digest now, and print or post it")
    p.add_argument("kind", choices=["experiments", "drift"])
    p.add_argument("--dry-run", action="store_true", help="print it; post nothing and remember nothing")
    p.add_argument("--team", help="use this team file's sources (with --dry-run) instead of the database")
    p.add_argument("--workspace", help="the workspace, when the database holds several")
    p.set_defaults(func=cmd_digest)

    p = sub.add_parser("socket", help="Slack over Socket Mode: no public URL needed")
    p.add_argument("--no-scheduler", action="store_true", help="leave scheduled work to `meridian worker`")
    p.set_defaults(func=cmd_socket)

    p = sub.add_parser("teams-package", help="build the Teams app package (zip with manifest and icons)")
    p.add_argument("--out", default="meridian-teams.zip", help="where to write the zip (default: %(default)s)")
    p.add_argument("--app-id", help="the bot's Azure app id (default: MicrosoftAppId)")
    p.add_argument("--version", default="1.0.0", help="the app's version; raise it for each upload (default: %(default)s)")
    p.add_argument("--developer", default="Meridian", help="the developer name Teams shows")
    p.add_argument("--website", default="https://example.com/meridian",
                   help="the developer's https website (default: %(default)s)")
    p.add_argument("--privacy", help="privacy statement URL (default: WEBSITE/privacy)")
    p.add_argument("--terms", help="terms of use URL (default: WEBSITE/terms)")
    p.add_argument("--public-url", help="where meridian serve is reached, for the personal tab "
                                        "(default: MERIDIAN_PUBLIC_URL; empty: no tab)")
    p.add_argument("--domain", help="a domain the app may open (validDomains), e.g. meridian.example.com")
    p.set_defaults(func=cmd_teams_package)

    from bot.retros.cli import add_rotation_command

    add_rotation_command(sub, sections=team_sections)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except UserError as err:
        print(f"meridian: {err}", file=sys.stderr)
        return 2
    except Exception as err:  # a database that cannot be reached or opened is one line, not a traceback
        found = as_database_error(err)
        if found is None:
            raise
        print(f"meridian: {found}", file=sys.stderr)
        return 2 if isinstance(found, DatabaseUrlError) else 1


if __name__ == "__main__":
    sys.exit(main())
