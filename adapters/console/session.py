"""The console session: a person (or a script) talking to Meridian in a terminal.

Script lines: ``:as MEMBER`` speak as someone (an id or a name; case and accents do not
matter); ``:advance 90m`` / ``:at 2027-03-15T13:00Z`` move the simulated clock, running
everything due on the way in order; ``:channel #name``, ``:dm`` and ``:thread [N]`` choose
where plain lines go; ``:press LABEL`` presses the newest button with that label in your DMs;
lines starting with ``/`` are commands; a line starting with ``#`` is a comment, and so is
`` # …`` after a directive; everything else is a message.

A script's lines are echoed into the transcript behind the prompt they were typed at
(``» ravi@DM> …``), so a reader sees who typed what where, between what Meridian said.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from typing import TextIO

from adapters.console.chat import ConsoleChat, ConsoleMessage
from adapters.console.render import render_text
from bot.kernel.app import Action, IncomingMessage, Meridian, not_a_member
from bot.kernel.clock import SimulatedClock
from bot.kernel.commands import Invocation, Reply
from bot.kernel.domain import Member
from bot.kernel.members import People
from bot.kernel.timekeeping import TimeInputError, parse_duration, parse_instant

HELP = """Console commands:
  :as MEMBER            speak as MEMBER, by id or name ({members})
  :channel #name        talk in a channel        :dm   talk to Meridian in your DM
  :thread               list the channel's threads and reply in the newest; :thread N  reply in the Nth
  :advance 90m | 2d     move the clock forward, running everything due on the way
  :at 2027-03-15T13:00Z move the clock to an instant
  :press LABEL          press the newest button with that label in your DMs
  :now                  show the simulated time      :quit   leave
  /standup help, /meridian help, ...   commands; anything else is a message
  # a comment (also after a directive: `:advance 2h  # to lunch`)"""

ECHO = "» "
"""Marks a script line echoed into the transcript, before the prompt it was typed at."""

ADVANCE_HELP = ("  :advance moves the clock forward by a duration, e.g. `:advance 90m` (or 2h, 1d, 1w); "
                "`:at 2027-03-15T13:00Z` jumps to an instant")
AT_HELP = ("  :at jumps the clock to an instant, e.g. `:at 2027-03-15T13:00Z`; "
           "`:advance 90m` moves it forward by a duration")

_TRAILING_COMMENT = re.compile(r"\s+#(\s.*)?$")


def _first_line(msg: ConsoleMessage) -> str:
    """What a thread is about: its parent's first line that is not a note in parentheses."""
    lines = [line.strip() for line in msg.text.splitlines() if line.strip()]
    return next((line for line in lines if not line.startswith("(")), lines[0] if lines else "")


def strip_comment(directive: str) -> str:
    """A directive without its trailing `` # comment`` (``:channel #ml-team`` keeps its channel)."""
    return _TRAILING_COMMENT.sub("", directive)


@dataclass(frozen=True)
class ThreadEntry:
    """A thread as `:thread` lists it: numbered oldest first, so a number stays put as new threads open."""

    number: int
    parent: ConsoleMessage
    replies: int


