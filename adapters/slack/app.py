"""The Slack app: bolt's ``AsyncApp`` translating Slack payloads to core requests.

Slash commands become ``Invocation``s, messages become ``IncomingMessage``s, reactions
become ``Reaction``s, buttons and modal submissions become ``Action``s; the core's
replies come back as neutral messages and forms rendered by ``adapters.slack.blocks``,
their attached files as Slack files. Every listener acknowledges first and works
after, so Slack's 3 seconds are always met; the one exception is a modal submission,
which waits briefly for the core so that a mistake can be shown inside the modal. Work after the ack yields to requests still waiting for theirs
(``AckFirst``): a burst of commands is acknowledged as fast as a bare bolt app would,
and the work follows. Every event id is handled once, across processes. Under ``meridian serve`` a
command, an event or a click is acknowledged from the HTTP loop as soon as it is screened; it is
journalled before its ack and recorded as owed work when its work starts, so that a process killed in
between loses nothing (``resume_owed``).

One URL (``/slack/events``) takes commands, events, interactivity and options; the
install flow lives at ``/slack/install`` and ``/slack/oauth_redirect``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import replace
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.blocks import form_metadata, form_values, home_view, modal, render
from adapters.slack.chat import SlackChat, TokenSource, fixed_token, normalise_api_url
from adapters.slack.config import SlackConfig
from adapters.slack.install import DatabaseInstallationStore, DatabaseStateStore, workspace_id
from adapters.slack.journal import Held, Journal
from adapters.slack.people import People
from adapters.slack.requests import (
    INTERACTIVE_TYPES,
    SlackRequestError,
    check_shape,
    parse_body,
    verify_signature,
)
from adapters.slack.translate import MemberIdOf, core_text, emoji_of, member_ids
from adapters.web.server import ANSWER_BY, AnswerBy
from bot.kernel import metrics
from bot.kernel.app import Action, IncomingMessage, Meridian, Reaction
from bot.kernel.commands import CommandError, Invocation, Reply
from bot.kernel.domain import Member
from bot.kernel.home import home_page
from bot.kernel.messages import Attachment, Block, Context, Message, Strong, rich
from bot.kernel.ports import DeliveryError
from storage.slack.repo import EVENT_MEMORY_SECONDS, SlackRepo

log = logging.getLogger("meridian.slack")

SLASH_COMMANDS: tuple[str, ...] = ("standup", "raci", "retro", "experiments", "drift", "meridian")
"""Every slash command of DESIGN §2; ``manifest.json`` declares exactly these."""

BOT_EVENTS: tuple[str, ...] = ("app_home_opened", "app_mention", "member_joined_channel", "message.channels",
                               "message.groups", "message.im", "reaction_added", "reaction_removed", "user_change")
"""The events ``manifest.json`` subscribes to (``message.*`` all arrive as ``message``)."""

BOT_SCOPES: dict[str, str] = {
    "app_mentions:read": "app_mention (@Meridian who owns churn retraining?)",
    "commands": "slash commands, and the message shortcut “Ask who owns this”",
    "chat:write": "chat.postMessage, chat.update, chat.postEphemeral",
    "im:write": "conversations.open for reminder DMs",
    "users:read": "users.info for names and time zones; user_change",
    "channels:history": "message.channels (thread replies)",
    "groups:history": "message.groups (thread replies in private channels)",
    "im:history": "message.im (answers by DM)",
    "channels:read": "member_joined_channel",
    "groups:read": "member_joined_channel in private channels",
    "reactions:read": "reaction_added, reaction_removed (👍 votes on retro items)",
    "files:write": "files.getUploadURLExternal, files.completeUploadExternal (calendar files, RACI exports)",
    "files:read": "files.list, files.info and the download of a CSV shared for /raci import",
}
"""Each bot scope the app asks for, and what it is used for; nothing else is requested."""

ASK_OWNER = "ask_owner"
MESSAGE_SHORTCUTS: dict[str, str] = {ASK_OWNER: "Ask who owns this"}
"""Each message shortcut's ``callback_id`` and name; ``manifest.json`` declares exactly these."""

