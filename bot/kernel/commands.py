"""The command parser shared by every chat adapter.

Slack slash commands, Teams messages and console lines all reach the core as an
``Invocation``: a family (``standup``), the words after it, and who typed them.
Each capability declares a ``CommandFamily`` with its sub-commands; this module does
the parsing, ``help`` and the error replies, so every family behaves the same way:
``help`` always answers, and a malformed command gets a specific error and its usage.
"""

from __future__ import annotations

import difflib
import shlex
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from bot.kernel.domain import Member
from bot.kernel.messages import Code, Context, Form, Header, Inline, Message, Section, rich

AppT = TypeVar("AppT")
"""The app a handler is given (``Meridian``); generic so this module needs nothing of it."""


class CommandError(Exception):
    """A usage mistake (a missing word, a malformed value); the reply is the message and the usage."""


class Refusal(CommandError):
    """A well-formed command that cannot be done (a rule, a permission, a name that names no one): the reply
    is the message alone, because the usage would not help."""


@dataclass(frozen=True)
class Invocation:
    workspace: str
    member: Member
    family: str
    text: str
    channel: str | None = None
    trigger: str | None = None
    thread: str | None = None
    platform: str = "console"


class Meeting(Protocol):
    """What a command can mean by name or by where it was typed: a stand-up, a retro."""

    @property
    def name(self) -> str: ...
    @property
    def channel(self) -> str: ...
    def includes(self, member: Member) -> bool: ...


MeetingT = TypeVar("MeetingT", bound=Meeting)


def meant(inv: Invocation, meetings: list[MeetingT], name: str | None) -> MeetingT | None:
    """The one a command means: the one named, else the asker's in this channel, else theirs, else any.

    Named but unknown, or none at all, is ``None``; the capability says why in its own words."""
    if name:
        return next((m for m in meetings if m.name == name), None)
    mine = [m for m in meetings if m.includes(inv.member)]
    candidates = mine or meetings
    here = next((m for m in candidates if inv.channel and m.channel == inv.channel), None)
    return here or (candidates[0] if candidates else None)


@dataclass
class Reply:
    """What the invoker sees: a message (private unless ``public``) and/or a form to open."""

    message: Message | None = None
    public: bool = False
    form: Form | None = None


@dataclass(frozen=True)
class Subcommand(Generic[AppT]):
    name: str
    usage: str
    summary: str
    handler: Callable[[AppT, Invocation, list[str]], Awaitable[Reply]]
    aliases: tuple[str, ...] = ()


@dataclass
class CommandFamily(Generic[AppT]):
    """``/standup``, ``/raci``, …: a name, its sub-commands and what a bare or unknown word does."""

    name: str
    summary: str
    subcommands: list[Subcommand[AppT]] = field(default_factory=list)
    default: Subcommand[AppT] | None = None
    """Runs when the first word is not a sub-command (``/raci churn model``) or there is none."""
    takes_free_text: bool = False
    """When true, an unknown first word goes to ``default`` instead of being an error."""

    def find(self, word: str) -> Subcommand[AppT] | None:
        for sub in self.subcommands:
            if word == sub.name or word in sub.aliases:
                return sub
        return None

    def closest(self, word: str) -> Subcommand[AppT] | None:
        """The sub-command a mistyped word most likely meant (``reprot`` → ``report``, ``timezone`` → ``tz``)."""
        names = {n: s for s in self.subcommands for n in (s.name, *s.aliases)}
        close = difflib.get_close_matches(word, list(names), n=1, cutoff=SUGGEST_ABOVE)
        if close:
            return names[close[0]]
        shorter = [s for n, s in names.items() if 1 < len(n) < len(word) and _abbreviates(n, word)]
        return shorter[0] if len(shorter) == 1 else None

    def usage(self) -> str:
        lines = []
        if self.default is not None:
            lines.append(f"/{self.name} {self.default.usage}".rstrip())
        lines.extend(f"/{self.name} {s.usage}".rstrip() for s in self.subcommands)
        return "\n".join(lines)

    def help(self) -> Message:
        """Every sub-command in two aligned columns under a header: what to type, and what it does."""
        entries = []
        if self.default is not None:
            entries.append((f"/{self.name} {self.default.usage}".rstrip(), self.default.summary))
        entries.extend((f"/{self.name} {s.usage}".rstrip(), s.summary) for s in self.subcommands)
        entries.append((f"/{self.name} help", "this list"))
        rows = aligned([("Command", "What it does"), *entries])
        head = f"/{self.name} — {self.summary}"
        table: list[Inline] = []
        for i, (use, what) in enumerate(rows):
            table.extend((*(("\n",) if i else ()), Code(use), what))
        fallback = "\n".join(use + what for use, what in rows)
        return Message((Header(head), Section(tuple(table))), fallback=f"{head}\n{fallback}")