class ConsoleSession:
    def __init__(self, app: Meridian, chat: ConsoleChat, clock: SimulatedClock, workspace: str,
                 out: TextIO | None = None) -> None:
        self.app = app
        self.chat = chat
        self.clock = clock
        self.workspace = workspace
        self.out = out if out is not None else sys.stdout
        members = app.store.list_members(workspace)
        admins = [m for m in members if m.is_admin]
        self.member: Member | None = (admins or members)[0] if members else None
        standups = app.store.list_standups(workspace)
        self.channel = standups[0].channel if standups else "#general"
        self.mode = "channel"
        self.thread: str | None = None

    def say(self, text: str) -> None:
        print(text, file=self.out)

    def prompt(self) -> str:
        who = self.member.id if self.member else "?"
        where = "DM" if self.mode == "dm" else self.channel + (" ↳" if self.mode == "thread" else "")
        return f"{who}@{where}> "

    async def run_script(self, lines: TextIO) -> int:
        """Run every line; returns the number of lines that were errors."""
        errors = 0
        for raw in lines:
            line = raw.rstrip("\n")
            if line.strip():
                self.say(f"{ECHO}{self.prompt()}{line.strip()}")
            ok = await self.run_line(line)
            errors += 0 if ok else 1
            if ok is None:
                break
        return errors

    async def run_line(self, line: str) -> bool | None:
        """``True`` when the line worked, ``False`` on a mistake, ``None`` to quit."""
        line = line.strip()
        if not line or line.startswith("#"):
            return True
        if line.startswith(":"):
            return await self._directive(strip_comment(line))
        if self.member is None:
            self.say("! nobody to speak as; load a team file with members first")
            return False
        if line.startswith("/"):
            family, _, rest = line[1:].partition(" ")
            in_dm = self.mode == "dm"
            reply = await self.app.command(Invocation(self.workspace, self._fresh_member(), family, rest,
                                                      channel=None if in_dm else self.channel, platform="console"))
            await self._show(reply, in_dm)
            return True
        await self._message(line)
        return True

    def _fresh_member(self) -> Member:
        assert self.member is not None
        current = self.app.store.get_member(self.workspace, self.member.id)
        if current is None:  # forgotten: keep talking as a blank person
            return self.member
        self.member = current
        return current

    async def _message(self, text: str) -> None:
        member = self._fresh_member()
        if self.mode == "dm":
            self.chat.record(f"@{member.id}", member.name, text, member.tz)
            taken = await self.app.message(IncomingMessage(self.workspace, member, text, None, True))
            if not taken:
                hint = "I didn't catch that. Try /standup to answer your stand-up, or /meridian help."
                if not self.app.is_member(self.workspace, member):
                    hint = render_text(not_a_member())
                self.chat.record(f"@{member.id}", "Meridian", hint, member.tz)
            return
        thread = self.thread if self.mode == "thread" else None
        posted = self.chat.record(self.channel, member.name, text, member.tz, thread)
        await self.app.message(IncomingMessage(self.workspace, member, text, self.channel, False, thread, posted.id))

    async def _show(self, reply: Reply, in_dm: bool = False) -> None:
        """A reply goes where the command or button was used: a DM's stays in the DM (as on Slack and Teams)."""
        assert self.member is not None
        if reply.message is not None:
            if in_dm:
                self.chat.record(f"@{self.member.id}", "Meridian", render_text(reply.message), self.member.tz)
            elif reply.public:
                self.chat.record(self.channel, "Meridian", render_text(reply.message),
                                 self.chat.channel_zone(self.channel))
            else:
                self.chat.record(self.channel, f"Meridian (only {self.member.name} sees this)",
                                 render_text(reply.message), self.member.tz)
        if reply.form is not None:
            self.say(f"  (form `{reply.form.title}` — the console asks its questions in your DM instead)")

    async def _directive(self, line: str) -> bool | None:
        word, _, arg = line[1:].partition(" ")
        arg = arg.strip()
        word = word.lower()
        if word in {"quit", "exit", "q"}:
            return None
        if word == "help":
            ids = ", ".join(m.id for m in self.app.store.list_members(self.workspace))
            self.say(HELP.format(members=ids))
            return True
        if word == "as":
            return self._as(arg)
        if word == "channel":
            if not arg.startswith("#") or len(arg) < 2:
                self.say("! write the channel as #name")
                return False
            self.channel, self.mode, self.thread = arg, "channel", None
            return True
        if word == "dm":
            self.mode = "dm"
            return True
        if word == "thread":
            return self._enter_thread(arg)
        if word == "now":
            self.say(f"  now: {self.clock.now():%Y-%m-%d %H:%M}Z")
            return True
        if word in {"advance", "at"}:
            if not arg:
                self.say(ADVANCE_HELP if word == "advance" else AT_HELP)
                return True
            try:
                target = (self.clock.now() + parse_duration(arg)) if word == "advance" else parse_instant(arg)
            except TimeInputError as err:
                self.say(f"! {err}")
                return False
            if target < self.clock.now():
                self.say(f"! the clock only moves forward; it is {self.clock.now():%Y-%m-%d %H:%M}Z")
                return False
            await self.app.engine.advance_to(target, self.clock)
            self.say(f"  ⏱ now {self.clock.now():%Y-%m-%d %H:%M}Z")
            return True
        if word == "press":
            return await self._press(arg)
        self.say(f"! unknown directive :{word}; try :help")
        return False

    def _as(self, who: str) -> bool:
        members = self.app.store.list_members(self.workspace)
        ids = ", ".join(m.id for m in members)
        if not who:
            self.say(f"! say who to speak as: `:as ravi` (members: {ids})")
            return False
        found = People(members).find(who)
        if not isinstance(found, Member):
            self.say(f"! no member `{who}`: {found.reason} Members: {ids}")
            return False
        self.member = found
        return True

    def threads(self) -> list[ThreadEntry]:
        """The current channel's threads, oldest first: Meridian's posts and any post with replies."""
        top = [m for m in self.chat.in_channel(self.channel) if m.thread is None]
        replies: dict[str, int] = {}
        for m in self.chat.in_channel(self.channel):
            if m.thread is not None:
                replies[m.thread] = replies.get(m.thread, 0) + 1
        parents = [m for m in top if m.speaker == "Meridian" or m.id in replies]
        return [ThreadEntry(i, m, replies.get(m.id, 0)) for i, m in enumerate(parents, start=1)]

    def _list_threads(self, entries: list[ThreadEntry]) -> None:
        self.say(f"  threads in {self.channel} (`:thread N` to reply in one):")
        for e in entries:
            count = f"{e.replies} repl{'y' if e.replies == 1 else 'ies'}"
            self.say(f"  {e.number}. {e.parent.at:%a %d %b %H:%M}Z  {_first_line(e.parent)}  ({count})")

    def _enter_thread(self, arg: str) -> bool:
        entries = self.threads()
        if not entries:
            self.say(f"! there is no thread in {self.channel} yet")
            return False
        if not arg:
            self._list_threads(entries)
            chosen = entries[-1]
        else:
            number = int(arg) if arg.isdigit() else 0
            if not 1 <= number <= len(entries):
                self.say(f"! no thread `{arg}` in {self.channel}: give a number from 1 to {len(entries)} "
                         "(`:thread` lists them)")
                return False
            chosen = entries[number - 1]
        self.mode, self.thread = "thread", chosen.parent.id
        self.say(f"  ↳ replying in thread {chosen.number}: {_first_line(chosen.parent)}")
        return True

    async def _press(self, label: str) -> bool:
        member = self._fresh_member()
        if not label:
            newest = next((m for m in reversed(self.chat.in_channel(f"@{member.id}")) if m.buttons), None)
            shown = ", ".join(b.label for b in newest.buttons) if newest else "none yet"
            self.say(f"! say which button: `:press Answer` (in your newest DM: {shown})")
            return False
        for msg in reversed(self.chat.in_channel(f"@{member.id}")):
            for button in msg.buttons:
                if button.label.lower() == label.lower():
                    reply = await self.app.action(Action(self.workspace, member, button.action_id, button.value,
                                                         channel=self.channel))
                    if reply is not None and reply.form is not None:
                        # No forms in a terminal: the same questions come one at a time in the DM.
                        reply = await self.app.command(Invocation(self.workspace, member, "standup", "",
                                                                  channel=None, platform="console"))
                    if reply is not None:
                        await self._show(reply, in_dm=True)  # buttons are pressed in DMs
                    return True
        self.say(f"! no button `{label}` in your DMs")
        return False