FORM_WAIT_SECONDS = 2.0
"""How long a modal submission waits for the core before the modal is closed anyway."""
ACK_DEADLINE_SECONDS = 2.5
"""``meridian serve`` acknowledges a screened request itself when the core loop has not by then
(Slack allows 3 s); longer than ``FORM_WAIT_SECONDS`` so a modal's own answer wins normally."""
SCREENED = web.RequestKey("meridian_slack_screened", bool)
"""Set on a request whose signature and shape were checked (so the core loop does not check again)."""
ACKED_EARLY = web.RequestKey("meridian_slack_acked_early", dict)
"""The parsed body of a screened request that is answered before its work (``acked_first``)."""


def _empty_ack() -> web.Response:
    """What bolt answers a command, an event or a click with: an empty 200."""
    return web.Response(status=200)


class _TokenFromEnvironment(logging.Filter):
    """bolt also reads SLACK_BOT_TOKEN itself and warns that our client's copy wins; it is the same token."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


bolt_log = logging.getLogger("meridian.slack.bolt")
bolt_log.addFilter(_TokenFromEnvironment())


def token_source(config: SlackConfig, repo: SlackRepo) -> TokenSource:
    """The bot token for a workspace: the configured one, or its installation's."""
    if config.bot_token and not config.multi_workspace:
        return fixed_token(config.bot_token)
    installations = DatabaseInstallationStore(repo)
    return installations.bot_token


def slack_chat(config: SlackConfig, repo: SlackRepo) -> SlackChat:
    """The chat port, built before the core exists; the composition root attaches the core to it."""
    chat = SlackChat(token_source(config, repo), api_url=config.api_url)
    chat.housekeeping = lambda: repo.forget_events_before(time.time() - EVENT_MEMORY_SECONDS)
    return chat


# --- payload helpers ------------------------------------------------------------------

def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def body_workspace(body: dict[str, Any]) -> str:
    """The workspace a request belongs to (team, or enterprise for an org-wide install); ``""`` when it names none."""
    team = (_text_or_none(body.get("team_id")) or _text_or_none(_mapping(body.get("team")).get("id"))
            or _text_or_none(_mapping(body.get("user")).get("team_id")))
    enterprise = _text_or_none(body.get("enterprise_id")) or _text_or_none(_mapping(body.get("enterprise")).get("id"))
    org_install = body.get("is_enterprise_install") in (True, "true")
    authorizations = body.get("authorizations")
    first = _mapping(authorizations[0]) if isinstance(authorizations, list) and authorizations else {}
    if first.get("is_enterprise_install") is True:
        org_install = True
        enterprise = enterprise or _text_or_none(first.get("enterprise_id"))
    team = team or _text_or_none(first.get("team_id"))
    return workspace_id(enterprise, team, org_install)


def bot_user_of(body: dict[str, Any]) -> str | None:
    """Meridian's own Slack user in this workspace, as an event's ``authorizations`` names it."""
    authorizations = body.get("authorizations")
    for entry in authorizations if isinstance(authorizations, list) else []:
        if isinstance(entry, dict) and entry.get("is_bot") and isinstance(entry.get("user_id"), str):
            return str(entry["user_id"])
    return None


def without_bot_mention(text: str, bot_user: str | None) -> str:
    """``<@UBOT> who owns churn retraining?`` → ``who owns churn retraining?``; other mentions stay."""
    if bot_user:
        return re.sub(rf"[ \t]*<@{re.escape(bot_user)}(?:\|[^>]*)?>[ \t]*", " ", text).strip()
    return re.sub(r"^\s*<@[A-Z0-9]+(?:\|[^>]*)?>[ \t]*", "", text).strip()  # no authorizations: the leading one


def once_key(body: dict[str, Any]) -> str | None:
    """What makes a request the same request: an event's ``event_id``, a command's or an interaction's
    ``trigger_id`` (Slack makes a new one for every invocation and every click)."""
    if body.get("type") == "event_callback":
        event_id = body.get("event_id")
        return str(event_id) if event_id else None
    trigger = body.get("trigger_id")
    if trigger and ("command" in body or body.get("type") in INTERACTIVE_TYPES):
        return f"trigger:{trigger}"
    return None


def acked_first(body: dict[str, Any]) -> bool:
    """Requests whose listener acknowledges before doing anything (``SlackAdapter._later``): commands,
    events, button clicks and message shortcuts. A form submission is answered by its work (errors go back in
    the ack)."""
    return "command" in body or body.get("type") in {"event_callback", "block_actions", "message_action"}


