"""A worker process for the crash and concurrency tests.

It runs the real engine against the database named on the command line, with a chat
port that appends each message, with its outbox key, to a file (the "platform").
``--die-after N`` kills the process abruptly (SIGKILL, no cleanup) when the N+1th
message is about to be sent; ``--die-after-send N`` kills it right after the platform
took the Nth message, before the outbox could record it. ``--no-confirm`` takes away
the port's ``find_sent``, as for a platform that cannot look back.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.bootstrap import build_core
from bot.kernel.clock import SimulatedClock
from bot.kernel.domain import Member
from bot.kernel.messages import Form, Message
from bot.kernel.ports import Posted, Profile
from storage.kernel.repo import SqlStore


class FilePlatform:
    """Lines ``dm MEMBER ID KEY TEXT`` and ``post CHANNEL THREAD ID KEY``, appended and fsynced."""

    platform = "console"

    def __init__(self, path: str, die_after: int | None, die_after_send: int | None = None) -> None:
        self.path = path
        self.die_after = die_after
        self.die_after_send = die_after_send
        self.sent = 0

    def _append(self, line: str) -> str:
        if self.die_after is not None and self.sent >= self.die_after:
            os.kill(os.getpid(), signal.SIGKILL)
        message_id = f"{os.getpid()}.{self.sent + 1}"
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, (line.replace("{id}", message_id) + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        self.sent += 1
        if self.die_after_send is not None and self.sent >= self.die_after_send:
            os.kill(os.getpid(), signal.SIGKILL)  # the platform has it; the outbox never hears back
        return message_id

    async def post(self, workspace: str, channel: str, message: Message, thread: str | None = None, *,
                   key: str | None = None) -> Posted:
        return Posted(channel, self._append(f"post {channel} {thread or '-'} {{id}} {key or '-'}"))

    async def update(self, workspace: str, posted: Posted, message: Message) -> None:
        return None

    async def dm(self, member: Member, message: Message, *, key: str | None = None) -> Posted:
        return Posted(f"@{member.id}", self._append(f"dm {member.id} {{id}} {key or '-'} {message.fallback[:40]}"))

    async def ephemeral(self, member: Member, channel: str, message: Message) -> None:
        return None

    async def open_form(self, member: Member, form: Form, trigger: str | None) -> bool:
        return False

    async def profile(self, member: Member) -> Profile | None:
        return None


class ConfirmingFilePlatform(FilePlatform):
    """The platform that can look back (``ConfirmsDelivery``): it finds a message by its key."""

    async def find_sent(self, workspace: str, key: str, target: Posted | Member | str,
                        since: datetime) -> Posted | None:
        """The line written under ``key`` (the file keeps no times, so ``since`` is not needed)."""
        log = Path(self.path)
        for line in log.read_text().splitlines() if log.exists() else []:
            kind, where, *rest = line.split()
            if kind == "dm" and isinstance(target, Member) and where == target.id and rest[1] == key:
                return Posted(f"@{where}", rest[0])
            if kind == "post" and not isinstance(target, Member) and rest[2] == key:
                return Posted(where, rest[1])
        return None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("db")
    parser.add_argument("platform_log")
    parser.add_argument("now")
    parser.add_argument("--die-after", type=int)
    parser.add_argument("--die-after-send", type=int)
    parser.add_argument("--no-confirm", action="store_true")
    parser.add_argument("--start-at", type=float, help="wall-clock time.time() to start at (to line workers up)")
    parser.add_argument("--name", default=f"w{os.getpid()}")
    args = parser.parse_args()
    store = SqlStore.from_url(args.db, create=False)
    clock = SimulatedClock(datetime.fromisoformat(args.now))
    platform = FilePlatform if args.no_confirm else ConfirmingFilePlatform
    chat: Any = platform(args.platform_log, args.die_after, args.die_after_send)
    app = build_core(store, clock, {"console": chat}, worker=args.name)
    app.engine.batch = 50
    if args.start_at:
        time.sleep(max(0.0, args.start_at - time.time()))
    handled = asyncio.run(app.engine.tick())
    print(f"handled={handled} sent={chat.sent}")


if __name__ == "__main__":
    main()
