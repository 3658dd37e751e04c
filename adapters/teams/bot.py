"""Teams activities in, core requests out: ``TeamsBot.on_turn`` is the whole inbound side.

- A message whose first word (after the bot's own @mention, with or without ``/``) is
  a command word → ``app.command``; its reply goes back where it belongs (see
  ``answer``).
- Any other message → ``app.message``: a 1:1 chat is a DM; a channel reply carries its
  thread (the root activity id from ``conversation.id``'s ``;messageid=`` suffix). A channel
  message that @mentions Meridian and that nothing took is a question for the RACI lookup
  (``raci ask …``: "who owns churn retraining?"), answered in its thread.
- An Adaptive Card ``Action.Submit`` — a message with the button's data as ``value`` and no
  text, which is how Teams delivers every press of a Meridian card — → ``app.action``, once
  a form's values have passed the checks its card declared (``render.refusal``); a value the
  card would not have allowed is answered with one line and never reaches the core.
- The message action "Ask who owns this" (an ``invoke`` named ``composeExtension/submitAction``,
  ``adapters.teams.extension``) → ``raci ask`` with the message's words (or the question typed in its
  dialog); the answer is the invoke's response, a card for the person's compose box.
- Dialogs (task modules): a button whose press answers with a form (the stand-up's Answer) and the
  button of a card holding a form a typed command asked for carry ``msteams: {type: task/fetch}``;
  Teams then sends a ``task/fetch`` invoke and the form comes back as the dialog's card
  (``{"task": {"type": "continue", …}}``). Its Submit is a ``task/submit`` invoke, taken by the very
  path a chat card's Submit takes (``_take``: the card's checks, then ``app.action``); a refused value
  shows the dialog again with what was typed and why, an accepted one closes it with one line
  (``{"task": {"type": "message", …}}``) while the full reply goes into the chat. A client without
  dialogs delivers the same press as a plain Submit, and the form is posted into the chat as before.
- ``fileConsent/invoke`` (Allow or Decline on a file's consent card in a 1:1 chat): the file is PUT to
  the person's OneDrive and shown, or nothing is uploaded (``adapters.teams.files``).
- Other invokes are not handled (501): Meridian's cards carry no ``Action.Execute``.
- ``messageReaction`` (a reaction added to or taken off a message) → ``app.reaction``,
  Teams' reaction names (``like``, ``heart``…) as the emoji themselves.
- ``conversationUpdate`` (the app installed in a team or a 1:1 chat) → the conversation
  reference is kept, so Meridian can speak there later; added to a team, it reads the team's
  members and links them to the team file's (``adapters.teams.roster``), as it does for
  anyone who joins the team later.

Mentions reach the core as ``@member-id``: a mentioned Teams user who is a member (by
their Teams account or the Teams id last seen for them) by their id, anyone else by
their Teams id, as Slack's adapter does with a Slack id.

Every activity also keeps the sender's conversation reference, Teams identity and
time zone up to date. The workspace is the tenant.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial
from typing import Any

from botbuilder.core import InvokeResponse, TurnContext
from botbuilder.schema import Activity, ActivityTypes, ChannelAccount

from adapters.teams.chat import TeamsChat
from adapters.teams.dialogs import refilled
from adapters.teams.extension import ASK_OWNER, QUESTION, SUBMIT_ACTION, card_result, mapping, message_text
from adapters.teams.files import file_info
from adapters.teams.render import (
    DIALOG_KEY,
    dialog_form,
    dialog_message,
    form_card,
    one_card,
    outgoing,
    refusal,
    submitted,
)
from adapters.teams.roster import Roster, RosterRead
from adapters.teams.tab import LINK_DAYS, TabLinks
from bot.kernel.app import Action, IncomingMessage, Meridian, Reaction
from bot.kernel.commands import CommandError, Invocation, Reply
from bot.kernel.domain import Member, Workspace
from bot.kernel.messages import Code, Form, Inline, Link, Message, plural
from bot.kernel.people import former_member, learn_zone, was_forgotten
from bot.kernel.ports import DeliveryError
from bot.kernel.timekeeping import TimeInputError, validate_zone
from storage.teams.repo import TeamsIdentity

log = logging.getLogger("meridian.teams")

HOME_WORD = "home"
"""Typed alone in the 1:1 chat: a link to your home page (the personal tab)."""
COMMAND_WORDS = frozenset({"standup", "raci", "retro", "meridian", "experiments", "drift"})
LOCAL_TENANT = "teams-local"
"""The workspace of activities that carry no tenant (the Bot Framework Emulator, Web Chat)."""
PLATFORM = "teams"
TEAMS_REACTIONS: dict[str, str] = {"like": "👍", "heart": "❤️", "laugh": "😆", "surprised": "😮", "sad": "😢",
                                   "angry": "😠"}
"""Teams' names for its reactions; any other name reaches the core as ``:name:``."""


