"""How ``meridian serve``, ``meridian worker`` and ``meridian socket`` get Slack.

This module imports nothing heavy at the top: ``meridian console`` never loads bolt.
``slack_chats`` gives the composition root the port for the core and the routes
``meridian serve`` mounts; ``socket_parts`` the same for ``meridian socket``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

log = logging.getLogger("meridian.slack")


def config_from_settings(settings: Any, socket_mode: bool = False) -> Any:
    from adapters.slack.config import SlackConfig

    env = {"SLACK_SIGNING_SECRET": settings.slack_signing_secret, "SLACK_BOT_TOKEN": settings.slack_bot_token,
           "SLACK_CLIENT_ID": settings.slack_client_id, "SLACK_CLIENT_SECRET": settings.slack_client_secret,
           "SLACK_APP_TOKEN": settings.slack_app_token, "SLACK_API_URL": settings.slack_api_url}
    if not socket_mode:
        env.pop("SLACK_APP_TOKEN")
    return SlackConfig.from_env({k: v or "" for k, v in env.items()}, socket_mode=socket_mode)


def journal(settings: Any) -> Any:
    """This process's journal of requests acknowledged before the database recorded them; one line if the
    folder cannot be made."""
    from pathlib import Path

    from adapters.slack.journal import Journal
    from bot.settings import SettingsError

    try:
        return Journal(Path(settings.slack_journal))
    except OSError as err:
        raise SettingsError(f"MERIDIAN_SLACK_JOURNAL: cannot write to {settings.slack_journal!r} "
                            f"({err.strerror or type(err).__name__})") from None


def slack_chats(settings: Any) -> tuple[dict[str, Any], list[Any]]:
    """The Slack chat port and the installer of its routes; nothing (and nothing loaded) without Slack settings."""
    if not (settings.slack_bot_token or settings.slack_client_id or settings.slack_client_secret
            or settings.slack_app_token):
        return {}, []
    from adapters.slack.app import SlackAdapter, slack_chat
    from adapters.slack.config import SlackSettingError
    from bot.settings import SettingsError

    over_http = True
    try:
        config = config_from_settings(settings)
    except SlackSettingError as err:
        if not settings.slack_app_token:
            raise SettingsError(str(err)) from None
        config, over_http = config_from_settings(settings, socket_mode=True), False  # `meridian socket` serves it
    if config is None:
        return {}, []
    from storage.db import make_engine
    from storage.slack.repo import SlackRepo

    repo = SlackRepo(make_engine(settings.database_url))
    chat = slack_chat(config, repo)

    def install(web_app: Any, app: Any, _settings: Any) -> None:
        SlackAdapter(app, config, repo, chat, journal=journal(settings)).mount(web_app)
        log.info("Slack is served at /slack/events (%s)",
                 "OAuth install at /slack/install" if config.multi_workspace else "one workspace")

    return {"slack": chat}, [install] if over_http else []


def socket_parts(settings: Any) -> tuple[Any, Callable[[Any, bool], Coroutine[Any, Any, None]]]:
    """The Slack port for Socket Mode, and the coroutine that serves it once the core exists.

    Raises ``SettingsError`` naming what is missing (``SLACK_APP_TOKEN`` first: without it
    there is no socket to open).
    """
    from adapters.slack.app import SlackAdapter, slack_chat
    from adapters.slack.config import SlackSettingError
    from adapters.web.server import freeze_startup_heap, start_scheduler
    from bot.settings import SettingsError
    from storage.db import make_engine
    from storage.slack.repo import SlackRepo

    if not settings.slack_app_token:
        raise SettingsError("SLACK_APP_TOKEN is required for Socket Mode (an app-level token, xapp-…)")
    try:
        config = config_from_settings(settings, socket_mode=True)
    except SlackSettingError as err:
        raise SettingsError(str(err)) from None
    repo = SlackRepo(make_engine(settings.database_url))
    chat = slack_chat(config, repo)

    async def serve(app: Any, with_scheduler: bool) -> None:
        adapter = SlackAdapter(app, config, repo, chat, socket_mode=True, journal=journal(settings))
        resuming = asyncio.ensure_future(adapter.keep_resuming())
        handler = await adapter.start_socket_mode()
        if with_scheduler:
            start_scheduler(app)
        freeze_startup_heap()
        log.info("connected to Slack over Socket Mode")
        try:
            await asyncio.Event().wait()
        finally:
            resuming.cancel()
            await handler.close_async()
            await adapter.ack_first.drain()
            await chat.close()

    return chat, serve
