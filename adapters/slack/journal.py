"""Requests acknowledged to Slack before the database recorded them: a local, append-only file.

Slack is answered before a command's, an event's or a click's work runs, and before the
database has recorded the request (that write would put the database's latency, or its
lock, in front of every ack). In between, the request lives only here: one line written
with a single ``write`` before the ack, which the operating system keeps even if the
process is killed the next instant. Once the database holds the request (as owed work,
``SlackRepo.claim_event``) the line is no longer needed; when no line is, the file is
emptied.

Each process writes a file of its own and holds an exclusive ``flock`` on it while it
lives. A file nobody holds belongs to a process that died: the next process to start
(``orphans``) records its requests in the database and deletes it. What this does not
survive is the machine's disk itself (a container's ephemeral disk replaced on restart):
there only the database, a few milliseconds after the ack, keeps the request.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger("meridian.slack")

SUFFIX = ".jsonl"


@dataclass(frozen=True)
class Held:
    """A request as the journal keeps it."""

    key: str
    workspace: str
    body: dict[str, Any]
    received_at: float


class Journal:
    """This process's journal file in ``directory``; safe to use from the HTTP loop and the core loop at once."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.path = directory / f"{uuid.uuid4().hex}{SUFFIX}"
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._held: set[str] = set()
        self._lock = threading.Lock()

    def hold(self, entry: Held) -> None:
        """Write the request down (one ``write``; no ``fsync``: a killed process, not a lost disk)."""
        line = json.dumps({"key": entry.key, "workspace": entry.workspace, "body": entry.body,
                           "at": entry.received_at}, separators=(",", ":")) + "\n"
        with self._lock:
            if entry.key in self._held:
                return
            os.write(self._fd, line.encode("utf-8"))
            self._held.add(entry.key)

    def release(self, key: str) -> None:
        """The database holds the request now (or knew it already)."""
        with self._lock:
            self._held.discard(key)
            if not self._held:
                os.ftruncate(self._fd, 0)

    def orphans(self) -> Iterator[tuple[Path, list[Held]]]:
        """The files of processes that died, with what they held; delete each with ``forget`` once recorded."""
        for path in sorted(self.directory.glob(f"*{SUFFIX}")):
            if path == self.path:
                continue
            try:
                fd = os.open(path, os.O_RDONLY)
            except FileNotFoundError:  # another process adopted it meanwhile
                continue
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:  # its process is alive
                    continue
                with open(fd, "rb", closefd=False) as file:
                    entries = list(_entries(file.read()))
                yield path, entries
            finally:
                os.close(fd)

    @staticmethod
    def forget(path: Path) -> None:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()

    def close(self) -> None:
        with self._lock:
            os.close(self._fd)
            if not self._held:
                self.forget(self.path)


def _entries(raw: bytes) -> Iterator[Held]:
    for line in raw.splitlines():
        try:
            data = json.loads(line)
            yield Held(str(data["key"]), str(data["workspace"]), dict(data["body"]), float(data["at"]))
        except (ValueError, KeyError, TypeError):  # a line cut short by a lost disk: nothing to recover
            log.warning("an unreadable line in a Slack journal was skipped")