def emoji_of(reaction: str) -> str:
    """A Teams reaction name as the emoji: ``like`` → 👍."""
    return TEAMS_REACTIONS.get(reaction) or f":{reaction}:"


@dataclass(frozen=True)
class Where:
    """Where an activity happened, in the core's terms."""

    workspace: str
    kind: str
    """personal | channel | groupChat"""
    channel: str | None
    """A channel's label (``#ml-team``), a group chat's id; ``None`` in a 1:1 chat."""
    thread: str | None

    @property
    def is_dm(self) -> bool:
        return self.kind == "personal"


def tenant_of(activity: Activity) -> str:
    """The tenant from ``channelData`` (botbuilder's own ``tenant_id`` field loses it)."""
    data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
    tenant = (data.get("tenant") or {}).get("id")
    return str(tenant) if tenant else LOCAL_TENANT


def split_conversation(conversation_id: str) -> tuple[str, str | None]:
    """``19:x@thread.tacv2;messageid=123`` → (``19:x@thread.tacv2``, ``123``)."""
    base, _, root = conversation_id.partition(";messageid=")
    return base, root or None


def _entities(activity: Activity) -> list[dict[str, Any]]:
    """Entities as plain data: botbuilder keeps all but their ``type`` in ``additional_properties``."""
    found = []
    for entity in activity.entities or []:
        if isinstance(entity, dict):
            found.append(entity)
        else:
            found.append({**(getattr(entity, "additional_properties", None) or {}), "type": entity.type})
    return found


def client_zone(activity: Activity) -> str | None:
    """The IANA zone the person's Teams client reports, if any and if real."""
    zone = activity.local_timezone
    if not zone:
        for data in _entities(activity):
            if data.get("type") == "clientInfo" and data.get("timezone"):
                zone = data["timezone"]
                break
    if not zone:
        return None
    try:
        return validate_zone(str(zone))
    except TimeInputError:
        return None


def _mentions(activity: Activity) -> list[dict[str, Any]]:
    return [e for e in _entities(activity) if e.get("type") == "mention" and isinstance(e.get("mentioned"), dict)]


def command_of(text: str, families: set[str]) -> tuple[str, str] | None:
    """``standup skip today`` or ``/standup skip today`` → (``standup``, ``skip today``)."""
    words = text.split(maxsplit=1)
    if not words:
        return None
    first = words[0].lstrip("/").lower()
    if first in COMMAND_WORDS or first in families:
        return first, words[1] if len(words) > 1 else ""
    return None


def member_slug(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:40] or "teams-user"


HINT = Message.text("I didn't catch that. Try ", Code("standup"), " to answer your stand-up, ", Code("standup help"),
                    ", ", Code("raci help"), " or ", Code("meridian help"), ".")


