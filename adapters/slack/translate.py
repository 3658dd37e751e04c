"""Slack's words for people and emoji, turned into the core's before anything reaches it.

Slack writes a mention as ``<@U123>`` (or ``<@U123|name>``) and a reaction by its name
(``+1``, ``+1::skin-tone-3``). The core knows neither: it reads ``@member-id`` and the
emoji itself. Command text, message text and reactions all pass through here, so a
person mentioned in a slash command and in a thread reply arrive the same way.

Special pings (``<!channel>``, ``<!here>``, ``<!subteam^…>``) become plain words; they can
never come back out as pings because ``adapters.slack.blocks`` escapes all text on output.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from bot.kernel.ports import Store

PLATFORM = "slack"

_SLACK_MARKUP = re.compile(r"<([@#!])([^|>]+)(?:\|([^>]*))?>|<((?:https?|mailto):[^|>]+)(?:\|[^>]*)?>")

MemberIdOf = Callable[[str], str]
"""Slack user id → the core's member id (or the Slack id itself for someone the core does not know)."""


def member_ids(store: Store, workspace: str) -> MemberIdOf:
    """The member a Slack user is: by their Slack account, else a member whose id is that Slack id.

    Someone the core has never met stays ``U123``: the core's resolver then says it knows no such person.
    """
    cache: dict[str, str] = {}

    def member_id_of(user_id: str) -> str:
        if user_id not in cache:
            found = store.find_member_by_account(workspace, PLATFORM, user_id) or store.get_member(workspace, user_id)
            cache[user_id] = found.id if found else user_id
        return cache[user_id]

    return member_id_of


def core_text(text: str, member_id_of: MemberIdOf) -> str:
    """Slack's escaped text as the words a person typed, people as ``@member-id``.

    ``<@U1|ravi>`` → ``@ravi`` (the member id), ``<#C1|ml-team>`` → ``C1``, ``<!here>`` → ``@here``,
    ``<https://x|label>`` → the URL, ``&lt;`` → ``<``.
    """
    def word(match: re.Match[str]) -> str:
        sigil, ident, label, url = match.groups()
        if url:
            return str(url)
        if sigil == "@":
            return "@" + member_id_of(ident)
        if sigil == "#":
            return ident
        return "@" + (label.lstrip("@") if label else ident.split("^")[0])

    return html.unescape(_SLACK_MARKUP.sub(word, text))


SLACK_EMOJI: dict[str, str] = {
    "+1": "👍", "thumbsup": "👍", "-1": "👎", "thumbsdown": "👎", "heart": "❤️", "tada": "🎉", "eyes": "👀",
    "white_check_mark": "✅", "rocket": "🚀", "fire": "🔥", "raised_hands": "🙌", "bulb": "💡",
    "large_green_circle": "🟢", "red_circle": "🔴",
    "palm_tree": "🌴", "beach_with_umbrella": "🏖️", "face_with_thermometer": "🤒", "airplane": "✈️",
    "thermometer": "🌡️", "sneezing_face": "🤧", "mask": "😷", "house_with_garden": "🏡", "spiral_calendar_pad": "🗓️",
}
"""Slack's names for the emoji the core reacts to (votes, categories), the common ones around them, and
Slack's status presets (🌴 vacationing, 🤒 out sick, 🗓️ in a meeting …), shown in away reasons."""

TONED = frozenset({"+1", "thumbsup", "-1", "thumbsdown", "raised_hands"})
"""Emoji that take a skin tone; any other keeps its plain form whatever tone Slack names."""

SKIN_TONES: dict[str, str] = {"skin-tone-2": "\U0001F3FB", "skin-tone-3": "\U0001F3FC", "skin-tone-4": "\U0001F3FD",
                              "skin-tone-5": "\U0001F3FE", "skin-tone-6": "\U0001F3FF"}


def emoji_of(reaction: str) -> str:
    """A reaction's Slack name as the emoji: ``+1`` → 👍, ``+1::skin-tone-4`` → 👍🏽, ``party_parrot`` → ``:party_parrot:``."""
    name, _, tone = reaction.strip().strip(":").partition("::")
    emoji = SLACK_EMOJI.get(name)
    if emoji is None:
        return f":{reaction.strip().strip(':')}:"
    return emoji + (SKIN_TONES.get(tone, "") if name in TONED else "")
