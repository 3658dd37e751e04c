"""``TeamsChat``: the core's ``ChatPort`` on Microsoft Teams, through the Bot Connector.

Teams only lets a bot speak into a conversation it holds a reference for, so every
send starts from a stored ``ConversationReference`` (``storage.teams.repo``) and goes
through ``CloudAdapter.continue_conversation``. A DM to someone without a 1:1 chat yet
first creates one (``create_conversation`` with the tenant in ``channelData``) and keeps
its reference. The connector's answers become the core's: a 429 is ``RateLimited``
with its ``Retry-After``, anything else a ``DeliveryError`` the outbox retries.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, TypeVar

from botbuilder.core import TurnContext
from botbuilder.core.teams import TeamsInfo
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import (
    Activity,
    ChannelAccount,
    ConversationAccount,
    ConversationParameters,
    ConversationReference,
)
from msrest.exceptions import ClientException, HttpOperationError

from adapters.teams.dialogs import DialogForms
from adapters.teams.files import TeamsFiles, UploadUrls
from adapters.teams.pacing import TeamsPacer
from adapters.teams.render import Rendered, cards, form_opener, one_card, outgoing
from adapters.teams.service_urls import ServiceUrls
from bot.kernel.app import Meridian
from bot.kernel.domain import Member
from bot.kernel.messages import Context, Form, Mention, Message, Section
from bot.kernel.ports import DeliveryError, Posted, Profile, RateLimited, Store
from storage.teams.repo import Conversation, TeamsRepo

log = logging.getLogger("meridian.teams")

CHANNEL_ID = "msteams"
DEFAULT_RETRY_AFTER = 1.0
CONTINUATION_RATE_LIMIT_WAITS = 10
T = TypeVar("T")


def rate_limit_wait(headers: Any) -> float:
    """Seconds from a ``Retry-After`` header (a number of seconds); one second when absent or a date."""
    try:
        return max(0.0, float((headers or {}).get("Retry-After", DEFAULT_RETRY_AFTER)))
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER


def delivery_error(err: Exception) -> DeliveryError:
    """What the connector said, in the core's terms."""
    response = getattr(err, "response", None)
    status = getattr(response, "status_code", None)
    if status == 429:
        return RateLimited(rate_limit_wait(getattr(response, "headers", None)))
    if status is not None:
        return DeliveryError(f"Teams answered {status}: {str(err)[:200]}")
    return DeliveryError(f"Teams connector unreachable: {type(err).__name__}")


def _mentions(message: Message) -> Iterator[Mention]:
    for block in message.blocks:
        texts = [block.text, *block.fields] if isinstance(block, Section) else \
            [block.text] if isinstance(block, Context) else []
        for text in texts:
            yield from (p for p in text if isinstance(p, Mention))


def now() -> datetime:
    return datetime.now(UTC)


