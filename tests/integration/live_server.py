"""A server of ours on a loopback port, run by an event loop in its own thread.

Property-based tests (Hypothesis) and schemathesis are synchronous; the servers they
probe are asyncio. ``LiveLoop`` keeps one loop running for a whole test module, so the
real harnesses (``SlackHarness``, ``TeamsWorld``, the webhook routes) start once and
every generated request is a real HTTP request from the test's thread.
"""

from __future__ import annotations

import asyncio
import http.client
import threading
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import urlsplit

T = TypeVar("T")


class LiveLoop:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="live-server", daemon=True)
        self._thread.start()

    def run(self, work: Awaitable[T], timeout: float = 60) -> T:
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(timeout)  # type: ignore[arg-type]

    def call(self, fn: Callable[[], T], timeout: float = 60) -> T:
        """Run ``fn`` on the loop's thread (the server's own database connections live there)."""
        async def wrapper() -> T:
            return fn()

        return self.run(wrapper(), timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


def request(base: str, method: str, path: str, body: bytes = b"",
            headers: Mapping[str, str] | None = None, timeout: float = 30) -> tuple[int, str]:
    """One raw HTTP request (any bytes, any header values); the status and the body as text."""
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=timeout)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for name, value in (headers or {}).items():
            conn.putheader(name, value.encode("latin-1", "replace"))
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        response = conn.getresponse()
        data: Any = response.read()
        return response.status, data.decode("utf-8", "replace")
    finally:
        conn.close()
