"""``Store.off_loop``: on PostgreSQL a store call waits on a thread of its own, never on the event loop, and one
that does not answer in time is an outage its caller already handles; on SQLite and inside a unit of work it
runs in place."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from bot.kernel import metrics
from bot.kernel.domain import Member, Workspace
from storage.db import DatabaseUnavailable
from storage.kernel.repo import SqlStore
from storage.offload import BlockingCalls


def _slow_read(store: SqlStore, seconds: float) -> tuple[str, Member | None]:
    """A store call that takes ``seconds`` (the database answering slowly), and the thread it ran on."""
    time.sleep(seconds)
    return threading.current_thread().name, store.get_member("T1", "ada")


async def _ticks_while(work: asyncio.Future[list[tuple[str, Member | None]]]) -> int:
    """How many 10 ms ticks the event loop ran while ``work`` was under way."""
    ticks = 0
    while not work.done():
        await asyncio.sleep(0.01)
        ticks += 1
    return ticks


def _with_ada(store: SqlStore) -> None:
    store.upsert_workspace(Workspace("T1", platform="console", name="t"))
    store.upsert_member(Member("T1", "ada", "Ada", tz="Europe/London"))


async def test_on_postgres_a_slow_call_leaves_the_loop_free_and_many_wait_at_once(postgres_url: str) -> None:
    store = SqlStore.from_url(postgres_url, create=False)
    try:
        _with_ada(store)
        assert store.calls is not None, "a database across the network gets a pool of its own"
        started = time.monotonic()
        work = asyncio.gather(*(store.off_loop(_slow_read, store, 0.3) for _ in range(4)))
        ticks = await _ticks_while(work)
        results = work.result()
        elapsed = time.monotonic() - started
        assert ticks >= 15, f"the loop ran only {ticks} ticks while the calls waited"
        assert elapsed < 1.0, f"four 0.3 s calls took {elapsed:.2f} s: they waited one after another"
        assert {name for name, _ in results} <= {f"meridian-store_{n}" for n in range(store.calls.threads)}
        assert all(member is not None and member.name == "Ada" for _, member in results)
    finally:
        store.engine.dispose()


async def test_a_call_past_its_deadline_is_an_outage_and_counted(postgres_url: str) -> None:
    store = SqlStore(SqlStore.from_url(postgres_url, create=False).engine, calls=BlockingCalls(threads=1, timeout=0.1))
    try:
        _with_ada(store)
        before = metrics.value("meridian_store_call_timeouts_total")
        with pytest.raises(DatabaseUnavailable, match=r"did not answer within 0.1 s") as raised:
            await store.off_loop(_slow_read, store, 0.5)
        assert store.outage(raised.value), "the engine and the outbox hand such work back at the next pass"
        assert metrics.value("meridian_store_call_timeouts_total") == before + 1
        await asyncio.sleep(0.5)  # the late call finishes in the background; the pool serves the next one
        assert (await store.off_loop(store.get_member, "T1", "ada")) is not None
    finally:
        store.engine.dispose()


async def test_inside_a_unit_of_work_the_call_runs_in_place_and_joins_it(postgres_url: str) -> None:
    store = SqlStore.from_url(postgres_url, create=False)
    try:
        _with_ada(store)
        with store.transaction():
            store.upsert_member(Member("T1", "bo", "Bo", tz="UTC"))
            name, _ = await store.off_loop(_slow_read, store, 0)
            seen = await store.off_loop(store.get_member, "T1", "bo")
        assert name == threading.current_thread().name
        assert seen is not None, "the call saw the unit of work's own uncommitted write"
    finally:
        store.engine.dispose()


async def test_on_sqlite_calls_run_in_place(sqlite_store: SqlStore) -> None:
    _with_ada(sqlite_store)
    assert sqlite_store.calls is None
    name, member = await sqlite_store.off_loop(_slow_read, sqlite_store, 0)
    assert name == threading.current_thread().name and member is not None


async def test_the_threads_wait_for_the_pause_meridian_serve_gives_them(postgres_url: str) -> None:
    """``meridian serve`` opens its store with the core loop's ``GiveWay.wait`` (``open_store(pause=…)``): each
    call off the loop first waits there while the HTTP loop answers a burst."""
    from adapters.web.server import GiveWay
    from bot.bootstrap import open_store

    give_way = GiveWay()
    store = open_store(postgres_url, pause=give_way.wait)
    try:
        _with_ada(store)
        assert store.calls is not None and store.calls.pause == give_way.wait
        answering_until = time.monotonic() + 0.03
        started = time.monotonic()

        async def keep_answering() -> None:  # the HTTP loop answering requests for 30 ms
            while time.monotonic() < answering_until:
                give_way.touch()
                await asyncio.sleep(0.001)

        answering = asyncio.ensure_future(keep_answering())
        await asyncio.sleep(0)
        member = await store.off_loop(store.get_member, "T1", "ada")
        waited = time.monotonic() - started
        await answering
        assert member is not None
        assert waited >= 0.03, f"the call went ahead after {waited * 1000:.0f} ms while the HTTP loop answered"
        assert waited < GiveWay.MAX_WAIT_SECONDS + 0.5, "a steady stream slows the store's work but never stops it"
    finally:
        store.engine.dispose()


async def test_the_threads_also_give_way_between_the_statements_of_a_call(postgres_url: str) -> None:
    """A call is several round trips; its thread waits for the pause before each statement too, so a burst of
    acks has the interpreter within one statement. Calls made in place (the core loop gives way on its own)
    never wait there."""
    from bot.bootstrap import open_store

    waits: list[str] = []
    store = open_store(postgres_url, pause=lambda: waits.append(threading.current_thread().name))
    try:
        _with_ada(store)
        assert waits == [], "a call in place does not wait for the pause"

        def two_reads() -> None:
            store.get_member("T1", "ada")
            store.get_workspace("T1")

        await store.off_loop(two_reads)
        assert len(waits) >= 3, "once before the call and once before each of its statements"
        assert all(name.startswith("meridian-store") for name in waits)
    finally:
        store.engine.dispose()


async def test_postgres_ends_a_statement_that_runs_past_the_statement_timeout(postgres_url: str) -> None:
    """A hung statement frees its thread and connection: the store's connections carry ``statement_timeout``
    (twice a caller's deadline), a migration's do not."""
    from sqlalchemy import exc, text

    from storage.db import STATEMENT_SECONDS, make_engine
    from storage.offload import STORE_CALL_SECONDS

    assert STATEMENT_SECONDS >= 2 * STORE_CALL_SECONDS
    store = SqlStore.from_url(postgres_url, create=False)
    quick = SqlStore(make_engine(postgres_url, statement_timeout=0.2))
    unbounded = make_engine(postgres_url, statement_timeout=None)
    try:
        with store.engine.connect() as c:
            assert c.execute(text("SHOW statement_timeout")).scalar() == f"{STATEMENT_SECONDS}s"
        with unbounded.connect() as c:
            assert c.execute(text("SHOW statement_timeout")).scalar() == "0"
        started = time.monotonic()
        with pytest.raises(exc.OperationalError) as raised, quick.engine.connect() as c:
            c.execute(text("SELECT pg_sleep(5)"))
        assert time.monotonic() - started < 2
        assert quick.outage(raised.value), "to its caller, a statement ended by the database is an outage"
        with quick.engine.connect() as c:  # the connection went back to the pool fit for the next call
            assert c.execute(text("SELECT 1")).scalar() == 1
    finally:
        for engine in (store.engine, quick.engine, unbounded):
            engine.dispose()
