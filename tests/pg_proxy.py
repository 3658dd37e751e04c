"""A TCP proxy in front of PostgreSQL: added round-trip time, and a server "restart", without touching the server.

The PostgreSQL server is shared and must never be restarted, so the fault tests and the
latency benchmarks put this in front of it instead:

- ``rtt_ms``: every chunk of bytes is held for half the added round trip in each
  direction, so a query and its answer cross the proxy with the whole added RTT (2 ms
  RTT = 1 ms each way). Each direction keeps its byte order; this delays, it does not
  throttle.
- ``restart(seconds)``: what a restarting server does to its clients. Every open
  connection is cut, new ones are refused (nothing listens on the port) for ``seconds``,
  then the proxy accepts again and each new connection reaches the server afresh.

In a test, on an event loop (the test's, or one in a thread of its own)::

    async with PgProxy.before(database_url, rtt_ms=2) as proxy:
        url = proxy.url            # the same database, through the proxy
        await proxy.restart(3.0)

In a benchmark, as a child process, so that its work is not counted as the benchmark's::

    with scratch_database() as url, proxied(url, rtt_ms=2) as proxy:
        run(proxy.url)             # a new migrated database, reached through the proxy; dropped after
        proxy.restart(3.0)         # returns once connections are cut; accepting again ``seconds`` later
        proxy.added_rtt_ms()       # the round trip it really adds (timer granularity adds a little)

or from a shell: ``python -m tests.pg_proxy --rtt-ms 2 --upstream 127.0.0.1:5432``, which prints the
address it listens on and then reads commands on stdin (``restart SECONDS``, ``down``, ``up``; end of input
stops it).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from storage.db import normalise_url

ROOT = Path(__file__).resolve().parent.parent
ADMIN_URL = os.environ.get("MERIDIAN_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
"""The shared server's maintenance database, as the test suite names it (``tests/conftest.py``)."""
CHUNK = 65536


def via(database_url: str, host: str, port: int) -> str:
    """``database_url`` with its server address replaced (the password kept: it is handed to a driver)."""
    return (
        make_url(normalise_url(database_url)).set(host=host, port=port).render_as_string(hide_password=False)
    )


def upstream_of(database_url: str) -> tuple[str, int]:
    url = make_url(normalise_url(database_url))
    return url.host or "127.0.0.1", url.port or 5432


class _Link:
    """One client connection and its connection to the server."""

    def __init__(self, client: asyncio.StreamWriter, server: asyncio.StreamWriter) -> None:
        self.client = client
        self.server = server

    def cut(self) -> None:
        for side in (self.client, self.server):
            side.transport.abort()