class TeamsBot:
    def __init__(self, app: Meridian, chat: TeamsChat, links: TabLinks | None = None, public_url: str = "") -> None:
        self.app = app
        self.chat = chat
        self.links = links or TabLinks(app)
        self.public_url = public_url
        """Where ``meridian serve`` is reached from outside (``MERIDIAN_PUBLIC_URL``): links to the tab start here."""
        self.repo = chat.repo
        self.roster = Roster(app, chat)
        self._handlers = {ActivityTypes.message: self.on_message,
                          ActivityTypes.conversation_update: self.on_conversation_update,
                          ActivityTypes.message_reaction: self.on_reaction,
                          ActivityTypes.invoke: self.on_invoke}
        self._invokes = {"task/fetch": self._dialog_fetch, "task/submit": self._dialog_submit,
                         "fileConsent/invoke": self._file_consent, SUBMIT_ACTION: self._ask_owner}
        # Any other invoke (``adaptiveCard/action``…) gets no answer, so botbuilder's 501: no card sends one.

    async def on_turn(self, context: TurnContext) -> None:
        handler = self._handlers.get(context.activity.type)
        if handler is not None:
            await handler(context)

    # --- who and where --------------------------------------------------------------------
    def _workspace(self, tenant: str, activity: Activity) -> None:
        existing = self.app.store.get_workspace(tenant)
        if existing is not None and existing.platform == PLATFORM:
            return
        data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
        name = (data.get("team") or {}).get("name") or tenant
        # A workspace first loaded from a team file under the tenant id is this tenant: it speaks Teams from now on.
        self.app.store.upsert_workspace(Workspace(tenant, PLATFORM, existing.name if existing else name,
                                                  existing.tz if existing else "UTC"))

    def _where(self, activity: Activity, tenant: str, member: Member | None) -> Where:
        """Record the conversation's reference (Meridian may speak there later) and say where this is."""
        conversation = activity.conversation
        kind = conversation.conversation_type or ("groupChat" if conversation.is_group else "personal")
        base, root = split_conversation(conversation.id or "")
        reference = TurnContext.get_conversation_reference(activity)
        reference.conversation.id = base
        reference.activity_id = None
        service_url = activity.service_url or ""
        if kind == "personal":
            self.repo.save_conversation(tenant, base, kind, service_url, reference.serialize(), _now(),
                                        member_id=member.id if member else None)
            return Where(tenant, kind, None, None)
        label = None
        if kind == "channel":
            data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
            channel = data.get("channel") or {}
            team = data.get("team") or {}
            # Teams leaves the General channel unnamed; its id is the team's id.
            name = channel.get("name") or ("general" if not channel or channel.get("id") == team.get("id") else None)
            label = f"#{member_slug(name)}" if name else None
        saved = self.repo.save_conversation(tenant, base, kind, service_url, reference.serialize(), _now(),
                                            label=label)
        return Where(tenant, kind, saved.label or saved.id, root if kind == "channel" else None)

    def _member(self, tenant: str, account: ChannelAccount | None, zone: str | None) -> Member | None:
        """The core member behind a Teams user: found by Entra object id or Teams id, created when new."""
        if account is None or not account.id:
            return None
        ids = [i for i in (account.aad_object_id, account.id) if i]
        member = None
        for account_id in ids:
            member = self.app.store.find_member_by_account(tenant, PLATFORM, account_id)
            if member is not None:
                break
        if member is None:  # linked by the roster (by email) or met before under another account
            known = self.repo.member_of_user(tenant, account.id)
            member = self.app.store.get_member(tenant, known) if known else None
        name = (account.name or "").strip()
        if member is None and any(was_forgotten(self.app, tenant, PLATFORM, i) for i in ids):
            return former_member(tenant, ids[0])
        if member is None:
            member = Member(tenant, self._free_member_id(tenant, name or "teams-user"), name or "Teams user",
                            tz=zone or "UTC", accounts={PLATFORM: ids[0]})
            self.app.store.upsert_member(member)
            self.app.engine.replan()
            learn_zone(self.app, member, member.tz, PLATFORM)  # a member Teams created follows Teams' zone
            log.info("new Teams member %s in tenant %s", member.id, tenant)
        elif zone:
            member = learn_zone(self.app, member, zone, PLATFORM)
        identity = TeamsIdentity(tenant, member.id, account.id, account.aad_object_id, name)
        if self.repo.identity(tenant, member.id) != identity:
            self.repo.save_identity(identity)
        return member

    def _free_member_id(self, tenant: str, name: str) -> str:
        base = member_slug(name)
        candidate, n = base, 2
        while self.app.store.get_member(tenant, candidate) is not None:
            candidate, n = f"{base}-{n}", n + 1
        return candidate

    def _arrival(self, context: TurnContext) -> tuple[Where, Member | None]:
        activity = context.activity
        tenant = tenant_of(activity)
        self._workspace(tenant, activity)
        member = self._member(tenant, activity.from_property, client_zone(activity))
        return self._where(activity, tenant, member), member

    # --- text -----------------------------------------------------------------------------
    def _text(self, activity: Activity, tenant: str) -> tuple[str, bool]:
        """The typed text without the bot's @mention (other mentions become ``@member``); was the bot mentioned?"""
        text = activity.text or ""
        bot_id = activity.recipient.id if activity.recipient else None
        mentioned_bot = False
        for mention in _mentions(activity):
            tag = str(mention.get("text") or "")
            who = mention["mentioned"]
            if not tag:
                continue
            if who.get("id") == bot_id:
                mentioned_bot = True
                text = text.replace(tag, " ")
                continue
            text = text.replace(tag, f"@{self._member_id_of(tenant, str(who.get('id') or ''))}")
        text = text.replace("&nbsp;", " ").replace("\xa0", " ")
        return " ".join(text.split()) if "\n" not in text else text.strip(), mentioned_bot

    def _known(self, tenant: str, user_id: str) -> str | None:
        """The member behind a Teams user id or Entra object id, if Meridian has met them."""
        member = self.app.store.find_member_by_account(tenant, PLATFORM, user_id)
        return member.id if member is not None else self.repo.member_of_user(tenant, user_id)

    def _member_id_of(self, tenant: str, user_id: str) -> str:
        """A mentioned Teams user as the core's member id; someone the core has never met keeps their Teams id."""
        return self._known(tenant, user_id) or user_id

    # --- activities -----------------------------------------------------------------------
    async def on_message(self, context: TurnContext) -> None:
        activity = context.activity
        where, member = self._arrival(context)
        if member is None:
            return
        data = activity.value if isinstance(activity.value, dict) else None
        if data is not None and submitted(data) is not None:
            pressed = await self._take(where, member, data, activity.id)
            if isinstance(pressed, Refused):  # a value the card would not have let through: nothing reaches the core
                await self.answer(context, where, member, Reply(Message.text(pressed.reason)))
                return
            await self.answer(context, where, member, pressed, in_chat=True)
            return
        if data is not None and DIALOG_KEY in data:  # a dialog's button, from a client without dialogs
            form = self.chat.forms.get(member, data[DIALOG_KEY])
            if form is None:
                await self.say(context, where, FORM_GONE)
            else:
                await context.send_activity(outgoing(form_card(form)))
            return
        text, mentioned_bot = self._text(activity, where.workspace)
        if where.is_dm and text.lstrip("/").strip().lower() == HOME_WORD:
            await self.say(context, where, self._home_link(member))
            return
        command = command_of(text, set(self.app.families))
        if command is not None:
            family, rest = command
            reply = await self.app.command(Invocation(where.workspace, member, family, rest, channel=where.channel,
                                                      trigger=activity.id, thread=where.thread, platform=PLATFORM))
            await self.answer(context, where, member, reply)
            return
        taken = await self.app.message(IncomingMessage(where.workspace, member, text, where.channel, where.is_dm,
                                                       where.thread, activity.id))
        if taken:
            return
        if mentioned_bot and not where.is_dm and text:
            await self._question(context, where, member, text, activity.id)
        elif where.is_dm or mentioned_bot:
            await self.say(context, where, HINT)

    async def _question(self, context: TurnContext, where: Where, member: Member, text: str,
                        trigger: str | None) -> None:
        """``@Meridian who owns churn retraining?`` in a channel: the RACI lookup answers, in the thread."""
        reply = await self.app.command(Invocation(where.workspace, member, "raci", f"ask {text}",
                                                  channel=where.channel, trigger=trigger, thread=where.thread,
                                                  platform=PLATFORM))
        if reply.message is not None:
            await self.say(context, where, reply.message)

    async def _ask_owner(self, context: TurnContext, where: Where, member: Member,
                         value: dict[str, Any]) -> dict[str, Any]:
        """The message action "Ask who owns this": ``raci ask`` with the message's words (or the question typed in
        its dialog); the answer is a card for the person's compose box."""
        activity = context.activity
        typed = str(mapping(value.get("data")).get(QUESTION) or "").strip()
        text = typed or message_text(mapping(value.get("messagePayload")), partial(self._known, where.workspace))
        reply = await self.app.command(Invocation(where.workspace, member, "raci", f"ask {text}",
                                                  channel=where.channel, trigger=activity.id, thread=where.thread,
                                                  platform=PLATFORM))
        answer = reply.message or Message.text("Nothing to show.")
        return card_result(one_card(answer), "Who owns this")

    async def on_reaction(self, context: TurnContext) -> None:
        """A reaction on a message (a 👍 on a retro item is a vote); Teams names the message in ``replyToId``."""
        activity = context.activity
        if not activity.reply_to_id:
            return
        where, member = self._arrival(context)
        if member is None:
            return
        changes = [(r, True) for r in activity.reactions_added or []] + \
                  [(r, False) for r in activity.reactions_removed or []]
        for reaction, added in changes:
            if reaction.type:
                await self.app.reaction(Reaction(where.workspace, member, str(activity.reply_to_id),
                                                 emoji_of(str(reaction.type)), added, where.channel))

    def _home_link(self, member: Member) -> Message:
        """A link to the member's home page (the personal tab), made for them alone."""
        if not self.public_url:
            return Message.text("Your home page is not set up here yet: whoever runs Meridian needs to set ",
                                Code("MERIDIAN_PUBLIC_URL"), " to the address of ", Code("meridian serve"), ".")
        url = self.links.url(self.public_url, member)
        return Message.text("Your Meridian home — next reminders in your time, your RACI roles, retro slots and open "
                            "actions: ", Link(url, "open your home page"),
                            f". The link is yours alone and works for {LINK_DAYS} days; type ", Code(HOME_WORD),
                            " again for a new one.")

    async def _take(self, where: Where, member: Member, data: dict[str, Any], trigger: str | None) -> Reply | Refused:
        """A pressed button or a submitted form — from a card in the chat or from a dialog — checked against what
        its card declared, then handed to the core: the one path every submission takes."""
        action = submitted(data)
        if action is None:
            return Refused("That button is not one of Meridian's.")
        refused = refusal(data)
        if refused is not None:
            return Refused(refused)
        action_id, value, values, metadata = action
        try:
            reply = await self.app.action(Action(where.workspace, member, action_id, value, values, metadata,
                                                 channel=where.channel, trigger=trigger))
        except CommandError as err:
            return Refused(str(err))
        key = data.get(DIALOG_KEY)
        if isinstance(key, str):  # taken: the dialog's form is done with
            self.chat.forms.drop(member, key)
        return reply or Reply()

    # --- dialogs (task modules) -----------------------------------------------------------
    async def on_invoke(self, context: TurnContext) -> None:
        """``task/fetch``, ``task/submit``, ``fileConsent/invoke`` and the message action; the answer is the
        response's body."""
        activity = context.activity
        handler = self._invokes.get(str(activity.name or ""))
        if handler is None or (activity.name == SUBMIT_ACTION and mapping(activity.value).get("commandId") != ASK_OWNER):
            return  # not Meridian's: left unanswered (501)
        where, member = self._arrival(context)
        value = activity.value if isinstance(activity.value, dict) else {}
        body = dialog_message("Meridian could not tell who you are.") if member is None else \
            await handler(context, where, member, value)
        await context.send_activity(Activity(type=ActivityTypes.invoke_response,
                                             value=InvokeResponse(status=200, body=body)))

    def _dialog(self, member: Member, form: Form, key: str | None = None, error: str | None = None) -> dict[str, Any]:
        """The form as a dialog, kept so its Submit (and a refusal shown again) can find it."""
        key = key or self.chat.forms.keep(member, form)
        return dialog_form(form_card(form, dialog=key, error=error), form.title)

    async def _dialog_fetch(self, context: TurnContext, where: Where, member: Member,
                            value: dict[str, Any]) -> dict[str, Any]:
        """A button that opens a dialog: a form kept for it, or a press whose answer is a form."""
        data = _data(value)
        if DIALOG_KEY in data:
            form = self.chat.forms.get(member, data[DIALOG_KEY])
            return self._dialog(member, form, data[DIALOG_KEY]) if form else dialog_message(FORM_GONE.fallback)
        taken = await self._take(where, member, data, context.activity.id)
        if isinstance(taken, Refused):
            return dialog_message(taken.reason)
        if taken.form is not None:
            return self._dialog(member, taken.form)
        return dialog_message(taken.message.fallback if taken.message else "Done.")

    async def _dialog_submit(self, context: TurnContext, where: Where, member: Member,
                             value: dict[str, Any]) -> dict[str, Any]:
        """A dialog's Submit: refused → the dialog again, with what was typed and why; else it closes and the reply
        goes into the chat, as a chat card's Submit would have it."""
        data = _data(value)
        key = data.get(DIALOG_KEY)
        taken = await self._take(where, member, data, context.activity.id)
        if isinstance(taken, Refused):
            form = self.chat.forms.get(member, key)
            if form is None:
                return dialog_message(taken.reason)
            action = submitted(data)
            typed = action[2] if action else {}
            return self._dialog(member, refilled(form, typed), str(key), taken.reason)
        if taken.form is not None:  # the core asks for more (a next step): the dialog shows it
            return self._dialog(member, taken.form)
        if taken.message is None:
            return dialog_message("Done.")
        await self.answer(context, where, member, Reply(taken.message, taken.public))
        return dialog_message(taken.message.fallback)

    # --- files (the consent flow of a 1:1 chat) -------------------------------------------------
    async def _file_consent(self, context: TurnContext, where: Where, member: Member,
                            value: dict[str, Any]) -> None:
        """Allow on a file's consent card: its bytes to the person's OneDrive, then the file shown in the chat;
        Decline: nothing uploaded, and said so."""
        name = _file_name(value)
        if value.get("action") != "accept":
            await self.say(context, where, Message.text(f"You declined {name}: nothing was uploaded."))
            return
        attachment = self.chat.files.accepted(where.workspace, value.get("context"))
        raw = value.get("uploadInfo")
        upload: dict[str, Any] = raw if isinstance(raw, dict) else {}
        if attachment is None:
            await self.say(context, where, Message.text(f"{name} is no longer available (files are kept for "
                                                        f"{LINK_DAYS} days). Ask for it again."))
            return
        try:
            await self.chat.files.upload(upload.get("uploadUrl"), attachment.content.encode())
        except DeliveryError as err:
            log.warning("upload of %s for %s failed: %s", attachment.filename, member.id, err)
            await self.say(context, where, Message.text(f"I couldn't put {attachment.filename} in your OneDrive "
                                                        f"({err}). Nothing was uploaded; try Allow again later."))
            return
        await context.send_activity(file_info(upload))

    async def on_conversation_update(self, context: TurnContext) -> None:
        activity = context.activity
        where, member = self._arrival(context)
        bot_id = activity.recipient.id if activity.recipient else None
        added = activity.members_added or []
        team_id = team_of(activity)
        if any(m.id == bot_id for m in added):
            log.info("installed in %s %s of tenant %s", where.kind, where.channel or "chat", where.workspace)
            if member is not None:
                self._first_admin(member)
            read = await self.roster.read_team(context, where.workspace, team_id) if team_id else None
            await self.say(context, where, welcome(where, read))
        elif team_id and added:
            linked = await self.roster.joined(context, where.workspace, team_id, added)
            if linked:
                log.info("linked %d people who joined team %s", len(linked), team_id)

    def _first_admin(self, member: Member) -> None:
        """Teams does not say who administers a tenant, so whoever adds Meridian to a tenant that has no admin
        yet becomes its first one (more are named in the team file, ``admin: true``)."""
        if not any(m.is_admin for m in self.app.store.list_members(member.workspace)):
            self.app.store.upsert_member(replace(member, is_admin=True))
            log.info("%s is the first admin of tenant %s", member.id, member.workspace)

    # --- replies --------------------------------------------------------------------------
    async def say(self, context: TurnContext, where: Where, message: Message) -> None:
        """Reply where the activity came from; a message too big for one Teams activity goes as several."""
        await context.send_activities(self.chat.activities(where.workspace, message, personal=where.is_dm))

    async def answer(self, context: TurnContext, where: Where, member: Member, reply: Reply | None,
                     in_chat: bool = False) -> None:
        """A reply goes back into a 1:1 chat; in a channel a public one goes into the thread and a private one
        (or a form) to the person's 1:1 chat, falling back to the thread when Teams refuses that chat.

        A form goes as a card whose button opens it in a dialog; ``in_chat`` (a button pressed in a client that
        posted the press instead of opening a dialog) puts the form itself into the 1:1 chat, as a card.
        """
        if reply is None:
            return
        if reply.message is not None:
            if where.is_dm or reply.public:
                await self.say(context, where, reply.message)
            else:
                await self._privately(context, where, member, reply.message)
        if reply.form is not None:
            if where.is_dm:
                await context.send_activity(outgoing(form_card(reply.form) if in_chat else
                                                     self.chat.opener(member, reply.form)))
            elif not await self.chat.open_form(member, reply.form, context.activity.id):
                await self.say(context, where, NO_PRIVATE_CHAT)

    async def _privately(self, context: TurnContext, where: Where, member: Member, message: Message) -> None:
        try:
            await self.chat.dm(member, message)
        except DeliveryError as err:
            log.info("private reply to %s went to the thread: %s", member.id, err)
            await self.say(context, where, message)


