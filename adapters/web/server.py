"""The HTTP server of ``meridian serve``: health, metrics, and the routes chat adapters mount.

Store calls are synchronous, so whatever runs them blocks its event loop while the
database is slow or locked. Given a ``CoreLoop``, the server keeps two loops: the HTTP
loop accepts connections, reads bodies and answers ``/healthz`` and ``/metrics`` itself;
every other route's handler, the scheduler (APScheduler's asyncio scheduler, started
with a running loop) and the work after a Slack ack run on the core loop, in its own
thread. A locked database then stalls the core loop only, and ``/healthz`` answers from
the last database probe, which runs in a thread of its own (``DatabaseHealth``).
Without a ``CoreLoop`` (tests on one loop) everything runs on the server's loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import selectors
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from aiohttp import web

from bot.kernel import metrics
from bot.kernel.app import Meridian

log = logging.getLogger("meridian.web")

MERIDIAN_KEY = web.AppKey("meridian", Meridian)


@dataclass(frozen=True)
class AnswerBy:
    """A route whose caller must be answered within ``seconds`` (Slack: 3 s), whatever the core loop is doing.

    ``gate`` runs on the HTTP loop first and must not touch the store: it refuses what
    must be refused (a bad signature: 401) whatever the database does. When the core
    loop has not answered in time, the caller gets ``answer()`` and the handler goes on
    there, once, when the database lets it.
    """

    seconds: float
    gate: Callable[[web.Request], Awaitable[web.StreamResponse | None]]
    answer: Callable[[], web.StreamResponse]
    early: Callable[[web.Request], bool] = lambda _request: False
    """Whether the gate found that the caller waits for nothing the handler says (Slack: a command, an
    event, a click): then ``answer()`` goes back at once, from the HTTP loop, and the handler runs on
    the core loop after. Such an answer never waits behind the core loop's work (a fan-out's store
    calls, the work behind earlier acks)."""


ANSWER_BY = web.AppKey("answer_by", dict[str, AnswerBy])
"""Route (canonical path) → its deadline; route installers add to it."""
RouteInstaller = Callable[[web.Application, Meridian, Any], None]
TICK_SECONDS = 10
T = TypeVar("T")
DatabaseProbe = Callable[[], None]
"""Blocks until the database answered (or raises); ``storage.db.database_probe`` is the production one."""


class GiveWay:
    """The core loop gives way while the HTTP loop is answering: both share one interpreter (one runs
    at a time), and Slack times the answers, not the work behind them.

    The HTTP loop ``touch``es it as each deadline request comes in and is answered; before each of
    its iterations the core loop waits (``wait``, sleeping, so the HTTP loop has the interpreter)
    until the HTTP loop has been quiet for ``QUIET_SECONDS``, at most ``MAX_WAIT_SECONDS`` each time,
    so a steady stream of requests slows the core's work (a fan-out) down but never stops it.
    """

    QUIET_SECONDS = 0.003
    MAX_WAIT_SECONDS = 0.05

    def __init__(self) -> None:
        self._last = 0.0

    def touch(self) -> None:
        self._last = time.monotonic()

    def wait(self) -> None:
        started = time.monotonic()
        while (now := time.monotonic()) - self._last < self.QUIET_SECONDS and now - started < self.MAX_WAIT_SECONDS:
            time.sleep(0.001)


class _GivingWaySelector(selectors.DefaultSelector):
    """The core loop's selector: every loop iteration polls it once, so that is where it gives way."""

    def __init__(self, give_way: GiveWay) -> None:
        super().__init__()
        self._give_way = give_way

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        self._give_way.wait()
        return super().select(timeout)


class CoreLoop:
    """An event loop in its own thread for everything that touches the store.

    All the core's async state (chat sessions, pacing, the scheduler) lives on this one
    loop, as it did on the server's loop before: nothing is shared across loops.
    """

    def __init__(self, give_way: GiveWay | None = None) -> None:
        self.give_way = give_way or GiveWay()
        self.loop: asyncio.AbstractEventLoop = asyncio.SelectorEventLoop(_GivingWaySelector(self.give_way))
        self._thread = threading.Thread(target=self._run, name="meridian-core", daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def start(self) -> None:
        self._thread.start()

    def run(self, work: Coroutine[Any, Any, T]) -> Awaitable[T]:
        """``work`` scheduled on the core loop, awaitable from another loop."""
        return asyncio.wrap_future(asyncio.run_coroutine_threadsafe(work, self.loop))

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)


PROBE_EVERY_SECONDS = 2.0
PROBE_TIMEOUT_SECONDS = 1.0
"""A probe that has not answered by then counts as slow; the thread finishes it in the background."""
SLOW_SECONDS = 0.2
"""A probe that answered but took longer than this counts as slow."""


