"""Teams' part of ``meridian``: the chat factory for ``serve`` and ``worker``.

This module stays light: botbuilder is imported only when
Teams is switched on — ``MicrosoftAppId`` set, or ``MERIDIAN_TEAMS_EMULATOR=1`` for a
local Bot Connector without authentication.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from bot.settings import Settings, read_dotenv

EMULATOR_ENV = "MERIDIAN_TEAMS_EMULATOR"


def emulator_requested(env: dict[str, str] | None = None) -> bool:
    source = {**read_dotenv(Path(".env")), **os.environ} if env is None else env
    return source.get(EMULATOR_ENV, "").strip() == "1"


def teams_enabled(settings: Settings, env: dict[str, str] | None = None) -> bool:
    return bool(settings.microsoft_app_id) or emulator_requested(env)


def teams_factory(settings: Settings) -> tuple[dict[str, Any], list[Any]]:
    """``{"teams": TeamsChat}`` and the ``/api/messages`` installer, when Teams is switched on."""
    if not teams_enabled(settings):
        return {}, []
    from adapters.teams.server import TeamsSettingsError, build_teams
    from bot.settings import SettingsError

    try:
        chat, install = build_teams(settings)
    except TeamsSettingsError as err:
        raise SettingsError(str(err)) from None
    return {"teams": chat}, [install]
