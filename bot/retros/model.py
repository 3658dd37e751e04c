"""Retro domain types and the storage port retros need.

A ``Retro`` is the configuration (a team-file entry); an ``Occurrence`` is one meeting
or async round of it, with the start the fair rotation chose; ``Item``, ``ActionItem`` and
``BurdenEntry`` are what a round leaves behind. Anonymous items carry no author at all:
the type has ``author=None`` and nothing else refers to the writer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Protocol

from bot.kernel.domain import Member

CATEGORIES: dict[str, tuple[str, str]] = {
    "well": ("🟢", "Went well"),
    "improve": ("🔴", "To improve"),
    "idea": ("💡", "Ideas"),
    "kudos": ("🙌", "Kudos"),
}
DEFAULT_PROMPTS: tuple[tuple[str, str], ...] = (
    ("well", "What went well?"),
    ("improve", "What should we improve?"),
    ("idea", "What should we try next?"),
    ("kudos", "Who deserves a thank-you?"),
)
EMOJI_CATEGORY = {emoji: key for key, (emoji, _label) in CATEGORIES.items()}
WORD_CATEGORY = {"well": "well", "went well": "well", "good": "well", "improve": "improve", "bad": "improve",
                 "idea": "idea", "ideas": "idea", "kudos": "kudos", "thanks": "kudos"}
_PREFIX = re.compile(r"^\s*(?P<word>went well|well|good|improve|bad|ideas?|kudos|thanks)\s*:\s*(?P<rest>.*)$",
                     re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class Retro:
    workspace: str
    name: str
    channel: str
    every: str | None = "2w"
    """``1w``, ``2w``, ``10d``; ``None`` for an async retro."""
    duration: str = "60m"
    starts: date | None = None
    members: tuple[str, ...] | None = None
    candidates: tuple[str, ...] | None = None
    """UTC start times ("HH:MM") the rotation may choose from; every half hour when absent."""
    open_before: timedelta = timedelta(hours=48)
    """The team file's ``thread_lead``: how long before the meeting its thread opens."""
    prompts: tuple[tuple[str, str], ...] = DEFAULT_PROMPTS
    night_cap: int | None = None
    max_votes: int = 3
    opens: datetime | None = None
    closes: datetime | None = None
    tz: str = "UTC"
    """The zone in which channel posts show times."""
    facilitator: str | None = None
    """The member who runs every round with the admins; ``None`` rotates through the members, one per round."""

    @property
    def is_async(self) -> bool:
        return self.opens is not None

    def includes(self, member: Member) -> bool:
        return self.members is None or member.id in self.members


@dataclass
class Occurrence:
    workspace: str
    retro: str
    day: date
    """The occurrence's UTC date (its identity; the start may be any time of it)."""
    start: datetime | None
    end: datetime
    opens_at: datetime
    published: bool = False
    status: str = "planned"
    """planned | open | closed | skipped (an admin called this meeting off: no thread, no reminders, no burden)"""
    thread_id: str | None = None
    penalty: dict[str, float] = field(default_factory=dict)
    night: tuple[str, ...] = ()


@dataclass(frozen=True)
class BurdenEntry:
    workspace: str
    retro: str
    member: str
    day: date
    kind: str
    """``meeting`` (a published occurrence) or ``start`` (where a newcomer joined)."""
    penalty: float
    early: bool = False
    late: bool = False
    night: bool = False


@dataclass(frozen=True)
class Item:
    workspace: str
    retro: str
    day: date
    category: str
    text: str
    author: str | None = None
    number: int = 0
    id: int = 0
    message_id: str | None = None
    votes: int = 0

    @property
    def anonymous(self) -> bool:
        return self.author is None


@dataclass(frozen=True)
class ActionItem:
    workspace: str
    retro: str
    day: date
    owner: str
    text: str
    due: date | None = None
    status: str = "open"
    id: int = 0
    created_by: str | None = None
    """Who recorded it (``None`` for items recorded before this was kept): they, the owner or an admin close it."""


class RetroStore(Protocol):
    """What retros keep. Implemented over SQL in ``storage.retros.repo``; nothing here knows SQL."""

    def upsert_retro(self, retro: Retro) -> None: ...
    def get_retro(self, workspace: str, name: str) -> Retro | None: ...
    def list_retros(self, workspace: str | None = None) -> list[Retro]: ...

    def occurrences(self, workspace: str, retro: str) -> list[Occurrence]: ...
    def get_occurrence(self, workspace: str, retro: str, day: date) -> Occurrence | None: ...
    def save_occurrence(self, occ: Occurrence) -> None: ...
    def delete_unpublished(self, workspace: str, retro: str) -> int: ...
    def occurrence_by_thread(self, workspace: str, thread_id: str) -> Occurrence | None: ...

    def burden_history(self, workspace: str, retro: str) -> list[BurdenEntry]: ...
    def add_burden(self, entries: list[BurdenEntry]) -> None:
        """Record entries; one already recorded (same member, day and kind) is left as it is."""
        ...

    def add_item(self, item: Item) -> Item:
        """Store an item and give it the next number of its occurrence."""
        ...
    def items(self, workspace: str, retro: str, day: date) -> list[Item]:
        """The occurrence's items with their vote counts, in number order."""
        ...
    def item_by_number(self, workspace: str, retro: str, day: date, number: int) -> Item | None: ...
    def item_by_message(self, workspace: str, message_id: str) -> Item | None: ...
    def set_item_message(self, item_id: int, message_id: str) -> None: ...
    def vote(self, item: Item, voter: str) -> bool:
        """``True`` when the vote is new; a second vote by the same person on the same item is refused."""
        ...
    def unvote(self, item: Item, voter: str) -> bool: ...
    def votes_cast(self, workspace: str, retro: str, day: date, voter: str) -> int: ...
    def voted(self, workspace: str, retro: str, day: date, voter: str) -> set[int]:
        """The numbers of the items this person voted for in the round (what they may see before it closes)."""
        ...

    def add_action(self, action: ActionItem) -> ActionItem: ...
    def get_action(self, workspace: str, action_id: int) -> ActionItem | None: ...
    def actions(self, workspace: str, retro: str | None = None, status: str | None = "open") -> list[ActionItem]: ...
    def set_action_status(self, workspace: str, action_id: int, status: str) -> None: ...

    def forget_member(self, workspace: str, member: str) -> dict[str, int]:
        """Erase a person from retros (``/meridian forget-me``): their items lose the author, votes go, and the
        action items they recorded no longer name them as the recorder; returns how many of each."""
        ...

    def merge_member(self, workspace: str, old: str, new: str) -> None:
        """File what ``old`` wrote, voted, owns and bore under ``new`` (one person who had two members); a vote
        or burden both already hold is kept once."""
        ...


def category_of(text: str) -> tuple[str | None, str]:
    """The category a reply names (a leading 🟢 🔴 💡 🙌 or ``well:`` …) and the text without it."""
    stripped = text.strip()
    for emoji, key in EMOJI_CATEGORY.items():
        if stripped.startswith(emoji):
            return key, stripped[len(emoji):].lstrip("\ufe0f :-—").strip()
    match = _PREFIX.match(stripped)
    if match:
        return WORD_CATEGORY[match.group("word").lower()], match.group("rest").strip()
    return None, stripped
