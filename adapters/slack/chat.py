"""The chat port over Slack's Web API.

Sends (post, update, DM) are retried here only for connection errors; a 429 surfaces
as ``RateLimited`` so the core's outbox waits out ``Retry-After`` and sends each
message exactly once. Every call waits for its turn in a ``Pacer`` (``adapters.slack.pacing``):
a few calls of a method at once per workspace, then, once Slack has answered 429, no more in
any second than got through before it, and nothing at all until ``Retry-After`` has passed;
messages in one channel about a second apart. A fan-out so runs at the rate Slack allows
instead of bursting into refusals. Reads and interactive calls (``users.info``, ``views.*``) also
use slack_sdk's rate-limit retry handler, since repeating them is harmless.

A message's attached files follow it as real Slack files (``adapters.slack.files``).

Every message the outbox sends carries its key as Slack message metadata
(``meridian_outbox``); ``find_sent`` reads the conversation back from a given instant
(``conversations.history``, or ``conversations.replies`` in a thread, with
``include_all_metadata``) to tell whether a send whose answer was lost had landed
(``bot.kernel.ports.ConfirmsDelivery``). The history scopes the app already holds cover it.

``SLACK_API_URL`` (``api_url``) points every client at another host: tests use the
local emulator.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import aiohttp
from aiohttp import ClientConnectorError, ClientOSError, ServerConnectionError, ServerDisconnectedError
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.blocks import SlackMessage, modal, render
from adapters.slack.files import SlackFiles
from adapters.slack.pacing import Pacer
from adapters.slack.people import People, profile_from_user
from bot.kernel.app import Meridian
from bot.kernel.domain import Member
from bot.kernel.messages import Form, Message
from bot.kernel.ports import DeliveryError, Posted, Profile, RateLimited, Upload

log = logging.getLogger("meridian.slack")

SLACK_API_URL = "https://slack.com/api/"

TokenSource = Callable[[str], Awaitable[str | None]]
"""Workspace id → that workspace's bot token (``None`` when the app is not installed there)."""
MemberLookup = Callable[[str, str], Member | None]
"""(workspace, member id) → the member, to turn mentions into Slack user ids."""

CONTINUATION_RATE_LIMIT_WAITS = 10
OUTBOX_EVENT = "meridian_outbox"
"""The metadata event type that carries an outbox key on each message Meridian sends."""
HISTORY_PAGE = 100
PER_CHANNEL = frozenset({"chat.postMessage", "chat.postEphemeral"})
"""Methods Slack limits per channel as well as per workspace."""
HISTORY_PAGES = 10
"""How far ``find_sent`` reads back: enough for the minutes after a crash in a busy channel."""
UNREADABLE = frozenset({"not_in_channel", "channel_not_found", "missing_scope", "thread_not_found",
                        "not_allowed_token_type", "access_denied"})
"""History errors that waiting will not fix: the send then goes ahead (at least once)."""


class SlackRefused(DeliveryError):
    """Slack answered ``ok: false``; ``error`` is its code (``not_in_channel``, ``missing_scope``…)."""

    def __init__(self, method: str, error: str) -> None:
        super().__init__(f"{method}: {error}")
        self.error = error


def normalise_api_url(url: str | None) -> str:
    url = (url or SLACK_API_URL).strip()
    return url if url.endswith("/") else url + "/"


def fixed_token(token: str) -> TokenSource:
    async def _token(_workspace: str) -> str | None:
        return token

    return _token


