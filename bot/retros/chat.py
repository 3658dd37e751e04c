"""What people do in chat around a retro: thread replies, anonymous DMs, 👍 reactions and buttons.

Thread replies that start with 🟢 🔴 💡 🙌 or ``well:`` ``improve:`` ``idea:`` ``kudos:``
become items; other replies of a few words get a private question (a button per
category) and stay chatter unless the writer picks one; anonymous items come by DM
(``anon: …``) and are posted with no author, which is stored nowhere; a 👍 on an item is
a vote. Reactions arrive as Unicode emoji: the chat adapters translate a platform's
names (``+1``) before the core sees them.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date

from bot.kernel.app import Action, IncomingMessage, Reaction
from bot.kernel.commands import Reply
from bot.kernel.messages import Actions, Button, Message, Section, rich, truncate_user_text
from bot.retros.context import RetroContext, key
from bot.retros.flow import (
    add_action,
    add_anonymous,
    add_item,
    cast_vote,
    close_now,
    find_round,
    may_run,
    parse_action,
    refusal,
    sentence,
    skip_meeting,
    thread_occurrence,
)
from bot.retros.model import CATEGORIES, category_of

ASK_MIN_WORDS = 3
"""Unprefixed thread replies shorter than this are chatter, left alone without a question."""
THUMBS = {"👍", "👍🏻", "👍🏼", "👍🏽", "👍🏾", "👍🏿"}
ANON = re.compile(r"^\s*anon(?:ymous)?\s*:\s*(?P<rest>.*)$", re.IGNORECASE | re.DOTALL)
ACTION = re.compile(r"^\s*action\s*:\s*(?P<rest>.+)$", re.IGNORECASE | re.DOTALL)


async def on_thread_message(ctx: RetroContext, msg: IncomingMessage) -> bool:
    """Thread replies: items, action items, or chatter (left alone; longer ones get a private question)."""
    if msg.is_dm or not msg.thread:
        return False
    occ = thread_occurrence(ctx, msg.workspace, msg.thread)
    if occ is None:
        return False
    r = ctx.store.get_retro(msg.workspace, occ.retro)
    if r is None:
        return False
    if msg.message_id and ctx.store.item_by_message(msg.workspace, msg.message_id) is not None:
        return True  # the same reply delivered twice
    app = ctx.app
    text = msg.text.strip()
    action = ACTION.match(text)
    if action:
        try:
            owner, what, due = parse_action(ctx, msg.workspace, action.group("rest"), msg.member)
        except ValueError as err:
            await app.outbox.dm(key(r, occ.day, "action-error", msg.message_id or hashlib.sha256(text.encode())
                                    .hexdigest()[:12]), r.workspace, msg.member.id,
                                Message.text(f"I couldn't record that action item: {sentence(err)} Write it as "
                                             "`action: @owner what by DATE`, like `by next friday`."))
            return True
        await add_action(ctx, r, occ, owner, what, due, msg.member)
        return True
    if occ.status != "open":
        return True
    category, body = category_of(text)
    if category is not None:
        if body:
            await add_item(ctx, r, occ, category, body, msg.member, message_id=msg.message_id)
        return True
    if len(text.split()) < ASK_MIN_WORDS or not msg.message_id:
        return True
    app.store.kv_set(msg.workspace, f"retro:ask:{msg.message_id}",
                     {"retro": r.name, "day": occ.day.isoformat(), "member": msg.member.id, "text": text,
                      "message_id": msg.message_id})
    buttons = tuple(Button(f"{CATEGORIES[k][0]} {CATEGORIES[k][1]}", "retro.categorize", f"{msg.message_id}|{k}")
                    for k, _ in r.prompts)
    await app.outbox.dm(key(r, occ.day, "ask", msg.message_id), r.workspace, msg.member.id, Message(
        (Section(rich(f"Add this to {r.name} as an item? ", truncate_user_text(text, 300))),
         Actions((*buttons, Button("Not an item", "retro.categorize", f"{msg.message_id}|none")))),
        fallback=f"Add this to {r.name} as an item?"))
    return True


async def on_anonymous_dm(ctx: RetroContext, msg: IncomingMessage) -> bool:
    """``anon: …`` in a DM. The confirmation goes straight to the writer, not through the outbox,
    because an outbox entry would store who sent an anonymous item."""
    if not msg.is_dm:
        return False
    match = ANON.match(msg.text)
    if not match:
        return False
    answer = await add_anonymous(ctx, msg.workspace, msg.member, match.group("rest"))
    await ctx.app.chat_for(msg.workspace).dm(msg.member, Message.text(answer))
    return True


async def on_reaction(ctx: RetroContext, reaction: Reaction) -> bool:
    """A 👍 on an item is a vote; taking the 👍 away takes the vote back."""
    if reaction.emoji not in THUMBS:
        return False
    item = ctx.store.item_by_message(reaction.workspace, reaction.message_id)
    if item is None:
        return False
    found = find_round(ctx, item.workspace, item.retro, item.day.isoformat())
    if found is None:
        return False
    r, occ = found
    if not reaction.added:
        if occ.status == "open":
            ctx.store.unvote(item, reaction.member.id)
        return True
    answer = cast_vote(ctx, r, occ, item, reaction.member)
    if not answer.startswith("Your vote"):
        await ctx.app.outbox.dm(key(r, occ.day, "vote-refused", item.number, reaction.member.id), r.workspace,
                                reaction.member.id, Message.text(answer))
    return True


async def on_action(ctx: RetroContext, act: Action) -> Reply | None:
    """The Vote button, the category question's buttons and the action-item form."""
    store, app = ctx.store, ctx.app
    if act.action_id == "retro.vote":
        name, day, number = act.value.split("|")
        found = find_round(ctx, act.workspace, name, day)
        item = store.item_by_number(act.workspace, name, date.fromisoformat(day), int(number)) if found else None
        if found is None or item is None:
            return Reply(Message.text("That item no longer exists."))
        return Reply(Message.text(cast_vote(ctx, found[0], found[1], item, act.member)))
    if act.action_id == "retro.categorize":
        token, _, category = act.value.rpartition("|")
        state = app.store.kv_get(act.workspace, f"retro:ask:{token}")
        if not state or state.get("member") != act.member.id:
            return Reply(Message.text("That question has already been answered."))
        app.store.kv_delete(act.workspace, f"retro:ask:{token}")
        if category not in CATEGORIES:
            return Reply(Message.text("Left as a conversation, not an item."))
        found = find_round(ctx, act.workspace, state["retro"], state["day"])
        if found is None or found[1].status != "open":
            return Reply(Message.text("That retro is closed, so the item was not added."))
        item = await add_item(ctx, found[0], found[1], category, state["text"], act.member,
                              message_id=state["message_id"])
        return Reply(Message.text(f"Added as #{item.number} {CATEGORIES[category][0]} {CATEGORIES[category][1]}."))
    if act.action_id == "retro.close.confirm":
        name, _, day = act.value.partition("|")
        found = find_round(ctx, act.workspace, name, day)
        if found is None or found[1].status != "open":
            return Reply(Message.text("That retro is already closed."))
        if not may_run(ctx, *found, act.member):
            return Reply(Message.text(refusal(ctx, *found, "close")))
        return Reply(Message.text(await close_now(ctx, *found, act.member.tz)))
    if act.action_id == "retro.skip":
        name, _, day = act.value.partition("|")
        found = find_round(ctx, act.workspace, name, day)
        if found is None:
            return Reply(Message.text("That meeting no longer exists."))
        if not may_run(ctx, *found, act.member):
            return Reply(Message.text(refusal(ctx, *found, "skip a meeting of")))
        try:
            return Reply(Message.text(await skip_meeting(ctx, *found, act.member)))
        except ValueError as err:
            return Reply(Message.text(f"Not skipped: {sentence(err)}"))
    if act.action_id == "retro.action.submit":
        found = find_round(ctx, act.workspace, act.metadata.get("retro", ""), act.metadata.get("day", ""))
        if found is None:
            return Reply(Message.text("That retro no longer exists."))
        text = f"@{act.values.get('owner', '')} {act.values.get('text', '')}"
        if act.values.get("due", "").strip():
            text += f" by {act.values['due'].strip()}"
        try:
            owner, what, due = parse_action(ctx, act.workspace, text, act.member)
        except ValueError as err:
            return Reply(Message.text(f"Not saved: {sentence(err)}"))
        action = await add_action(ctx, found[0], found[1], owner, what, due, act.member)
        return Reply(Message.text(f"Saved action item #{action.id}."))
    return None