class PgProxy:
    """Forwards ``host:port`` (port 0: any free one) to ``upstream``, with ``rtt_ms`` of added round trip."""

    def __init__(
        self,
        upstream: tuple[str, int] = ("127.0.0.1", 5432),
        rtt_ms: float = 0.0,
        host: str = "127.0.0.1",
        port: int = 0,
        database_url: str | None = None,
    ) -> None:
        self.upstream = upstream
        self.one_way = max(0.0, rtt_ms) / 2000
        self.host = host
        self.port = port
        self._database_url = database_url
        self._server: asyncio.Server | None = None
        self._links: set[_Link] = set()
        self._handlers: set[asyncio.Task[None]] = set()
        self.accepted = 0
        self.refused = 0

    @classmethod
    def before(cls, database_url: str, rtt_ms: float = 0.0) -> PgProxy:
        """A proxy in front of the server ``database_url`` names; its ``url`` names the same database through it."""
        return cls(upstream_of(database_url), rtt_ms, database_url=database_url)

    @property
    def url(self) -> str:
        if self._database_url is None:
            raise ValueError("this proxy was not built from a database URL (PgProxy.before)")
        return via(self._database_url, self.host, self.port)

    @property
    def open_connections(self) -> int:
        return len(self._links)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, self.host, self.port)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        self._stop_listening()
        self.cut()
        await asyncio.gather(*self._handlers, return_exceptions=True)  # each ends once its sockets are closed

    async def __aenter__(self) -> PgProxy:
        await self.start()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    def cut(self) -> int:
        """Drop every open connection at once (no goodbye); returns how many there were."""
        links = list(self._links)
        for link in links:
            link.cut()
        self._links.clear()
        return len(links)

    async def restart(self, down_seconds: float) -> int:
        """Cut every connection, refuse new ones for ``down_seconds``, then accept again; returns how many were cut."""
        cut = self.go_down()
        await asyncio.sleep(down_seconds)
        await self.start()
        return cut

    def go_down(self) -> int:
        """The first half of a restart: stop listening (new connections are refused) and cut the open ones."""
        self._stop_listening()
        return self.cut()

    def _stop_listening(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None

    async def _accept(self, client_reader: asyncio.StreamReader, client: asyncio.StreamWriter) -> None:
        try:
            server_reader, server = await asyncio.open_connection(*self.upstream)
        except OSError:
            self.refused += 1
            client.transport.abort()
            return
        self.accepted += 1
        link = _Link(client, server)
        self._links.add(link)
        handler = asyncio.current_task()
        if handler is not None:
            self._handlers.add(handler)
        try:
            await asyncio.gather(self._pump(client_reader, server), self._pump(server_reader, client))
        finally:
            self._links.discard(link)
            if handler is not None:
                self._handlers.discard(handler)
            link.cut()

    async def _pump(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        """Copy one direction; with a delay, each chunk is written ``one_way`` after it was read, in order."""
        loop = asyncio.get_running_loop()
        last = 0.0
        try:
            while data := await source.read(CHUNK):
                if self.one_way <= 0:
                    sink.write(data)
                    await sink.drain()
                    continue
                last = max(
                    loop.time() + self.one_way, last + 1e-9
                )  # strictly later: the timer keeps the order
                loop.call_at(last, _write, sink, data)
        except (ConnectionError, OSError):
            pass
        if self.one_way > 0:
            loop.call_at(max(loop.time() + self.one_way, last + 1e-9), _close, sink)
        else:
            _close(sink)


def _write(sink: asyncio.StreamWriter, data: bytes) -> None:
    if not sink.is_closing():
        sink.write(data)


def _close(sink: asyncio.StreamWriter) -> None:
    if not sink.is_closing():
        sink.close()


class ProxyProcess:
    """A ``PgProxy`` in a child process (``proxied``): its address, and the restart command."""

    def __init__(self, process: subprocess.Popen[str], database_url: str) -> None:
        self.process = process
        assert process.stdout is not None
        host, _, port = process.stdout.readline().strip().rpartition(":")
        if not port.isdigit():
            raise RuntimeError("the PostgreSQL proxy did not start")
        self.host, self.port = host, int(port)
        self.url = via(database_url, self.host, self.port)
        self._direct = database_url

    def restart(self, down_seconds: float) -> int:
        """Cut every connection now and refuse new ones for ``down_seconds``; returns how many were cut."""
        return int(self._command(f"restart {down_seconds}").split()[1])  # "cut N"

    def down(self) -> int:
        """Cut every connection and refuse new ones until ``up()``; returns how many were cut."""
        return int(self._command("down").split()[1])

    def up(self) -> None:
        """Accept connections again (returns once the proxy listens)."""
        self._command("up")

    def _command(self, line: str) -> str:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()
        return self.process.stdout.readline().strip()

    def added_rtt_ms(self, samples: int = 200) -> float:
        """The round trip the proxy adds, measured: ``SELECT 1`` through it against the server directly."""
        return round_trip_ms(self.url, samples) - round_trip_ms(self._direct, samples)

    def close(self) -> None:
        if self.process.stdin is not None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()  # end of input: the proxy stops
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@contextlib.contextmanager
def proxied(database_url: str, rtt_ms: float = 0.0) -> Iterator[ProxyProcess]:
    """``database_url``'s server behind a proxy in a child process, for as long as the block runs."""
    host, port = upstream_of(database_url)
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.pg_proxy", "--upstream", f"{host}:{port}", "--rtt-ms", str(rtt_ms)],
        cwd=str(ROOT),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        bufsize=1,
    )
    proxy = ProxyProcess(process, database_url)
    try:
        yield proxy
    finally:
        proxy.close()


def round_trip_ms(database_url: str, samples: int = 200) -> float:
    """The mean time of one ``SELECT 1`` on an open connection, in milliseconds."""
    engine = create_engine(normalise_url(database_url))
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
            started = time.perf_counter()
            for _ in range(samples):
                conn.exec_driver_sql("SELECT 1")
            return (time.perf_counter() - started) / samples * 1000
    finally:
        engine.dispose()


@contextlib.contextmanager
def scratch_database(admin_url: str = ADMIN_URL) -> Iterator[str]:
    """A new database on the server, migrated to the current schema, dropped (with its connections) afterwards."""
    from storage.migrate import upgrade

    name = f"meridian_scratch_{uuid.uuid4().hex[:10]}"
    admin = create_engine(normalise_url(admin_url), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(normalise_url(admin_url)).set(database=name).render_as_string(hide_password=False)
        upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


async def _serve(upstream: tuple[str, int], rtt_ms: float, port: int) -> None:
    proxy = PgProxy(upstream, rtt_ms, port=port)
    await proxy.start()
    print(f"{proxy.host}:{proxy.port}", flush=True)
    restarting: set[asyncio.Task[None]] = set()
    while line := await asyncio.to_thread(sys.stdin.readline):
        command, *rest = line.split() or [""]
        if command == "restart" and rest:
            print(f"cut {proxy.go_down()}", flush=True)
            task = asyncio.create_task(_back_after(proxy, float(rest[0])))
            restarting.add(task)
            task.add_done_callback(restarting.discard)
        elif command == "down":
            print(f"cut {proxy.go_down()}", flush=True)
        elif command == "up":
            await proxy.start()
            print("up", flush=True)
        elif command:
            print(
                f"unknown command {command!r}; known: restart SECONDS, down, up", file=sys.stderr, flush=True
            )
    await proxy.stop()


async def _back_after(proxy: PgProxy, seconds: float) -> None:
    await asyncio.sleep(seconds)
    await proxy.start()


def main() -> None:
    parser = argparse.ArgumentParser(
        description="A TCP proxy in front of PostgreSQL with added latency and "
        "simulated restarts (commands on stdin: restart SECONDS, down, up)."
    )
    parser.add_argument(
        "--upstream", default="127.0.0.1:5432", help="the server, HOST:PORT (default: %(default)s)"
    )
    parser.add_argument("--rtt-ms", type=float, default=0.0, help="added round-trip time in milliseconds")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (default: any free one)")
    args = parser.parse_args()
    host, _, port = args.upstream.rpartition(":")
    asyncio.run(_serve((host, int(port)), args.rtt_ms, args.port))


if __name__ == "__main__":
    main()
