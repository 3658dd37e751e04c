"""The one HTTP client every source adapter uses: timeouts, error translation, fail-fast.

Every call has a timeout. A connection error, a timeout or a 5xx becomes
``SourceUnavailable``; after one, further calls to the same source fail at once for a
short while, so a source that times out on every call costs one timeout per digest,
not one per call. 4xx answers are returned to the adapter, which knows what a 404 means.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Mapping
from typing import Any

import aiohttp

from bot.digests.sources import SourceUnavailable

log = logging.getLogger("meridian.sources")

FAIL_FAST_SECONDS = 30.0
KEEPALIVE_SECONDS = 4.0


class HttpSource:
    def __init__(self, name: str, base_url: str, timeout: float, headers: Mapping[str, str] | None = None,
                 fail_fast: float = FAIL_FAST_SECONDS) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.headers = dict(headers or {})
        self.fail_fast = fail_fast
        self._down_until = 0.0
        self._last_error = ""
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _client(self) -> aiohttp.ClientSession:
        """One pooled session per event loop (the CLI, the server and tests each run their own loop)."""
        loop = asyncio.get_running_loop()
        if self._session is None or self._session.closed or self._loop is not loop:
            # Servers drop idle keep-alive connections after a few seconds (uvicorn: 5 s); let ours go first.
            connector = aiohttp.TCPConnector(keepalive_timeout=KEEPALIVE_SECONDS)
            self._session = aiohttp.ClientSession(headers=self.headers, timeout=self.timeout, connector=connector,
                                                  json_serialize=json.dumps)
            self._loop = loop
        return self._session

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def call(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                   body: Any = None) -> tuple[int, Any]:
        """``(status, parsed JSON)`` for 2xx and 4xx answers; ``SourceUnavailable`` for everything else."""
        if time.monotonic() < self._down_until:
            raise SourceUnavailable(self.name, self._last_error)
        for attempt in (1, 2):
            try:
                return await self._request(method, path, params, body)
            except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as err:
                stale = not isinstance(err, aiohttp.ClientConnectorError)
                if attempt == 1 and stale:
                    continue  # a pooled connection the server had already closed: one fresh attempt (all reads)
                self._mark_down(f"{type(err).__name__}: {err}")
                raise SourceUnavailable(self.name, self._last_error) from None
        raise AssertionError("unreachable")

    async def _request(self, method: str, path: str, params: Mapping[str, Any] | None, body: Any) -> tuple[int, Any]:
        url = f"{self.base_url}{path}"
        try:
            async with self._client().request(method, url, params=params, json=body) as resp:
                text = await resp.text()
                if resp.status >= 500:
                    raise SourceUnavailable(self.name, f"HTTP {resp.status} from {path}")
                try:
                    payload = json.loads(text) if text else None
                except ValueError:
                    if resp.status < 300:
                        raise SourceUnavailable(self.name, f"answer from {path} is not JSON") from None
                    payload = {"message": text[:200]}
                return resp.status, payload
        except SourceUnavailable as err:
            self._mark_down(err.reason)
            raise
        except TimeoutError:
            self._mark_down(f"timed out after {self.timeout.total:g}s")
            raise SourceUnavailable(self.name, self._last_error) from None
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError):
            raise
        except aiohttp.ClientError as err:
            self._mark_down(f"{type(err).__name__}: {err}")
            raise SourceUnavailable(self.name, self._last_error) from None

    async def ok(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                 body: Any = None, missing_ok: bool = False) -> Any:
        """The answer of a call that must succeed; ``None`` for a 404 when ``missing_ok``."""
        status, payload = await self.call(method, path, params=params, body=body)
        if status == 404 and missing_ok:
            return None
        if status >= 300:
            detail = payload.get("message") or payload.get("detail") if isinstance(payload, dict) else payload
            raise SourceUnavailable(self.name, f"HTTP {status} from {path}: {detail}")
        return payload

    def _mark_down(self, reason: str) -> None:
        self._last_error = reason
        self._down_until = time.monotonic() + self.fail_fast
        log.warning("%s unavailable: %s", self.name, reason)
