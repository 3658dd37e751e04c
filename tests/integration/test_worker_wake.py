"""The worker's scheduler runs an item at its instant, not at the next pass of its interval.

``meridian worker --interval 10`` passes every 10 s; a run-event poll due every 30 s would otherwise run up
to 10 s after its instant, and a failed run's DM would miss its bound (``events.every`` + 5 s).
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from pathlib import Path

from adapters.web.server import TICK_JOB, start_scheduler
from bot.bootstrap import build_core, open_store
from bot.kernel.clock import SystemClock
from bot.kernel.domain import Workspace
from bot.kernel.ports import ClaimedItem, DueItem


async def test_an_item_due_before_the_next_pass_runs_on_its_instant(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'm.db'}")
    store.upsert_workspace(Workspace("w"))
    app = build_core(store, SystemClock(), {}, worker="test")
    ran: list[float] = []

    async def handler(_app: object, item: ClaimedItem) -> None:
        ran.append(time.monotonic())

    app.on_due("test.wake", handler)
    due = app.now() + timedelta(seconds=1.5)
    store.schedule([DueItem("test:wake", "test.wake", "w", due, {})])
    started = time.monotonic()
    scheduler = start_scheduler(app, interval=60)  # the regular passes: now, then a minute on
    try:
        while not ran and time.monotonic() - started < 10:
            await asyncio.sleep(0.05)
        assert ran, "the item waited for the next regular pass"
        assert 1.4 <= ran[0] - started <= 4.0
        # With nothing more pending, the next pass is the regular one again.
        await asyncio.sleep(0.2)
        job = scheduler.get_job(TICK_JOB)
        assert job.next_run_time - app.now() > timedelta(seconds=50)
    finally:
        scheduler.shutdown(wait=False)