FORM_GONE = Message.text("This form is no longer open (it was sent, or newer ones replaced it). Ask again for a new one.")


@dataclass(frozen=True)
class Refused:
    """A submission not taken, and why, in one line for the person: its card's checks refused it (nothing reached
    the core), or the core refused it outright."""

    reason: str


NO_PRIVATE_CHAT = Message.text("I couldn't open a 1:1 chat with you. Add Meridian as a personal app, then try again.")


def _data(value: dict[str, Any]) -> dict[str, Any]:
    """A dialog invoke's ``data``: the pressed button's data, and the dialog's inputs on a Submit."""
    data = value.get("data")
    return data if isinstance(data, dict) else {}


def _file_name(value: dict[str, Any]) -> str:
    """The file a consent answer is about, as the card named it (or Teams, once uploaded)."""
    for holder in (value.get("uploadInfo"), value.get("context")):
        if isinstance(holder, dict) and isinstance(holder.get("name"), str) and holder["name"]:
            return holder["name"][:200]
    return "the file"


def team_of(activity: Activity) -> str | None:
    """The team a channel activity belongs to (``channelData.team.id``), if it is in one."""
    data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
    team = data.get("team") or {}
    return str(team["id"]) if isinstance(team, dict) and team.get("id") else None


MISSING_SHOWN = 10


def welcome(where: Where, read: RosterRead | None = None) -> Message:
    if where.is_dm:
        return Message.text("Hi! I'm Meridian. I'll send your stand-up questions here on your own clock. Type ",
                            Code("standup help"), " or ", Code("meridian help"), " to see what I can do, and ",
                            Code(HOME_WORD), " for your home page.")
    parts: list[Inline] = ["Hi! I'm Meridian. Mention me with a command, e.g. ", Code("standup setup daily at=09:30"),
                           " or ", Code("raci help"), ". Stand-ups name this channel ", Code(where.channel or "here"),
                           "."]
    if read is not None:
        parts.append(f" I found {plural(len(read.linked), 'member')} of the team file among this team's "
                     f"{plural(read.people, 'person', 'people')}.")
        if read.missing:
            names = ", ".join(m.name for m in read.missing[:MISSING_SHOWN])
            more = f" and {len(read.missing) - MISSING_SHOWN} more" if len(read.missing) > MISSING_SHOWN else ""
            parts.append(f" Not found by Teams id, Entra object id or email: {names}{more}. They are linked when "
                         "they join this team or first write to me.")
    return Message.text(*parts)


def _now() -> datetime:
    return datetime.now(UTC)