@dataclass
class ProbeResult:
    database: str
    """``ok``, ``slow`` (locked, timed out or late) or ``unreachable`` (refused, failing)."""
    seconds: float


class DatabaseHealth:
    """The database as last probed, every ``PROBE_EVERY_SECONDS``, from a thread of its own.

    ``/healthz`` reads the latest result and never waits on the database. One probe runs
    at a time: while one hangs on a lock no other starts, so threads never pile up.
    """

    def __init__(self, probe: DatabaseProbe, every: float = PROBE_EVERY_SECONDS,
                 timeout: float = PROBE_TIMEOUT_SECONDS) -> None:
        self._probe = probe
        self.every = every
        self.timeout = timeout
        self.last = ProbeResult("ok", 0.0)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="meridian-db-probe")
        self._running: asyncio.Future[None] | None = None
        self._task: asyncio.Task[None] | None = None

    async def check(self) -> ProbeResult:
        started = time.monotonic()
        if self._running is None or self._running.done():
            self._running = asyncio.wrap_future(self._pool.submit(self._probe))
        try:
            await asyncio.wait_for(asyncio.shield(self._running), self.timeout)
        except TimeoutError:
            result = ProbeResult("slow", time.monotonic() - started)
        except Exception as err:
            result = ProbeResult(_failure_kind(err), time.monotonic() - started)
            if result.database == "unreachable":
                log.warning("health check: database unreachable: %s", type(err).__name__)
        else:
            elapsed = time.monotonic() - started
            result = ProbeResult("slow" if elapsed > SLOW_SECONDS else "ok", elapsed)
        self._record(result)
        return result

    def _record(self, result: ProbeResult) -> None:
        if result.database == "slow" and self.last.database != "slow":
            log.warning("health check: the database is slow or locked (%.2f s)", result.seconds)
        self.last = result
        metrics.set_gauge("meridian_db_probe_seconds", result.seconds)
        metrics.set_gauge("meridian_db_up", 1 if result.database == "ok" else 0)
        if result.database == "slow":
            metrics.inc("meridian_db_slow_total")

    async def _keep_probing(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            await self.check()

    async def start(self) -> None:
        metrics.inc("meridian_db_slow_total", 0)  # shown at 0 from the start, as Prometheus expects a counter
        await self.check()
        self._task = asyncio.ensure_future(self._keep_probing())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
        self._pool.shutdown(wait=False, cancel_futures=True)


def _failure_kind(err: Exception) -> str:
    """SQLite's "database is locked" is a slow database, not a missing one."""
    return "slow" if "locked" in str(err).lower() or "busy" in str(err).lower() else "unreachable"


TICK_JOB = "meridian-tick"
WAKE_MARGIN = timedelta(milliseconds=20)
"""How long after an item's instant the early pass runs, so that the clock has surely reached it."""


def start_scheduler(app: Meridian, interval: float = TICK_SECONDS) -> Any:
    """APScheduler calls the engine's tick on an interval; the engine itself decides what is due.

    ``interval`` is the longest wait between passes: after each pass the next one is brought forward to the
    earliest pending item when that comes sooner, so a run-event poll due every 30 s runs on its instant,
    not up to ``interval`` later."""
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    scheduler = AsyncIOScheduler(timezone="UTC")

    async def tick() -> None:
        await app.engine.tick()
        wake_for_next_due(scheduler, app)

    scheduler.add_job(tick, "interval", seconds=interval, id=TICK_JOB, max_instances=1,
                      coalesce=True, misfire_grace_time=None, next_run_time=app.now())
    # Beside the tick, not in it: a long fan-out must not look like a dead worker.
    scheduler.add_job(app.engine.heartbeat, "interval", seconds=app.engine.settings.heartbeat.total_seconds(),
                      id="meridian-heartbeat", max_instances=1, coalesce=True, misfire_grace_time=None)
    scheduler.start()
    return scheduler


def wake_for_next_due(scheduler: Any, app: Meridian) -> None:
    """Bring the next pass forward to the earliest pending item when it falls before that pass.

    Only a future instant moves it: an item already due that this pass left (another worker holds it,
    or it waits for a retry) is met by the regular interval, never by a busy loop."""
    try:
        due = app.store.next_due_at()
    except Exception:  # the database is away: the interval's next pass retries and says so
        return
    job = scheduler.get_job(TICK_JOB)
    if due is None or job is None or job.next_run_time is None or due <= app.now():
        return
    wake = due + WAKE_MARGIN
    if wake < job.next_run_time:
        job.modify(next_run_time=wake)


def build_web_app(app: Meridian, settings: Any = None, with_scheduler: bool = False,
                  installers: list[RouteInstaller] | None = None, core: CoreLoop | None = None,
                  probe: DatabaseProbe | None = None) -> web.Application:
    web_app = web.Application(client_max_size=8 * 1024 * 1024)
    web_app[MERIDIAN_KEY] = app
    web_app[ANSWER_BY] = {}
    health = DatabaseHealth(probe or (lambda: _read_probe(app)))

    async def healthz(_request: web.Request) -> web.Response:
        """Liveness: 200 while the process serves, with the database as last probed.

        A slow or locked database still answers 200 (``"database": "slow"``): restarting
        the process would not unlock it. An unreachable one answers 503.
        """
        last = health.last
        if last.database == "unreachable":
            return web.json_response({"status": "unhealthy", "database": "unreachable"}, status=503)
        return web.json_response({"status": "ok", "database": last.database})

    async def metrics_view(_request: web.Request) -> web.Response:
        return web.Response(text=metrics.render(), content_type="text/plain", charset="utf-8",
                            headers={"X-Content-Type-Options": "nosniff"})

    @web.middleware
    async def count_requests(request: web.Request, handler: Any) -> web.StreamResponse:
        route = request.match_info.route.resource.canonical if request.match_info.route.resource else "unmatched"
        metrics.inc("meridian_http_requests_total", route=route)
        response: web.StreamResponse = await handler(request)
        return response

    web_app.middlewares.append(count_requests)
    if core is not None:
        web_app.middlewares.append(on_core_loop(core, health))
    web_app.router.add_get("/healthz", healthz)
    web_app.router.add_get("/metrics", metrics_view)
    for install in installers or []:
        install(web_app, app, settings)
    if core is not None:  # installers' start-ups and clean-ups run on the core loop, where their work lives
        startups, cleanups = list(web_app.on_startup), list(web_app.on_cleanup)
        web_app.on_startup.clear()
        web_app.on_cleanup.clear()
        web_app.on_cleanup.extend(_on(core, hook) for hook in cleanups)

        async def start_core(_web_app: web.Application) -> None:
            core.start()

        web_app.on_startup.append(start_core)
        web_app.on_startup.extend(_on(core, hook) for hook in startups)

    async def start_health(_web_app: web.Application) -> None:
        await health.start()

    async def stop_health(_web_app: web.Application) -> None:
        await health.stop()

    web_app.on_startup.append(start_health)
    web_app.on_cleanup.append(stop_health)
    if not with_scheduler:
        _beat_without_scheduler(web_app, app, core)
    if with_scheduler:
        async def begin_scheduler() -> Any:
            return start_scheduler(app)

        async def on_startup(_web_app: web.Application) -> None:
            web_app["scheduler"] = await (core.run(begin_scheduler()) if core is not None else begin_scheduler())

        async def on_cleanup(_web_app: web.Application) -> None:
            scheduler = web_app.get("scheduler")
            if scheduler is not None:
                if core is not None:
                    core.loop.call_soon_threadsafe(scheduler.shutdown, False)
                else:
                    scheduler.shutdown(wait=False)

        web_app.on_startup.append(on_startup)
        web_app.on_cleanup.append(on_cleanup)
    if core is not None:
        async def stop_core(_web_app: web.Application) -> None:
            core.stop()

        web_app.on_cleanup.append(stop_core)
    async def freeze(_web_app: web.Application) -> None:
        freeze_startup_heap()

    web_app.on_startup.append(freeze)
    return web_app


def freeze_startup_heap() -> None:
    """Leave what start-up built (modules, SQLAlchemy's and bolt's machinery: most of the heap) out of the
    garbage collector's full passes.

    A full pass scans every tracked object; over the whole start-up heap it took 150-200 ms here, during
    which neither loop runs, so whichever Slack acks were in flight waited that long (the p99 of a burst).
    Frozen, a full pass scans only what was made since: about 10-20 ms."""
    gc.collect()
    gc.freeze()


def _beat_without_scheduler(web_app: web.Application, app: Meridian, core: CoreLoop | None) -> None:
    """A web process without a scheduler beats all the same: work it took on (a Slack request acknowledged
    before its work ran) is taken over by another process only once its heartbeat stops."""
    async def keep_beating() -> None:
        while True:
            await asyncio.sleep(app.engine.settings.heartbeat.total_seconds())
            await app.engine.heartbeat()

    async def begin() -> asyncio.Task[None]:
        await app.engine.heartbeat()  # before the first request: nothing it takes looks abandoned
        return asyncio.ensure_future(keep_beating())

    async def start(_web_app: web.Application) -> None:
        web_app[BEATING] = await (core.run(begin()) if core is not None else begin())

    async def stop(_web_app: web.Application) -> None:
        task = web_app.get(BEATING)
        if task is not None:
            if core is not None:
                core.loop.call_soon_threadsafe(task.cancel)
            else:
                task.cancel()

    web_app.on_startup.append(start)
    web_app.on_cleanup.append(stop)


BEATING = web.AppKey("beating", asyncio.Task)
LOOP_ROUTES = frozenset({"/healthz", "/metrics"})
"""Answered on the HTTP loop itself; they never touch the database there."""


SLOW_DATABASE_ANSWER_SECONDS = 0.25
"""A route's deadline while the last probe found the database slow: its answer will not come sooner."""


def on_core_loop(core: CoreLoop, health: DatabaseHealth) -> Any:
    """Middleware: the body is read here, on the HTTP loop; the handler then runs on the core loop.

    The handler finds the body already read (``request.read()`` keeps it), so it never
    touches the connection's stream from the other loop; its response is plain data
    that the HTTP loop writes.
    """
    answered_early = AnsweredEarly(core)

    @web.middleware
    async def hand_over(request: web.Request, handler: Any) -> web.StreamResponse:
        resource = request.match_info.route.resource
        if resource is not None and resource.canonical in LOOP_ROUTES:
            response: web.StreamResponse = await handler(request)
            return response
        deadline = request.app[ANSWER_BY].get(resource.canonical) if resource is not None else None
        if deadline is None:
            if request.body_exists:
                await request.read()  # bounded by client_max_size: 413 past it
            handed: web.StreamResponse = await core.run(handler(request))
            return handed
        with answered_early.answering():
            if request.body_exists:
                await request.read()
            refused = await deadline.gate(request)
            if refused is not None:
                return refused
            if deadline.early(request):
                answered_early.hand_over(handler(request))
                return deadline.answer()
        running = core.run(handler(request))
        seconds = deadline.seconds if health.last.database == "ok" else \
            min(deadline.seconds, SLOW_DATABASE_ANSWER_SECONDS)
        try:
            in_time: web.StreamResponse = await asyncio.wait_for(asyncio.shield(running), seconds)
        except TimeoutError:
            route = resource.canonical if resource is not None else "?"
            metrics.inc("meridian_answered_before_core_total", route=route)
            log.warning("%s answered before the core loop could (the database is slow?); the work goes on there",
                        route)
            asyncio.ensure_future(running).add_done_callback(_log_late_failure)
            return deadline.answer()
        return in_time

    return hand_over


class AnsweredEarly:
    """Handlers of requests answered early go to the core loop once the HTTP loop has answered every
    request of the burst, not one by one between them.

    Both loops share one interpreter: a handler started on the core loop while the HTTP loop still
    answers a burst (bolt's dispatch of each of 50 commands) competes with those answers for it, and
    the last acks of the burst wait. Handed over together once no deadline request is in flight (or
    after ``MAX_HOLD_SECONDS`` under a steady stream), they run after the acks, not between them.
    """

    MAX_HOLD_SECONDS = 0.5

    def __init__(self, core: CoreLoop) -> None:
        self._core = core
        self._in_flight = 0
        self._held: list[Coroutine[Any, Any, Any]] = []
        self._held_since = 0.0

    @contextlib.contextmanager
    def answering(self) -> Iterator[None]:
        self._in_flight += 1
        self._core.give_way.touch()
        try:
            yield
        finally:
            self._in_flight -= 1
            self._core.give_way.touch()
            if self._held and (self._in_flight == 0 or
                               time.monotonic() - self._held_since > self.MAX_HOLD_SECONDS):
                asyncio.get_running_loop().call_soon(self._release)

    def hand_over(self, work: Coroutine[Any, Any, Any]) -> None:
        if not self._held:
            self._held_since = time.monotonic()
        self._held.append(work)

    def _release(self) -> None:
        held, self._held = self._held, []
        for work in held:
            asyncio.ensure_future(self._core.run(work)).add_done_callback(_log_late_failure)


def _log_late_failure(done: asyncio.Future[Any]) -> None:
    if not done.cancelled() and done.exception() is not None:
        log.error("work answered before it ran failed: %s", type(done.exception()).__name__,
                  exc_info=done.exception())


def _on(core: CoreLoop, hook: Callable[[web.Application], Awaitable[object]]) \
        -> Callable[[web.Application], Awaitable[None]]:
    async def run_there(web_app: web.Application) -> None:
        await core.run(_call(hook, web_app))

    return run_there


async def _call(hook: Callable[[web.Application], Awaitable[object]], web_app: web.Application) -> None:
    await hook(web_app)


def _read_probe(app: Meridian) -> None:
    """The probe without a storage-level one (tests on the in-memory store): one store read."""
    app.store.get_workspace("_health")