class TeamsChat:
    """``bot.kernel.ports.ChatPort`` for Teams; ``repo`` holds the conversation references it sends on."""

    platform = "teams"

    def __init__(self, adapter: CloudAdapter, repo: TeamsRepo, app_id: str = "",
                 service_urls: ServiceUrls | None = None, public_url: str = "",
                 upload_urls: UploadUrls | None = None) -> None:
        self.adapter = adapter
        self.repo = repo
        self.app_id = app_id
        self.service_urls = service_urls or ServiceUrls()
        self.public_url = public_url
        """Where ``meridian serve`` is reached (``MERIDIAN_PUBLIC_URL``): links to files in channels start here."""
        self.upload_urls = upload_urls or UploadUrls()
        self._store: Store | None = None
        self._forms: DialogForms | None = None
        self._files: TeamsFiles | None = None
        self.pacer = TeamsPacer()
        """Teams' documented per-conversation and per-tenant limits (``adapters.teams.pacing``)."""

    def attach(self, app: Meridian) -> None:
        """Called by the composition root once the core exists: its members for mentions, and ``forget-me``
        also deletes the person's Teams identity and 1:1 chat reference."""
        self._store = app.store
        self._forms = DialogForms(app.store)
        self._files = TeamsFiles(app, self.upload_urls)
        app.on_forget(self.repo.forget)
        app.on_forget(self._forms.forget)

    @property
    def store(self) -> Store:
        if self._store is None:
            raise RuntimeError("TeamsChat is not attached to a core yet (build_core attaches it)")
        return self._store

    @property
    def forms(self) -> DialogForms:
        """Forms waiting behind dialog buttons (``adapters.teams.dialogs``)."""
        if self._forms is None:
            raise RuntimeError("TeamsChat is not attached to a core yet (build_core attaches it)")
        return self._forms

    @property
    def files(self) -> TeamsFiles:
        """Attachments as consent cards and links (``adapters.teams.files``)."""
        if self._files is None:
            raise RuntimeError("TeamsChat is not attached to a core yet (build_core attaches it)")
        return self._files

    # --- rendering ------------------------------------------------------------------------
    def opener(self, member: Member, form: Form) -> Rendered:
        """A card whose button opens the form in a dialog, the form kept for the member until then."""
        return form_opener(form, self.forms.keep(member, form))

    def teams_user_id(self, member: Member) -> str | None:
        """The id the connector addresses this member by: the last one seen, else the team file's account."""
        known = self.repo.identity(member.workspace, member.id)
        if known is not None:
            return known.user_id
        return member.accounts.get(self.platform) or None

    def mention_accounts(self, workspace: str, message: Message) -> dict[str, str]:
        """Members mentioned in the message who can be mentioned on Teams (they have a Teams account)."""
        accounts: dict[str, str] = {}
        for mention in _mentions(message):
            if mention.member_id in accounts:
                continue
            member = self.store.get_member(workspace, mention.member_id)
            if member is not None and self.platform in member.accounts:
                user_id = self.teams_user_id(member)
                if user_id:
                    accounts[member.id] = user_id
        return accounts

    def activities(self, workspace: str, message: Message, personal: bool = False) -> list[Activity]:
        """The message as one activity or, when it is too big for Teams, several (the first, then continuations).

        Its files follow it: in a 1:1 chat (``personal``) each as a card asking to put it in the person's
        OneDrive, elsewhere as links at the message's end (``adapters.teams.files``).
        """
        consents: list[Activity] = []
        if message.attachments and personal:
            consents = [self.files.consent(workspace, a) for a in message.attachments]
            message = replace(message, attachments=())
        elif message.attachments:
            message = self.files.linked(workspace, message, self.public_url)
        return [outgoing(c) for c in cards(message, self.mention_accounts(workspace, message))] + consents

    # --- the connector --------------------------------------------------------------------
    def _checked(self, service_url: str | None) -> str:
        """A service URL Meridian may call; a reference kept from elsewhere is never used."""
        if not self.service_urls.allows(service_url):
            raise DeliveryError("the conversation's serviceUrl is not a Bot Framework service URL; not sent")
        return str(service_url)

    async def _with_connector(self, conversation: Conversation, call: Callable[[Any], Awaitable[T]]) -> T:
        """Run one connector call in a proactive turn of the conversation; platform errors become the core's."""
        reference = ConversationReference().deserialize(conversation.reference)
        self._checked(conversation.service_url)
        reference.service_url = self._checked(reference.service_url or conversation.service_url)
        results: list[T] = []

        async def turn(context: TurnContext) -> None:
            results.append(await call(context))

        await self.pacer.turn(conversation.tenant, conversation.id)
        try:
            await self.adapter.continue_conversation(reference, turn, self.app_id)
        except (HttpOperationError, ClientException, OSError, TimeoutError) as err:
            raise self._refused(conversation.tenant, delivery_error(err)) from err
        return results[0]

    def _refused(self, tenant: str, error: DeliveryError) -> DeliveryError:
        if isinstance(error, RateLimited):
            self.pacer.refused(tenant, error.retry_after)
        return error

    @staticmethod
    def _client(context: TurnContext) -> Any:
        return context.turn_state[CloudAdapter.BOT_CONNECTOR_CLIENT_KEY]

    def _channel(self, workspace: str, channel: str) -> Conversation:
        conversation = self.repo.channel(workspace, channel)
        if conversation is None:
            raise DeliveryError(f"Meridian is not in {channel} yet: add the app to its team and mention it there once")
        return conversation

    async def personal_conversation(self, member: Member) -> Conversation:
        """The member's 1:1 chat with the bot, created (and remembered) when there is none yet.

        Every DM of a fan-out comes here: its reads and writes go off the event loop (``Store.off_loop``)."""
        off_loop = self.store.off_loop
        known = await off_loop(self.repo.personal, member.workspace, member.id)
        if known is not None:
            return known
        user_id = await off_loop(self.teams_user_id, member)
        if not user_id:
            raise DeliveryError(f"{member.id} has no Teams account yet")
        tenant = member.workspace
        anchor = await off_loop(self.repo.newest, tenant)
        if anchor is None:
            raise DeliveryError(f"Meridian has not heard from Teams tenant {tenant} yet: install the app first")
        self._checked(anchor.service_url)
        bot = ConversationReference().deserialize(anchor.reference).bot
        params = ConversationParameters(is_group=False, bot=bot, members=[ChannelAccount(id=user_id)],
                                        channel_data={"tenant": {"id": tenant}})
        created: list[ConversationReference] = []

        async def turn(context: TurnContext) -> None:
            created.append(TurnContext.get_conversation_reference(context.activity))

        await self.pacer.turn(tenant, None)
        try:
            await self.adapter.create_conversation(self.app_id, turn, params, CHANNEL_ID, anchor.service_url)
        except (HttpOperationError, ClientException, OSError, TimeoutError) as err:
            raise self._refused(tenant, delivery_error(err)) from err
        reference = created[0]
        reference.user = ChannelAccount(id=user_id)
        reference.activity_id = None
        return await off_loop(self.repo.save_conversation, tenant, reference.conversation.id, "personal",
                              anchor.service_url, reference.serialize(), now(), member_id=member.id)

    @staticmethod
    def _address(activity: Activity, conversation: Conversation, conversation_id: str) -> Activity:
        """From the bot, to the conversation, as botbuilder addresses its own replies."""
        reference = ConversationReference().deserialize(conversation.reference)
        activity.channel_id = reference.channel_id or CHANNEL_ID
        activity.service_url = conversation.service_url
        activity.from_property = reference.bot
        activity.recipient = reference.user
        activity.conversation = ConversationAccount(id=conversation_id, conversation_type=conversation.kind,
                                                    is_group=conversation.kind != "personal")
        return activity

    async def _send(self, conversation: Conversation, activity: Activity, thread: str | None = None) -> Posted:
        target = f"{conversation.id};messageid={thread}" if thread else conversation.id
        self._address(activity, conversation, target)

        async def call(context: TurnContext) -> Any:
            client = self._client(context)
            if thread:
                return await client.conversations.reply_to_activity(target, thread, activity)
            return await client.conversations.send_to_conversation(target, activity)

        response = await self._with_connector(conversation, call)
        return Posted(conversation.id, str(response.id))

    async def _send_all(self, conversation: Conversation, activities: list[Activity],
                        thread: str | None = None) -> Posted:
        """The first activity, then its continuations: in a channel in the first one's thread, in a chat after it."""
        first = await self._send(conversation, activities[0], thread)
        rest_thread = (thread or first.message_id) if conversation.kind == "channel" else None
        for extra in activities[1:]:
            await self._send_continuation(conversation, extra, rest_thread)
        return first

    async def _send_continuation(self, conversation: Conversation, activity: Activity, thread: str | None) -> None:
        """The rest of a long message: waited through 429s here, since the first part is already out."""
        for _ in range(CONTINUATION_RATE_LIMIT_WAITS):
            try:
                await self._send(conversation, activity, thread)
                return
            except RateLimited as limited:
                await asyncio.sleep(limited.retry_after)
        log.warning("a continuation in %s was dropped after repeated rate limits", conversation.id)

    # --- ChatPort -------------------------------------------------------------------------
    async def post(self, workspace: str, channel: str, message: Message, thread: str | None = None) -> Posted:
        conversation = await self.store.off_loop(self._channel, workspace, channel)
        return await self._send_all(conversation, self.activities(workspace, message), thread)

    def _posted_in(self, workspace: str, channel: str) -> Conversation:
        return self.repo.conversation(workspace, channel) or self._channel(workspace, channel)

    async def update(self, workspace: str, posted: Posted, message: Message) -> None:
        conversation = await self.store.off_loop(self._posted_in, workspace, posted.channel)
        rendered = one_card(message, self.mention_accounts(workspace, message))
        activity = self._address(outgoing(rendered), conversation, posted.channel)
        activity.id = posted.message_id

        async def call(context: TurnContext) -> Any:
            return await self._client(context).conversations.update_activity(posted.channel, posted.message_id,
                                                                             activity)

        await self._with_connector(conversation, call)

    async def dm(self, member: Member, message: Message) -> Posted:
        return await self._send_all(await self.personal_conversation(member),
                                    self.activities(member.workspace, message, personal=True))

    async def ephemeral(self, member: Member, channel: str, message: Message) -> None:
        """Teams has no only-you-can-see messages in channels: the member gets it in their 1:1 chat."""
        await self.dm(member, message)

    async def open_form(self, member: Member, form: Form, trigger: str | None) -> bool:
        """The form goes to the member's 1:1 chat as a card whose button opens it in a dialog (Teams opens one
        only from a press); its Submit comes back as an action."""
        try:
            await self._send(await self.personal_conversation(member), outgoing(self.opener(member, form)))
        except DeliveryError as err:
            log.warning("could not send form %s to %s: %s", form.callback_id, member.id, err)
            return False
        return True

    def _profile_route(self, member: Member) -> tuple[str | None, Conversation | None]:
        """Who to ask about, and through which conversation (theirs, else the tenant's newest)."""
        conversation = self.repo.personal(member.workspace, member.id) or self.repo.newest(member.workspace)
        return self.teams_user_id(member), conversation

    async def profile(self, member: Member) -> Profile | None:
        user_id, conversation = await self.store.off_loop(self._profile_route, member)
        if not user_id or conversation is None:
            return None

        async def call(context: TurnContext) -> Any:
            return await TeamsInfo.get_member(context, user_id)

        try:
            account = await self._with_connector(conversation, call)
        except DeliveryError as err:
            log.info("no Teams profile for %s: %s", member.id, err)
            return None
        email = getattr(account, "email", None) or getattr(account, "user_principal_name", None)
        return Profile(account.id or user_id, account.name or member.name, None, email)
