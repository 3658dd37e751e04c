"""Teams' part of ``meridian``: the chat factory for ``serve`` and ``worker``.

This module stays light: botbuilder is imported only when Teams is switched on —
``MicrosoftAppId`` set, or ``MERIDIAN_TEAMS_EMULATOR=1`` for a local Bot Connector
without authentication.
"""

from __future__ import annotations

from typing import Any

from bot.settings import Settings


def teams_enabled(settings: Settings) -> bool:
    return bool(settings.microsoft_app_id) or settings.teams_emulator


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
