"""``meridian``: the operator's one command (DESIGN §3).

Every failure a person can cause (a bad team file, a bad setting, a bad date) ends with
one clear line on stderr and exit status 2; nothing here prints a stack trace for them.
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
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from bot.bootstrap import DEMO_TEAM, build_core, build_core_with_digests, cli_commands, open_store
from bot.kernel.team import apply_team, export_team
from bot.kernel.teamfile import TeamFileError, TeamSection, load_team
from bot.kernel.timekeeping import TimeInputError, parse_date, parse_instant
from bot.settings import Settings, SettingsError, load_settings

Command = Callable[[argparse.Namespace], int]
EXTRA_COMMANDS: list[Callable[[Any], None]] = []
"""Capabilities add sub-commands here: each gets the sub-parsers object."""


class UserError(Exception):
    """Ends the command with one line on stderr and exit status 2."""


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as err:
        raise UserError(str(err)) from None


def core_settings(settings: Settings) -> Any:
    """The core's own knobs that operators set through the environment."""
    from bot.kernel.app import Settings as CoreSettings

    return CoreSettings(retention_days=settings.retention_days)


def _logging(level: str = "INFO") -> None:
    logging.basicConfig(level=getattr(logging, level, logging.INFO),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def _team(path: str, sections: Sequence[TeamSection] = ()) -> Any:
    try:
        return load_team(path, sections)
    except TeamFileError as err:
        raise UserError(str(err)) from None


def memory_app(start: datetime, out: Any = None, settings: Settings | None = None) -> tuple[Any, Any, Any]:
    """A core on a private SQLite file with the console chat and a simulated clock."""
    app, _digests, chat, clock = memory_core(start, out, settings)
    return app, chat, clock


def memory_core(start: datetime, out: Any = None, settings: Settings | None = None) -> tuple[Any, Any, Any, Any]:
    """``memory_app``, with the digests capability too."""
    from adapters.console.chat import ConsoleChat
    from bot.kernel.clock import SimulatedClock

    db = Path(tempfile.mkdtemp(prefix="meridian-")) / "console.db"
    store = open_store(f"sqlite:///{db}")
    clock = SimulatedClock(start)
    holder: dict[str, Any] = {}

    def channel_zone(channel: str) -> str:
        app = holder["app"]
        for s in app.store.list_standups():
            if s.channel == channel:
                return str(s.tz)
        return "UTC"

    chat = ConsoleChat(clock, out=out, channel_zone=channel_zone)
    app, digests = build_core_with_digests(store, clock, {"console": chat}, worker="console", app_settings=settings)
    holder["app"] = app
    return app, digests, chat, clock


# --- console --------------------------------------------------------------------------------
def cmd_console(args: argparse.Namespace) -> int:
    from adapters.console.session import ConsoleSession

    team = _team(args.team)
    try:
        start = parse_instant(args.start) if args.start else datetime.now(UTC).replace(second=0, microsecond=0)
    except TimeInputError as err:
        raise UserError(str(err)) from None
    _logging("WARNING")
    app, chat, clock = memory_app(start, settings=_settings())
    apply_team(app, team)
    session = ConsoleSession(app, chat, clock, team.workspace)

    async def main() -> int:
        if not sys.stdin.isatty():
            errors = await session.run_script(sys.stdin)
            return 1 if errors and args.strict else 0
        print(f"Meridian console — team {team.workspace}, {len(team.members)} people. "
              f"Simulated time {clock.now():%Y-%m-%d %H:%M}Z. Type :help.")
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
    upgrade(settings.database_url)
    print("database is up to date")
    return 0


def _stored_app() -> Any:
    from bot.kernel.clock import SystemClock

    settings = _settings()
    store = open_store(settings.database_url)
    return build_core(store, SystemClock(), {}, app_settings=settings), settings


def cmd_import(args: argparse.Namespace) -> int:
    if args.file.lower().endswith(".csv"):
        from bot.raci.cli import import_raci_file
        from bot.raci.model import RaciRefused

        app, _ = _stored_app()
        try:
            print(import_raci_file(app, args.file, args.workspace))
        except RaciRefused as err:
            raise UserError(str(err)) from None
        return 0
    team = _team(args.file)
    app, _ = _stored_app()
    apply_team(app, team)
    print(f"imported {team.workspace}: {len(team.members)} members, {len(team.standups)} stand-ups")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    app, _ = _stored_app()
    if args.raci_csv:
        from bot.raci.cli import export_raci_csv
        from bot.raci.model import RaciRefused

        try:
            sys.stdout.write(export_raci_csv(app, args.workspace, args.raci_csv))
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
    from bot.kernel.preview import preview

    team = _team(args.team)
    try:
        first = parse_date(args.start) if args.start else datetime.now(UTC).date()
    except TimeInputError as err:
        raise UserError(str(err)) from None
    if args.days < 1 or args.days > 366:
        raise UserError("--days must be between 1 and 366")
    start = datetime.combine(first, datetime.min.time(), tzinfo=UTC)
    app, _chat, _clock = memory_app(start, out=open("/dev/null", "w"))  # noqa: SIM115
    apply_team(app, team)
    rows = preview(app, start, start + timedelta(days=args.days))
    if args.json:
        json.dump(rows, sys.stdout, indent=1)
        print()
        return 0
    for r in rows:
        who = r["member"] or "(channel)"
        print(f"{r['utc']}  {r['kind']:<9} {r['name']:<16} {who:<14} {r['local']}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from aiohttp import web

    from adapters.web.server import build_web_app
    from bot.kernel.clock import SystemClock

    settings = _settings()
    _logging(settings.log_level)
    store = open_store(settings.database_url)
    chats, installers = chat_adapters(settings)
    app, digests = build_core_with_digests(store, SystemClock(), chats, core_settings(settings), app_settings=settings)
    from adapters.web.hooks import hook_routes

    web_app = build_web_app(app, settings, with_scheduler=not args.no_scheduler,
                            installers=[*installers, hook_routes(digests.registry)])
    web.run_app(web_app, host=args.host, port=args.port or settings.port, print=None)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from adapters.web.server import start_scheduler
    from bot.kernel.clock import SystemClock

    settings = _settings()
    _logging(settings.log_level)
    store = open_store(settings.database_url)
    chats, _ = chat_adapters(settings)
    app = build_core(store, SystemClock(), chats, core_settings(settings), app_settings=settings)

    async def main() -> None:
        start_scheduler(app, interval=args.interval)
        logging.getLogger("meridian").info("worker %s started", app.worker_id)
        await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
    return 0


def cmd_digest(args: argparse.Namespace) -> int:
    """Build a digest now: print it (``--dry-run``, nothing remembered) or post it to its channel."""
    from bot.kernel.clock import SystemClock
    from bot.kernel.timekeeping import iso_z

    settings = _settings()
    if args.team:
        if not args.dry_run:
            raise UserError("--team only previews; add --dry-run, or `meridian import` the file and post from the database")
        app, digests, _chat, _clock = memory_core(datetime.now(UTC).replace(microsecond=0),
                                                  out=open(os.devnull, "w"), settings=settings)  # noqa: SIM115
        team = _team(args.team, app.sections)
        apply_team(app, team)
        workspace = team.workspace
    else:
        chats, _ = chat_adapters(settings)
        app, digests = build_core_with_digests(open_store(settings.database_url), SystemClock(), chats,
                                               app_settings=settings)
        configured = digests.registry.configured()
        workspace = args.workspace or (configured[0] if len(configured) == 1 else "")
        if not workspace:
            raise UserError("name the workspace with --workspace (" + (", ".join(configured) or "none has sources") + ")")
    service = digests.registry.get(workspace)
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


ChatFactory = Callable[[Settings], tuple[dict[str, Any], list[Any]]]
CHAT_FACTORIES: list[ChatFactory] = []
"""Chat platforms register here: each returns its ports and the web routes it mounts."""


def chat_adapters(settings: Settings) -> tuple[dict[str, Any], list[Any]]:
    from adapters.console.chat import ConsoleChat
    from bot.kernel.clock import SystemClock

    chats: dict[str, Any] = {"console": ConsoleChat(SystemClock())}
    installers: list[Any] = []
    for factory in CHAT_FACTORIES:
        more, routes = factory(settings)
        chats.update(more)
        installers.extend(routes)
    return chats, installers


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

    for add in (*EXTRA_COMMANDS, *cli_commands()):
        add(sub)
    return parser


def _register_platforms() -> None:
    """Chat platforms plug into serve, worker and the command list (their heavy imports stay lazy)."""
    from adapters.slack.cli import add_socket_command, slack_chats
    from adapters.teams.cli import add_package_command, teams_factory

    CHAT_FACTORIES.append(slack_chats)
    CHAT_FACTORIES.append(teams_factory)
    EXTRA_COMMANDS.append(add_socket_command)
    EXTRA_COMMANDS.append(add_package_command)


_register_platforms()


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except UserError as err:
        print(f"meridian: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