class SlackAdapter:
    """Owns the bolt app; every listener is a translation into one call of the core."""

    def __init__(self, meridian: Meridian, config: SlackConfig, repo: SlackRepo, chat: SlackChat,
                 socket_mode: bool = False, journal: Journal | None = None) -> None:
        self.meridian = meridian
        self.config = config
        self.repo = repo
        self.chat = chat
        self.journal = journal
        self._running: set[str] = set()
        """Keys of requests whose work runs in this process now."""
        self._taken_over: set[str] = set()
        """Keys of owed requests this process took over, on their way to ``_first_time``."""
        self.people: People = chat.people_of(meridian)
        self.registered_commands: list[str] = []
        self.registered_events: list[str] = []
        self.registered_shortcuts: list[str] = []
        self._tasks: set[asyncio.Future[Any]] = set()
        self.ack_first = AckFirst()
        self.bolt = self._build_bolt(socket_mode)
        self._register()

    # --- bolt -------------------------------------------------------------------------
    def _build_bolt(self, socket_mode: bool) -> AsyncApp:
        api_url = normalise_api_url(self.config.api_url)
        common: dict[str, Any] = {
            "name": "meridian",
            "logger": bolt_log,
            "process_before_response": False,
            "request_verification_enabled": not socket_mode,
            "signing_secret": self.config.signing_secret or ("socket-mode" if socket_mode else None),
        }
        if self.config.multi_workspace:
            installations = DatabaseInstallationStore(self.repo)
            settings = AsyncOAuthSettings(
                client_id=self.config.client_id, client_secret=self.config.client_secret,
                scopes=sorted(BOT_SCOPES), installation_store=installations,
                state_store=DatabaseStateStore(self.repo), install_path="/slack/install",
                redirect_uri_path="/slack/oauth_redirect", redirect_uri=self.config.redirect_uri)
            flow = AsyncOAuthFlow(client=AsyncWebClient(base_url=api_url), settings=settings)
            return AsyncApp(client=AsyncWebClient(base_url=api_url), installation_store=installations,
                            oauth_flow=flow, **common)
        return AsyncApp(client=AsyncWebClient(token=self.config.bot_token, base_url=api_url), **common)

    def _register(self) -> None:
        bolt = self.bolt
        bolt.middleware(self._once_per_event)
        for name in SLASH_COMMANDS:
            bolt.command(f"/{name}")(self._later(self._command))
            self.registered_commands.append(name)
        events: dict[str, Callable[..., Awaitable[None]]] = {
            "app_home_opened": self._home_opened,
            "app_mention": self._mention,
            "message": self._message,
            "member_joined_channel": self._member_joined,
            "reaction_added": self._reaction,
            "reaction_removed": self._reaction,
            "user_change": self._user_change,
        }
        for event, handler in events.items():
            bolt.event(event)(self._later(handler))
            self.registered_events.append(event)
        shortcuts: dict[str, Callable[..., Awaitable[None]]] = {ASK_OWNER: self._ask_owner}
        for callback_id, handler in shortcuts.items():
            bolt.shortcut({"type": "message_action", "callback_id": callback_id})(self._later(handler))
            self.registered_shortcuts.append(callback_id)
        bolt.action(re.compile(r".+"))(self._later(self._button))
        bolt.view_submission(re.compile(r".+"))(self._submission)
        bolt.view_closed(re.compile(r".+"))(_ack)
        bolt.options(re.compile(r".+"))(_no_options)
        bolt.error(self._error)

    def _later(self, work: Callable[[dict[str, Any]], Awaitable[None]]) -> Callable[..., Awaitable[None]]:
        """A listener that acknowledges at once and queues ``work`` behind the acks still pending."""
        async def listener(ack: Any, body: dict[str, Any]) -> None:
            self._hold(body)  # over HTTP, ``screen`` did already (the ack went back from there)
            await ack()
            self.ack_first.run_after_acks(self._first_time(body, work))

        listener.__name__ = f"ack_then_{work.__name__}"
        return listener

    async def _error(self, error: Exception, body: dict[str, Any]) -> None:
        log.error("Slack request of type %s failed: %s", body.get("type", "?"), type(error).__name__,
                  exc_info=error)

    async def _once_per_event(self, body: dict[str, Any], next: Callable[[], Awaitable[Any]]) -> Any:
        """Slack retries an event it thinks was lost, and a captured request can be replayed within the
        signature's five minutes: the first delivery of an event id, or of a command's or an interaction's
        ``trigger_id``, wins, in any process and across restarts."""
        key = once_key(body)
        if key and not acked_first(body) and not self._claim(key, body):
            return BoltResponse(status=200, body="")
        return await next()

    async def _first_time(self, body: dict[str, Any], work: Callable[[dict[str, Any]], Awaitable[None]]) -> None:
        """``work`` for a request acknowledged at once, unless it was seen before.

        The request is recorded after the ack (it was journalled before it), so no command, click or event
        waits on the database for its ack; a replay or a retry is acknowledged too (Slack cannot tell) and
        does nothing. The record keeps the request until the work is done: a process killed meanwhile
        leaves it owed, and it is taken over (``resume_owed``)."""
        key = once_key(body)
        if key is None:
            await work(body)
            return
        if not await self._record(key, body):
            return
        self._running.add(key)
        try:
            await work(body)
        finally:
            self._running.discard(key)
            await self._finish(key)

    RECORD_RETRY_SECONDS = (0.5, 1, 2, 5, 10, 30, 60, 120, 300)
    """While the database refuses the record (locked, restarting), the work waits; past the last, the request
    stays in the journal and the next start-up takes it."""

    async def _record(self, key: str, body: dict[str, Any]) -> bool:
        """Record the request as owed work taken by this process: ``True`` to go on with it."""
        if key in self._taken_over:
            self._taken_over.discard(key)
            self._release(key)
            return True
        for delay in (*self.RECORD_RETRY_SECONDS, None):
            try:
                new = await self.meridian.store.off_loop(self.repo.claim_event, key, body_workspace(body), time.time(),
                                                         json.dumps(body), self.meridian.worker_id)
            except Exception as err:
                if delay is None:
                    log.error("%s could not be recorded (%s); it waits in the journal for the next start",
                              key, type(err).__name__)
                    return False
                log.warning("%s not recorded yet (%s); again in %s s", key, type(err).__name__, delay)
                await asyncio.sleep(delay)
                continue
            self._release(key)
            if not new:
                log.info("%s seen before; skipped", key)
                metrics.inc("meridian_slack_duplicates_total")
            return new
        return False

    async def _finish(self, key: str) -> None:
        """Off the event loop, as the record was: a burst of commands is two round trips each of this alone."""
        try:
            await self.meridian.store.off_loop(self.repo.finish_event, key)
        except Exception as err:  # it stays owed by this live process; nobody takes it over while it beats
            log.warning("%s done, but not recorded as done: %s", key, type(err).__name__)

    def _hold(self, body: dict[str, Any]) -> None:
        """Journal the request before its ack; a full or read-only disk costs durability, never the ack."""
        key = once_key(body)
        if self.journal is None or not key:
            return
        try:
            self.journal.hold(Held(key, body_workspace(body), body, time.time()))
        except OSError as err:
            log.warning("%s not journalled (%s): until the database records it, a kill loses it", key, err.strerror)
            metrics.inc("meridian_slack_journal_failures_total")

    def _release(self, key: str) -> None:
        if self.journal is not None:
            self.journal.release(key)

    async def resume_owed(self, starting: bool = False) -> int:
        """Take over work acknowledged to Slack but never done: a dead process's journal (at start-up), and
        requests recorded as owed by a process whose heartbeat stopped (or by this one's former self, at
        start-up). Each is handed to bolt again, as already verified; it runs once."""
        bodies: dict[str, dict[str, Any]] = {}
        if starting and self.journal is not None:
            for path, entries in self.journal.orphans():
                for entry in entries:
                    if self.repo.claim_event(entry.key, entry.workspace, entry.received_at,
                                             json.dumps(entry.body), self.meridian.worker_id):
                        bodies[entry.key] = entry.body
                self.journal.forget(path)
        settings = self.meridian.settings
        silent_since = self.meridian.now() - settings.silent_after
        stale_before = time.time() - settings.lease.total_seconds()
        for owed in self.repo.take_owed(self.meridian.worker_id, silent_since, stale_before, mine_too=starting,
                                        running=frozenset(self._running) | frozenset(bodies)):
            bodies[owed.event_id] = json.loads(owed.body)
        for key, body in bodies.items():
            log.warning("%s was acknowledged but its work never finished; taking it over (%s)", key,
                        "at start-up" if starting else "its process is silent")
            metrics.inc("meridian_slack_work_taken_over_total")
            self._taken_over.add(key)
            await self.dispatch_verified(body)
        return len(bodies)

    async def keep_resuming(self) -> None:
        """``resume_owed`` at start-up, then every heartbeat, for as long as the process serves Slack."""
        every = self.meridian.settings.heartbeat.total_seconds()
        starting = True
        while True:
            try:
                await self.resume_owed(starting)
                starting = False
            except Exception as err:  # the database is down: the next beat tries again
                log.warning("owed Slack work not looked for: %s", type(err).__name__)
            await asyncio.sleep(every)

    def _claim(self, key: str, body: dict[str, Any]) -> bool:
        if self.repo.claim_event(key, body_workspace(body), time.time()):
            return True
        log.info("%s seen before; skipped", key)
        metrics.inc("meridian_slack_duplicates_total")
        return False

    # --- commands ---------------------------------------------------------------------
    async def _command(self, body: dict[str, Any]) -> None:
        workspace = body_workspace(body)
        self.people.ensure_workspace(workspace, body.get("team_domain", ""))
        member = await self.people.member(workspace, body["user_id"])

        inv = Invocation(workspace=workspace, member=member, family=body["command"].lstrip("/"),
                         text=core_text(body.get("text", ""), self._member_id_of(workspace)),
                         channel=body.get("channel_id"), trigger=body.get("trigger_id"), platform="slack")
        reply = await self.meridian.command(inv)
        await self._deliver(reply, member, body.get("trigger_id"), body.get("response_url"), body.get("channel_id"))

    def _member_id_of(self, workspace: str) -> MemberIdOf:
        """Slack user id → the member id the core knows them by (the same id for people met on Slack)."""
        return member_ids(self.meridian.store, workspace)

    async def _deliver(self, reply: Reply | None, member: Member, trigger: str | None,
                       response_url: str | None, channel: str | None = None) -> None:
        """Show the core's reply: its form as a modal, its message in place of the command, its files as files."""
        if reply is None:
            return
        if reply.form is not None and not await self.chat.open_form(member, reply.form, trigger) \
                and reply.message is None:
            reply = Reply(Message.text("I could not open the form; please try the command again."))
        if reply.message is None:
            return
        if not response_url:
            await self.chat.dm(member, reply.message)
            return
        message = await self._with_files(reply.message, member, channel if reply.public else None)
        for part in render(message, self.chat.mention_resolver(member.workspace), inline_files=True):
            await self.chat.respond(response_url, {
                "text": part.text, "blocks": part.blocks, "replace_original": False,
                "response_type": "in_channel" if reply.public else "ephemeral"})

    async def _with_files(self, message: Message, member: Member, channel: str | None) -> Message:
        """A response URL carries no files: upload them (to the channel for a public reply, else to the
        person's DM) and say where they are; a file Slack refuses stays in the message, shown inline."""
        if not message.attachments:
            return message
        try:
            target = channel or await self.chat.dm_channel(member)
        except DeliveryError:
            return message
        notes: list[Block] = []
        refused: list[Attachment] = []
        for attachment in message.attachments:
            if await self.chat.files.upload(member.workspace, target, attachment):
                where = "in this channel" if channel else "in your DM with Meridian"
                notes.append(Context(rich("📎 ", Strong(attachment.filename), f" is {where}.")))
            else:
                refused.append(attachment)
        return replace(message, blocks=(*message.blocks, *notes), attachments=tuple(refused))

    # --- events -----------------------------------------------------------------------
    async def _home_opened(self, body: dict[str, Any]) -> None:
        event: dict[str, Any] = body.get("event") or {}
        if event.get("tab", "home") != "home":
            return
        workspace = body_workspace(body)
        self.people.ensure_workspace(workspace)
        member = await self.people.member(workspace, event["user"])
        view = home_view(home_page(self.meridian, member), self.chat.mention_resolver(workspace))
        await self.chat.publish_home(workspace, event["user"], view)

    async def _message(self, body: dict[str, Any]) -> None:
        event: dict[str, Any] = body.get("event") or {}
        if event.get("bot_id") or event.get("subtype") not in (None, "thread_broadcast", "file_share"):
            return
        user = event.get("user")
        if not user:
            return
        bot_user, text = bot_user_of(body), event.get("text")
        if bot_user and isinstance(text, str) and f"<@{bot_user}" in text and event.get("channel_type") != "im":
            return  # a channel message mentioning Meridian is its ``app_mention`` event's (``_mention``)
        workspace = body_workspace(body)
        self.people.ensure_workspace(workspace)
        member = await self.people.member(workspace, user)
        await self.meridian.message(IncomingMessage(
            workspace=workspace, member=member, text=core_text(event.get("text", ""), self._member_id_of(workspace)),
            channel=event.get("channel"), is_dm=event.get("channel_type") == "im",
            thread=event.get("thread_ts"), message_id=event.get("ts")))

    async def _mention(self, body: dict[str, Any]) -> None:
        """``@Meridian who owns churn retraining?`` in a channel: offered to the core as a message first (a retro
        item in its thread stays one), then asked as ``/raci ask`` is, answered in the message's thread.

        Slack also sends the same message as a ``message`` event; ``_message`` leaves it to this one."""
        event: dict[str, Any] = body.get("event") or {}
        user = event.get("user")
        if not user or event.get("bot_id"):
            return
        workspace = body_workspace(body)
        self.people.ensure_workspace(workspace)
        member = await self.people.member(workspace, user)
        channel, thread = event.get("channel"), event.get("thread_ts")
        typed = event.get("text")
        typed = typed if isinstance(typed, str) else ""
        text = core_text(without_bot_mention(typed, bot_user_of(body)), self._member_id_of(workspace))
        if await self.meridian.message(IncomingMessage(workspace=workspace, member=member, text=text, channel=channel,
                                                       is_dm=False, thread=thread, message_id=event.get("ts"))):
            return
        reply = await self.meridian.command(Invocation(workspace=workspace, member=member, family="raci",
                                                       text=f"ask {text}", channel=channel, thread=thread,
                                                       platform="slack"))
        if reply.message is not None and channel:
            await self.chat.post(workspace, channel, reply.message, thread=thread or event.get("ts"))

    async def _ask_owner(self, body: dict[str, Any]) -> None:
        """The message shortcut "Ask who owns this": the message's text goes to ``/raci ask``; the answer is
        shown to the person who pressed it alone (ephemeral, through the shortcut's ``response_url``)."""
        workspace = body_workspace(body)
        self.people.ensure_workspace(workspace)
        member = await self.people.member(workspace, body["user"]["id"])
        message: dict[str, Any] = body.get("message") or {}
        where = body.get("channel")
        channel = where.get("id") if isinstance(where, dict) else where
        text = core_text(str(message.get("text") or ""), self._member_id_of(workspace))
        reply = await self.meridian.command(Invocation(workspace=workspace, member=member, family="raci",
                                                       text=f"ask {text}", channel=channel,
                                                       trigger=body.get("trigger_id"), platform="slack"))
        await self._deliver(reply, member, body.get("trigger_id"), body.get("response_url"), channel)

    async def _member_joined(self, body: dict[str, Any]) -> None:
        event: dict[str, Any] = body.get("event") or {}
        workspace = body_workspace(body)
        self.people.ensure_workspace(workspace)
        await self.people.member(workspace, event["user"])

    async def _user_change(self, body: dict[str, Any]) -> None:
        event: dict[str, Any] = body.get("event") or {}
        workspace = body_workspace(body)
        self.people.ensure_workspace(workspace)
        await self.people.apply_user(workspace, event.get("user") or {})

    async def _reaction(self, body: dict[str, Any]) -> None:
        """``reaction_added`` / ``reaction_removed`` on a message, offered to the core (a 👍 on a retro item votes)."""
        event: dict[str, Any] = body.get("event") or {}
        item: dict[str, Any] = event.get("item") or {}
        user = event.get("user")
        if item.get("type") != "message" or not item.get("ts") or not user:
            return
        workspace = body_workspace(body)
        self.people.ensure_workspace(workspace)
        member = await self.people.member(workspace, user)
        await self.meridian.reaction(Reaction(
            workspace=workspace, member=member, message_id=str(item["ts"]), emoji=emoji_of(event.get("reaction", "")),
            added=event.get("type") != "reaction_removed", channel=item.get("channel")))

    # --- interactivity ------------------------------------------------------------------
    async def _button(self, body: dict[str, Any]) -> None:
        workspace = body_workspace(body)
        self.people.ensure_workspace(workspace)
        member = await self.people.member(workspace, body["user"]["id"])
        for pressed in body.get("actions", []):
            act = Action(workspace=workspace, member=member, action_id=str(pressed.get("action_id", "")).split("#")[0],
                         value=str(pressed.get("value") or ""),
                         channel=(body.get("channel") or body.get("container") or {}).get("id")
                         or (body.get("container") or {}).get("channel_id"),
                         trigger=body.get("trigger_id"))
            reply = await self.meridian.action(act)
            await self._deliver(reply, member, body.get("trigger_id"), body.get("response_url"), act.channel)

    async def _submission(self, ack: Any, body: dict[str, Any], view: dict[str, Any]) -> None:
        """Wait briefly for the core so that a mistake is shown in the modal; close it otherwise."""
        workspace = body_workspace(body)
        self.people.ensure_workspace(workspace)
        values = form_values(view, self._member_id_of(workspace))
        first_input = next(iter(values), "")
        member = await self.people.member(workspace, body["user"]["id"])
        metadata = form_metadata(view)
        act = Action(workspace=workspace, member=member, action_id=view.get("callback_id", ""), values=values,
                     metadata=metadata, channel=metadata.get("channel"), trigger=body.get("trigger_id"))
        task = asyncio.ensure_future(self.meridian.action(act))
        try:
            reply = await asyncio.wait_for(asyncio.shield(task), FORM_WAIT_SECONDS)
        except TimeoutError:
            await ack()
            self._keep(task, member)
            return
        except CommandError as err:
            await ack(response_action="errors", errors={first_input: str(err)[:300]})
            return
        except Exception:
            log.exception("form %s failed", act.action_id)
            await ack(response_action="errors", errors={first_input: "Something went wrong on our side; "
                                                                    "nothing was saved. Please try again."})
            return
        if reply is not None and reply.form is not None:
            await ack(response_action="update", view=modal(reply.form))
            return
        await ack()
        if reply is not None and reply.message is not None:
            await self.chat.dm(member, reply.message)

    def _keep(self, task: asyncio.Future[Reply | None], member: Member) -> None:
        """A slow submission finishes after the modal closed; its reply goes to the person by DM."""
        async def finish() -> None:
            try:
                reply = await task
            except Exception:
                log.exception("a slow form submission failed")
                return
            if reply is not None and reply.message is not None:
                await self.chat.dm(member, reply.message)

        runner = asyncio.ensure_future(finish())
        self._tasks.add(runner)
        runner.add_done_callback(self._tasks.discard)

    # --- HTTP -----------------------------------------------------------------------------
    async def screen(self, request: web.Request) -> web.Response | None:
        """Signature first, on the raw body; then the body's shape: the refusal, or ``None`` to go on.

        Touches no store, so ``meridian serve`` runs it on the HTTP loop before the request
        waits for the core loop (``ANSWER_BY``): a forged request is refused even while the
        database holds the core up."""
        if request.get(SCREENED):
            return None
        self.ack_first.seen()
        raw = await request.read()
        text = request.headers.get("Content-Type", "").split(";")[0].strip() or None
        try:
            verify_signature(self.config.signing_secret or "", raw, request.headers, time.time())
            body = parse_body(raw, text)
            check_shape(body, body_workspace(body))
        except SlackRequestError as err:
            if err.status == 401:
                metrics.inc("meridian_slack_requests_refused_total", reason="signature")
                log.info("refused a Slack request without a valid signature")
            return web.json_response({"error": err.reason}, status=err.status)
        request[SCREENED] = True
        if acked_first(body):
            self._hold(body)
            request[ACKED_EARLY] = body
        return None

    async def handle(self, request: web.Request) -> web.Response:
        """Screened (signature, shape; see ``requests``), then bolt."""
        with self.ack_first.request():
            refused = await self.screen(request)
            if refused is not None:
                return refused
            early = request.get(ACKED_EARLY)
            if early is not None:
                return await to_aiohttp_response(await self.dispatch_verified(early))
            raw = await request.read()
            bolt_request = AsyncBoltRequest(body=raw.decode("utf-8"), query=request.query_string,
                                            headers=dict(request.headers))
            return await to_aiohttp_response(await self.bolt.async_dispatch(bolt_request))

    async def dispatch_verified(self, body: dict[str, Any]) -> BoltResponse:
        """Hand bolt a body whose signature was already checked (``screen``), as Socket Mode hands it one:
        under ``meridian serve`` the caller was answered already, and the work may run minutes later
        (a locked database), past the signature's five-minute window."""
        return await self.bolt.async_dispatch(AsyncBoltRequest(body=body, mode="socket_mode"))

    async def install(self, request: web.Request) -> web.Response:
        flow = self.bolt.oauth_flow
        if flow is None:
            raise web.HTTPNotFound(text="This Meridian runs in one workspace; there is nothing to install here.")
        return await to_aiohttp_response(await flow.handle_installation(await to_bolt_request(request)))

    async def oauth_redirect(self, request: web.Request) -> web.Response:
        flow = self.bolt.oauth_flow
        if flow is None:
            raise web.HTTPNotFound(text="This Meridian runs in one workspace; there is no install to finish.")
        return await to_aiohttp_response(await flow.handle_callback(await to_bolt_request(request)))

    def mount(self, app: web.Application) -> None:
        app.router.add_post("/slack/events", self.handle)
        if ANSWER_BY in app:
            app[ANSWER_BY]["/slack/events"] = AnswerBy(ACK_DEADLINE_SECONDS, self.screen, _empty_ack,
                                                       early=lambda request: ACKED_EARLY in request)
        app.router.add_get("/slack/install", self.install)
        app.router.add_get("/slack/oauth_redirect", self.oauth_redirect)

        resuming: list[asyncio.Task[None]] = []

        async def start(_app: web.Application) -> None:
            resuming.append(asyncio.ensure_future(self.keep_resuming()))

        async def close(_app: web.Application) -> None:
            for task in resuming:
                task.cancel()
            await self.ack_first.drain()
            await self.chat.close()
            if self.journal is not None:
                self.journal.close()

        app.on_startup.append(start)
        app.on_cleanup.append(close)

    async def start_socket_mode(self) -> Any:
        """Connect over Socket Mode (no public URL); returns the handler, already connected."""
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        handler = AsyncSocketModeHandler(self.bolt, self.config.app_token)
        await handler.connect_async()
        return handler


