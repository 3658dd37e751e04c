"""``Retros``: the retros capability, built at bootstrap with its store and, optionally, sprint numbers.

``install`` registers ``/retro``, the planners and the due-work kinds (``retro.open``,
``retro.remind``, ``retro.close``, ``retro.action_remind``, ``retro.replanned``, ``retro.release`` for anonymous
items, ``retro.absences`` for a meeting most members are away from), the thread, DM, reaction and
button handlers, the home-page section, the ``forget-me`` hook and the team file's
``retros:`` section. Every handler closes over one ``RetroContext``, so each reaches this
capability's own store and ports, never anything looked up on the app by name.
"""

from __future__ import annotations

from datetime import datetime

from bot.kernel.app import Action, IncomingMessage, Meridian, Reaction
from bot.kernel.commands import Reply
from bot.kernel.domain import Member
from bot.kernel.messages import Block
from bot.kernel.ports import ClaimedItem, DueItem, SprintNumbers
from bot.retros import chat, flow
from bot.retros.commands import family
from bot.retros.context import RetroContext
from bot.retros.home import home_retros
from bot.retros.model import RetroStore
from bot.retros.plan import plan_retros
from bot.retros.teamfile import team_section


class Retros:
    """Retrospectives in threads, on slots that rotate fairly across time zones.

    ``numbers`` gives a thread's opening message the sprint in numbers; without it that
    part is left out, and when it raises the thread says the source is unavailable.
    """

    name = "retros"

    def __init__(self, store: RetroStore, numbers: SprintNumbers | None = None) -> None:
        self.store = store
        self.numbers = numbers

    def install(self, app: Meridian) -> None:
        ctx = RetroContext(app, self.store, self.numbers)

        def planner(_app: Meridian, start: datetime, end: datetime) -> list[DueItem]:
            return plan_retros(ctx, start, end)

        async def on_open(_app: Meridian, item: ClaimedItem) -> None:
            await flow.on_open(ctx, item)

        async def on_remind(_app: Meridian, item: ClaimedItem) -> None:
            await flow.on_remind(ctx, item)

        async def on_close(_app: Meridian, item: ClaimedItem) -> None:
            await flow.on_close(ctx, item)

        async def on_absences(_app: Meridian, item: ClaimedItem) -> None:
            await flow.on_absences(ctx, item)

        async def on_replanned(_app: Meridian, item: ClaimedItem) -> None:
            await flow.on_replanned(ctx, item)

        async def on_action_remind(_app: Meridian, item: ClaimedItem) -> None:
            await flow.on_action_remind(ctx, item)

        def releases(_app: Meridian, start: datetime, end: datetime) -> list[DueItem]:
            return flow.plan_releases(ctx, start, end)

        async def on_release(_app: Meridian, item: ClaimedItem) -> None:
            await flow.on_release(ctx, item)

        async def on_thread_message(_app: Meridian, msg: IncomingMessage) -> bool:
            return await chat.on_thread_message(ctx, msg)

        async def on_anonymous_dm(_app: Meridian, msg: IncomingMessage) -> bool:
            return await chat.on_anonymous_dm(ctx, msg)

        async def on_reaction(_app: Meridian, reaction: Reaction) -> bool:
            return await chat.on_reaction(ctx, reaction)

        async def on_action(_app: Meridian, act: Action) -> Reply | None:
            return await chat.on_action(ctx, act)

        def home(_app: Meridian, member: Member) -> list[Block]:
            return home_retros(ctx, member)

        app.add_family(family(ctx))
        app.add_planner(planner)
        app.add_planner(releases)
        app.on_due("retro.open", on_open)
        app.on_due("retro.remind", on_remind)
        app.on_due("retro.close", on_close)
        app.on_due("retro.action_remind", on_action_remind)
        app.on_due("retro.replanned", on_replanned)
        app.on_due("retro.absences", on_absences)
        app.on_due("retro.release", on_release)
        app.on_message(on_thread_message)
        app.on_message(on_anonymous_dm)
        app.on_reaction(on_reaction)
        app.on_action("retro.", on_action)
        app.add_home_section(home)
        app.on_forget(self.store.forget_member)
        app.on_merge(self.store.merge_member)
        app.add_section(team_section(ctx))