class SlackChat:
    """``bot.kernel.ports.ChatPort`` for Slack; one instance serves every installed workspace.

    It also confirms deliveries (``ConfirmsDelivery``) and hands over the file a person
    shared (``ReceivesUploads``, for ``/raci import``).
    """

    platform = "slack"

    def __init__(self, tokens: TokenSource, members: MemberLookup | None = None, api_url: str | None = None) -> None:
        self._tokens = tokens
        self._members: MemberLookup = members or _nobody
        self.api_url = normalise_api_url(api_url)
        self._dm_channels: dict[tuple[str, str], str] = {}
        self._session: aiohttp.ClientSession | None = None
        self._clients: dict[tuple[str, bool, bool], AsyncWebClient] = {}
        self.timeout = 15
        """Seconds a Web API call may take before it counts as failed (the outbox then confirms or retries);
        a change applies to the next connection pool (after ``close``)."""
        self.pacer = Pacer()
        """Each method's pace per workspace, learnt from Slack's 429s (``adapters/slack/pacing``)."""
        self.housekeeping: Callable[[], object] | None = None
        """Run by the daily sweep: forgetting event ids older than Slack's retries."""
        self.people: People | None = None
        """Slack users as members, once the core is attached."""
        self.files = SlackFiles(self)

    def attach(self, app: Meridian) -> None:
        """Called by the composition root once the core exists: members for mentions, the daily zone sweep."""
        self._attach(app)

    def people_of(self, app: Meridian) -> People:
        """Slack users as members of this core; attaches it first when the composition root has not."""
        if self.people is not None and self.people.app is app:
            return self.people
        return self._attach(app)

    def _attach(self, app: Meridian) -> People:
        self._members = app.store.get_member
        people = self.people = People(app, self)
        people.register()
        return people

    async def latest_upload(self, workspace: str, channel: str | None, member: Member,
                            max_bytes: int) -> Upload | None:
        """``ReceivesUploads``: the newest CSV the person shared in the channel (``/raci import``)."""
        return await self.files.latest(workspace, channel, member, max_bytes)

    # --- clients ----------------------------------------------------------------------
    def session(self) -> aiohttp.ClientSession:
        """One connection pool for every Web API call and response URL of this process."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    def client(self, token: str, for_sending: bool = False, keyed: bool = False) -> AsyncWebClient:
        """``keyed``: a send the outbox can confirm later is repeated only when it never left this machine.

        After a dropped connection Slack may have posted the message already; the outbox
        then looks for its key before sending again, instead of the SDK posting it twice.
        """
        session = self.session()
        key = (token, for_sending, keyed)
        client = self._clients.get(key)
        if client is None or client.session is not session:
            handlers: list[Any] = [AsyncConnectionErrorRetryHandler(
                max_retry_count=2, error_types=[ClientConnectorError] if keyed else
                [ServerConnectionError, ServerDisconnectedError, ClientOSError])]
            if not for_sending:
                handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=3))
            client = AsyncWebClient(token=token, base_url=self.api_url, retry_handlers=handlers, timeout=self.timeout,
                                    session=session)
            self._clients[key] = client
        return client

    async def respond(self, response_url: str, payload: dict[str, Any]) -> None:
        """Answer a command or a button through its response URL (valid 30 minutes, 5 uses)."""
        try:
            async with self.session().post(response_url, json=payload) as resp:
                if resp.status >= 400:
                    log.info("response URL answered %s", resp.status)
        except (aiohttp.ClientError, TimeoutError) as err:
            log.info("response URL failed: %s", type(err).__name__)

    async def token(self, workspace: str) -> str:
        token = await self._tokens(workspace)
        if not token:
            raise DeliveryError(f"Meridian is not installed in Slack workspace {workspace}")
        return token

    async def call(self, workspace: str, method: str, for_sending: bool = True, keyed: bool = False,
                   **args: Any) -> dict[str, Any]:
        """One Web API method; a 429 becomes ``RateLimited``, any other failure ``DeliveryError``."""
        client = self.client(await self.token(workspace), for_sending, keyed)
        channel = args.get("channel") if method in PER_CHANNEL else None
        async with self.pacer.turn(workspace, method, channel if isinstance(channel, str) else None) as started:
            pace = self.pacer.method(workspace, method)
            try:
                response = await getattr(client, method.replace(".", "_"))(**args)
            except SlackApiError as err:
                if err.response.status_code == 429:
                    now = self.pacer.now()
                    pace.refused(started, now, _retry_after(err.response.headers))
                    raise RateLimited(max(0.0, pace.paused_until - now)) from None
                raise SlackRefused(method, str(err.response.get("error", "error"))) from None
            except (TimeoutError, SlackClientError, OSError) as err:
                raise DeliveryError(f"{method}: {type(err).__name__}") from None
        return dict(response.data) if isinstance(response.data, dict) else {}

    def mention_resolver(self, workspace: str) -> Callable[[str], str | None]:
        cache: dict[str, str | None] = {}

        def resolve(member_id: str) -> str | None:
            if member_id not in cache:
                member = self._members(workspace, member_id)
                cache[member_id] = member.accounts.get("slack") if member else None
            return cache[member_id]

        return resolve

    # --- ChatPort -----------------------------------------------------------------------
    async def post(self, workspace: str, channel: str, message: Message, thread: str | None = None, *,
                   key: str | None = None) -> Posted:
        parts = render(message, self.mention_resolver(workspace))
        first = await self._post_one(workspace, channel, parts[0], thread, key)
        for extra in parts[1:]:
            await self._post_continuation(workspace, first.channel, extra, thread or first.message_id)
        if message.attachments:  # the message is out: files follow it, and never make the outbox send it again
            await self.files.send(workspace, first.channel, message.attachments, thread)
        return first

    async def _post_one(self, workspace: str, channel: str, part: SlackMessage, thread: str | None,
                        key: str | None = None) -> Posted:
        args: dict[str, Any] = {"channel": channel, "text": part.text, "blocks": part.blocks, "unfurl_links": False}
        if thread:
            args["thread_ts"] = thread
        if key:
            args["metadata"] = {"event_type": OUTBOX_EVENT, "event_payload": {"key": key}}
        data = await self.call(workspace, "chat.postMessage", keyed=key is not None, **args)
        return Posted(str(data.get("channel", channel)), str(data["ts"]))

    async def _post_continuation(self, workspace: str, channel: str, part: SlackMessage, thread: str) -> None:
        """The rest of a long message: waited through 429s here, since the first part is already out."""
        for _ in range(CONTINUATION_RATE_LIMIT_WAITS):
            try:
                await self._post_one(workspace, channel, part, thread)
                return
            except RateLimited as limited:
                await asyncio.sleep(limited.retry_after)
        log.warning("a continuation in %s was dropped after repeated rate limits", channel)

    async def update(self, workspace: str, posted: Posted, message: Message) -> None:
        part = render(message, self.mention_resolver(workspace))[0]
        await self.call(workspace, "chat.update", channel=posted.channel, ts=posted.message_id,
                         text=part.text, blocks=part.blocks)

    async def permalink(self, workspace: str, posted: Posted) -> str | None:
        """``LinksToMessages``: Slack's own permalink for the message (``chat.getPermalink``)."""
        data = await self.call(workspace, "chat.getPermalink", for_sending=False, channel=posted.channel,
                               message_ts=posted.message_id)
        link = data.get("permalink")
        return link if isinstance(link, str) and link.startswith("https://") else None

    async def dm(self, member: Member, message: Message, *, key: str | None = None) -> Posted:
        """Posted to the person's user id until Slack has answered with their DM's id: ``conversations.open`` is a
        Tier 3 method (about 50 a minute), so opening each DM first would hold a fan-out to that pace."""
        who = (member.workspace, _slack_user(member))
        posted = await self.post(member.workspace, self._dm_channels.get(who, who[1]), message, key=key)
        if posted.channel != who[1]:
            self._dm_channels[who] = posted.channel
        return posted

    async def find_sent(self, workspace: str, key: str, target: Posted | Member | str,
                        since: datetime) -> Posted | None:
        """``ConfirmsDelivery``: the message carrying ``key`` in its metadata, posted after ``since``."""
        args: dict[str, Any] = {"oldest": f"{since.timestamp():.6f}", "include_all_metadata": True,
                                "limit": HISTORY_PAGE}
        if isinstance(target, Posted):
            method, channel = "conversations.replies", target.channel
            args["ts"] = target.message_id
        else:
            method = "conversations.history"
            channel = await self.dm_channel(target) if isinstance(target, Member) else target
        for _ in range(HISTORY_PAGES):
            try:
                data = await self.call(workspace, method, for_sending=False, channel=channel, **args)
            except SlackRefused as err:
                if err.error not in UNREADABLE:
                    raise
                log.warning("cannot read back %s in %s (%s) to confirm an earlier send; sending it again",
                            channel, workspace, err.error)
                return None
            for found in data.get("messages") or []:
                if _outbox_key(found) == key:
                    return Posted(channel, str(found["ts"]))
            cursor = (data.get("response_metadata") or {}).get("next_cursor")
            if not data.get("has_more") or not cursor:
                return None
            args["cursor"] = cursor
        log.warning("read %d messages of %s back without finding %s; sending it again",
                    HISTORY_PAGE * HISTORY_PAGES, channel, key)
        return None

    async def dm_channel(self, member: Member) -> str:
        user = _slack_user(member)
        key = (member.workspace, user)
        if key not in self._dm_channels:
            data = await self.call(member.workspace, "conversations.open", users=user)
            self._dm_channels[key] = str(data["channel"]["id"])
        return self._dm_channels[key]

    async def ephemeral(self, member: Member, channel: str, message: Message) -> None:
        part = render(message, self.mention_resolver(member.workspace))[0]
        await self.call(member.workspace, "chat.postEphemeral", channel=channel, user=_slack_user(member),
                         text=part.text, blocks=part.blocks)

    async def open_form(self, member: Member, form: Form, trigger: str | None) -> bool:
        if not trigger:
            return False
        try:
            await self.call(member.workspace, "views.open", for_sending=False, trigger_id=trigger, view=modal(form))
        except DeliveryError as err:
            log.info("could not open form %s: %s", form.callback_id, err)
            return False
        return True

    async def profile(self, member: Member) -> Profile | None:
        try:
            data = await self.call(member.workspace, "users.info", for_sending=False, user=_slack_user(member))
        except DeliveryError as err:
            log.info("users.info failed for a member of %s: %s", member.workspace, err)
            return None
        return profile_from_user(data.get("user") or {})

    # --- beyond the port: the App Home ----------------------------------------------------
    async def publish_home(self, workspace: str, user_id: str, view: dict[str, Any]) -> None:
        await self.call(workspace, "views.publish", for_sending=False, user_id=user_id, view=view)


def _nobody(_workspace: str, _member_id: str) -> Member | None:
    return None


def _outbox_key(message: dict[str, Any]) -> str | None:
    metadata = message.get("metadata") or {}
    if metadata.get("event_type") != OUTBOX_EVENT:
        return None
    key = (metadata.get("event_payload") or {}).get("key")
    return str(key) if key is not None else None


def _slack_user(member: Member) -> str:
    return member.accounts.get("slack") or member.id


def _retry_after(headers: Any) -> float:
    raw: Any = None
    for name, value in dict(headers or {}).items():
        if name.lower() == "retry-after":
            raw = value[0] if isinstance(value, list) else value
    try:
        return max(0.0, float(raw))
    except (TypeError, ValueError):
        return 1.0