class AckFirst:
    """Work after an ack waits (briefly) until no Slack request is waiting for its own ack.

    Acks are what Slack times; the work behind them is not. Without this, a burst of
    commands would have the first commands' work (database reads, Web API calls)
    delay the later commands' acks.
    """

    MAX_WAIT_SECONDS = 0.5
    SETTLE_SECONDS = 0.03
    """Requests of a burst arrive a few milliseconds apart: quiet must last this long to count."""

    def __init__(self) -> None:
        self._in_flight = 0
        self._last = 0.0
        self._quiet = asyncio.Event()
        self._quiet.set()
        self._tasks: set[asyncio.Future[Any]] = set()

    def seen(self) -> None:
        """A request arrived. Safe from any thread: under ``meridian serve`` the HTTP loop calls it for the
        requests it acknowledges itself, which the core loop would otherwise not know are still coming."""
        self._last = time.monotonic()

    @contextlib.contextmanager
    def request(self) -> Iterator[None]:
        self._in_flight += 1
        self._quiet.clear()
        self.seen()
        try:
            yield
        finally:
            self._in_flight -= 1
            self.seen()
            if self._in_flight == 0:
                self._quiet.set()

    async def _settled(self) -> None:
        while True:
            await self._quiet.wait()
            left = self._last + self.SETTLE_SECONDS - time.monotonic()
            if left <= 0 and self._quiet.is_set():
                return
            await asyncio.sleep(max(left, 0.002))

    def run_after_acks(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(self._run(work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, work: Awaitable[None]) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._settled(), self.MAX_WAIT_SECONDS)
        try:
            await work
        except Exception:
            log.exception("work after a Slack acknowledgement failed")

    async def drain(self) -> None:
        """Wait for queued work (shutdown, tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


async def _ack(ack: Any) -> None:
    await ack()


async def _no_options(ack: Any) -> None:
    await ack(options=[])


def build_slack(meridian: Meridian, config: SlackConfig, repo: SlackRepo, chat: SlackChat,
                socket_mode: bool = False, journal: Journal | None = None) -> SlackAdapter:
    return SlackAdapter(meridian, config, repo, chat, socket_mode=socket_mode, journal=journal)
