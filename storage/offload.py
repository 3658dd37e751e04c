"""Store calls run off the event loop, for a database across the network (``Store.off_loop``).

A bounded pool of threads, each call with a deadline: a hung statement holds one thread, never
the loop, and a database that stops answering turns into the outage every caller already
handles (the engine and the outbox hand their work back at the next pass), not a wait for ever.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from bot.kernel import metrics
from storage.db import DatabaseUnavailable

log = logging.getLogger("meridian.storage")

T = TypeVar("T")

STORE_THREADS = 6
"""Calls waiting on the database at once; below the engine's connection pool (5 + 5 overflow), which the
core loop's own calls and the health probe share."""
STORE_CALL_SECONDS = 15.0
"""A call that has not answered by then is an outage for its caller; the thread finishes it in the background."""


class _PoolThread(threading.local):
    in_pool = False
    """Whether the current thread is one of the pool's."""


class BlockingCalls:
    """Runs blocking functions on a pool of ``threads``, each awaited for at most ``timeout`` seconds."""

    def __init__(self, threads: int = STORE_THREADS, timeout: float = STORE_CALL_SECONDS,
                 pause: Callable[[], None] | None = None) -> None:
        self.threads = threads
        self.timeout = timeout
        self.pause = pause
        """Called on the thread before each call: ``meridian serve`` waits there while its HTTP loop answers a
        burst of Slack requests (the threads share one interpreter with it, and Slack times the acks)."""
        self._pool: ThreadPoolExecutor | None = None
        self._made = threading.Lock()
        self._here = _PoolThread()

    def between_statements(self) -> None:
        """Before each statement a call of this pool runs: wait for ``pause`` again, as before the call itself.

        A call is several statements, each a round trip after which its thread wants the interpreter back;
        waiting here as well lets a burst of acks have it within one statement, not one whole call.
        Anywhere else (the core loop, which gives way on its own) it does nothing.
        """
        if self.pause is not None and self._here.in_pool:
            self.pause()

    def _executor(self) -> ThreadPoolExecutor:
        with self._made:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="meridian-store")
            return self._pool

    async def run(self, call: Callable[[], T]) -> T:
        running = asyncio.wrap_future(self._executor().submit(self._after_pause, call))
        try:
            return await asyncio.wait_for(running, self.timeout)
        except TimeoutError:
            metrics.inc("meridian_store_call_timeouts_total")
            log.warning("a store call did not answer within %g s; its work is retried", self.timeout)
            raise DatabaseUnavailable(f"the database did not answer within {self.timeout:g} s") from None

    def _after_pause(self, call: Callable[[], T]) -> T:
        self._here.in_pool = True
        if self.pause is not None:
            self.pause()
        return call()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
