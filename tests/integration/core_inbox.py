"""What a chat adapter handed the core, recorded in front of every capability without taking anything."""

from __future__ import annotations

from bot.kernel.app import IncomingMessage, Meridian, Reaction


class Seen:
    """What the core was handed; never takes anything, so the capabilities still get it all."""

    def __init__(self, app: Meridian) -> None:
        self.messages: list[IncomingMessage] = []
        self.reactions: list[Reaction] = []
        app.message_hooks.insert(0, self._message)
        app.reaction_hooks.insert(0, self._reaction)

    async def _message(self, _app: Meridian, msg: IncomingMessage) -> bool:
        self.messages.append(msg)
        return False

    async def _reaction(self, _app: Meridian, reaction: Reaction) -> bool:
        self.reactions.append(reaction)
        return False