SUGGEST_ABOVE = 0.75
"""How alike a mistyped word and a sub-command must be (difflib's ratio) for a "did you mean"."""
COLUMN_LIMIT = 38
"""A usage longer than this puts its description on the next line, so one long usage cannot widen the table."""


def aligned(rows: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Rows of two columns, the first padded to one width so the second starts in one place (in monospace);
    a first column too long for it keeps its row and starts the second on a new line."""
    width = max((len(a) for a, _ in rows if len(a) <= COLUMN_LIMIT), default=COLUMN_LIMIT)
    out = []
    for first, second in rows:
        if len(first) > width:
            out.append((first, "\n" + " " * (width + 2) + second))
        else:
            out.append((first.ljust(width), "  " + second))
    return out


def _abbreviates(short: str, word: str) -> bool:
    """``tz`` for ``timezone``: the short name's letters appear in the word in order, from its first letter."""
    if short[0] != word[0]:
        return False
    rest = iter(word[1:])
    return all(letter in rest for letter in short[1:])


def split_words(text: str) -> list[str]:
    """Words with quotes honoured; an unbalanced quote is treated as literal text, never a crash."""
    try:
        return shlex.split(text)
    except ValueError:
        return text.split()


def usage_error(family: CommandFamily[AppT], problem: str, sub: Subcommand[AppT] | None = None) -> Reply:
    usage = f"/{family.name} {sub.usage}".rstrip() if sub else family.usage()
    text = rich(problem, "\n", "Usage: ", Code(usage))
    return Reply(Message((Section(text), Context(rich(f"Try /{family.name} help for every option."))),
                         fallback=f"{problem}\nUsage: {usage}"))


async def dispatch(app: AppT, family: CommandFamily[AppT], inv: Invocation) -> Reply:
    words = split_words(inv.text.strip())
    first = words[0].lower() if words else ""
    if first in {"help", "-h", "--help", "?"}:
        return Reply(family.help())
    sub = family.find(first) if first else None
    args = words[1:] if sub else words
    if sub is None:
        if family.default is None or (first and not family.takes_free_text):
            if not first:
                return Reply(family.help())
            unknown = f"Unknown sub-command `{words[0]}` for /{family.name}."
            meant = family.closest(first)
            if meant is not None:
                return usage_error(family, f"{unknown} Did you mean `/{family.name} {meant.name}`?", meant)
            if difflib.get_close_matches(first, ["help"], cutoff=SUGGEST_ABOVE):
                return usage_error(family, f"{unknown} Did you mean `/{family.name} help`?")
            return usage_error(family, unknown)
        sub = family.default
    if args and args[0].lower() in {"help", "--help", "-h"}:
        return Reply(Message.text(f"/{family.name} {sub.usage}".rstrip(), " — ", sub.summary))
    try:
        return await sub.handler(app, inv, args)
    except CommandError as err:
        meant = family.closest(first) if sub is family.default and first else None
        if meant is not None:  # free text the default could not use, spelled like a sub-command
            return usage_error(family, f"{err} Did you mean `/{family.name} {meant.name}`?", meant)
        if isinstance(err, Refusal):
            return Reply(Message.text(str(err)))
        return usage_error(family, str(err), sub)

