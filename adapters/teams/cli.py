"""Teams' part of ``meridian``: the chat factory for ``serve``/``worker`` and ``meridian teams-package``.

``bot.cli`` registers both. This module stays light: botbuilder is imported only when
Teams is switched on — ``MicrosoftAppId`` set, or ``MERIDIAN_TEAMS_EMULATOR=1`` for a
local Bot Connector without authentication.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from bot.settings import Settings


def teams_enabled(settings: Settings) -> bool:
    return bool(settings.microsoft_app_id) or settings.teams_emulator


def teams_factory(settings: Settings) -> tuple[dict[str, Any], list[Any]]:
    """``{"teams": TeamsChat}`` and the ``/api/messages`` installer, when Teams is switched on."""
    if not teams_enabled(settings):
        return {}, []
    from adapters.teams.server import TeamsSettingsError, build_teams
    from bot.cli import UserError

    try:
        chat, install = build_teams(settings)
    except TeamsSettingsError as err:
        raise UserError(str(err)) from None
    return {"teams": chat}, [install]


def cmd_teams_package(args: argparse.Namespace) -> int:
    from adapters.teams.package import PackageError, PackageInfo, build_package
    from bot import cli

    app_id = args.app_id or cli._settings().microsoft_app_id
    info = PackageInfo(app_id=app_id, version=args.version, developer=args.developer, website=args.website,
                       privacy=args.privacy or "", terms=args.terms or "", domain=args.domain or "")
    try:
        data = build_package(info)
    except PackageError as err:
        raise cli.UserError(str(err)) from None
    out = Path(args.out)
    try:
        out.write_bytes(data)
    except OSError as err:
        raise cli.UserError(f"cannot write {out}: {err.strerror}") from None
    print(f"wrote {out} ({len(data):,} bytes): upload it in Teams → Apps → Manage your apps → Upload an app")
    return 0


def add_package_command(sub: Any) -> None:
    p = sub.add_parser("teams-package", help="build the Teams app package (zip with manifest and icons)")
    p.add_argument("--out", default="meridian-teams.zip", help="where to write the zip (default: %(default)s)")
    p.add_argument("--app-id", help="the bot's Azure app id (default: MicrosoftAppId)")
    p.add_argument("--version", default="1.0.0", help="the app's version; raise it for each upload (default: %(default)s)")
    p.add_argument("--developer", default="Meridian", help="the developer name Teams shows")
    p.add_argument("--website", default="https://example.com/meridian",
                   help="the developer's https website (default: %(default)s)")
    p.add_argument("--privacy", help="privacy statement URL (default: WEBSITE/privacy)")
    p.add_argument("--terms", help="terms of use URL (default: WEBSITE/terms)")
    p.add_argument("--domain", help="a domain the app may open (validDomains), e.g. meridian.example.com")
    p.set_defaults(func=cmd_teams_package)

