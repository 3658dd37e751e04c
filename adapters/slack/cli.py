"""How ``meridian serve``, ``meridian worker`` and ``meridian socket`` get Slack.

This module imports nothing heavy at the top: ``meridian console`` never loads bolt.
``slack_chats`` is a chat factory for ``bot.cli.CHAT_FACTORIES`` (the port for the
core, plus the routes ``meridian serve`` mounts); ``add_socket_command`` adds
``meridian socket`` to the command list.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from adapters.slack.config import SlackConfig, SlackSettingError
from bot.settings import Settings

if TYPE_CHECKING:
    from aiohttp import web

    from adapters.slack.chat import SlackChat
    from bot.kernel.app import Meridian

log = logging.getLogger("meridian.slack")


def config_from_settings(settings: Settings, socket_mode: bool = False) -> SlackConfig | None:
    env = {"SLACK_SIGNING_SECRET": settings.slack_signing_secret, "SLACK_BOT_TOKEN": settings.slack_bot_token,
           "SLACK_CLIENT_ID": settings.slack_client_id, "SLACK_CLIENT_SECRET": settings.slack_client_secret,
           "SLACK_APP_TOKEN": settings.slack_app_token, "SLACK_API_URL": settings.slack_api_url}
    if not socket_mode:
        env.pop("SLACK_APP_TOKEN")
    return SlackConfig.from_env({k: v or "" for k, v in env.items()}, socket_mode=socket_mode)


def slack_chats(settings: Settings) -> tuple[dict[str, SlackChat], list[Callable[[web.Application, Meridian, Any], None]]]:
    """The Slack chat port and the installer of its routes; nothing (and nothing loaded) without Slack settings."""
    if not (settings.slack_bot_token or settings.slack_client_id or settings.slack_client_secret
            or settings.slack_app_token):
        return {}, []
    from adapters.slack.app import SlackAdapter, slack_chat
    from bot.cli import UserError

    over_http = True
    try:
        config = config_from_settings(settings)
    except SlackSettingError as err:
        if not settings.slack_app_token:
            raise UserError(str(err)) from None
        config, over_http = config_from_settings(settings, socket_mode=True), False  # `meridian socket` serves it
    if config is None:
        return {}, []
    from storage.db import make_engine
    from storage.slack.repo import SlackRepo

    repo = SlackRepo(make_engine(settings.database_url))
    chat = slack_chat(config, repo)

    def install(web_app: web.Application, app: Meridian, _settings: Any) -> None:
        SlackAdapter(app, config, repo, chat).mount(web_app)
        log.info("Slack is served at /slack/events (%s)",
                 "OAuth install at /slack/install" if config.multi_workspace else "one workspace")

    return {"slack": chat}, [install] if over_http else []


def cmd_socket(args: argparse.Namespace) -> int:
    from adapters.slack.app import SlackAdapter, slack_chat
    from adapters.web.server import start_scheduler
    from bot.bootstrap import build_core, open_store
    from bot.cli import _logging
    from bot.kernel.clock import SystemClock
    from bot.settings import SettingsError, load_settings
    from storage.db import make_engine
    from storage.slack.repo import SlackRepo

    try:
        settings = load_settings()
        config = config_from_settings(settings, socket_mode=True)
    except (SettingsError, SlackSettingError) as err:
        print(f"meridian: {err}", file=sys.stderr)
        return 2
    if config is None:  # Socket Mode insists on its tokens: from_env raised already
        return 2
    _logging(settings.log_level)
    store = open_store(settings.database_url)
    repo = SlackRepo(make_engine(settings.database_url))
    chat = slack_chat(config, repo)
    app = build_core(store, SystemClock(), {"slack": chat})
    adapter = SlackAdapter(app, config, repo, chat, socket_mode=True)

    async def run() -> None:
        handler = await adapter.start_socket_mode()
        if not args.no_scheduler:
            start_scheduler(app)
        log.info("connected to Slack over Socket Mode")
        try:
            await asyncio.Event().wait()
        finally:
            await handler.close_async()
            await adapter.ack_first.drain()
            await chat.close()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())
    return 0


def add_socket_command(sub: Any) -> None:
    p = sub.add_parser("socket", help="Slack over Socket Mode: no public URL needed")
    p.add_argument("--no-scheduler", action="store_true", help="leave scheduled work to `meridian worker`")
    p.set_defaults(func=cmd_socket)
