"""Retention (DESIGN §9): answers older than the configured number of days are deleted every night.

People's words are the sensitive part, so stand-up answers follow ``retention_days``; the
bookkeeping of scheduled work and sent messages is kept a month, long enough to explain what
happened and to keep keys from being re-planned, then dropped.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING

from bot.kernel.ports import ClaimedItem, DueItem
from bot.kernel.timekeeping import iso_z

if TYPE_CHECKING:
    from bot.kernel.app import Meridian

log = logging.getLogger("meridian.retention")

RUN_AT = time(3, 17)
"""A quiet minute in UTC, away from the hour marks where reminders cluster."""
BOOKKEEPING = timedelta(days=31)


def plan_retention(app: Meridian, start: datetime, end: datetime) -> list[DueItem]:
    items = []
    day = start.date()
    while day <= end.date():
        at = datetime.combine(day, RUN_AT, tzinfo=UTC)
        if start <= at < end:
            items.append(DueItem(f"retention:{day.isoformat()}", "retention.purge", "_system", at, {}))
        day += timedelta(days=1)
    return items


async def on_purge(app: Meridian, item: ClaimedItem) -> None:
    now = app.now()
    counts = app.store.purge(answers_before=(now - timedelta(days=app.settings.retention_days)).date(),
                   bookkeeping_before=now - BOOKKEEPING)
    log.info("retention at %s: %s", iso_z(now), counts)


class Retention:
    """The nightly purge of old answers and bookkeeping."""

    name = "retention"

    def install(self, app: Meridian) -> None:
        app.add_planner(plan_retention)
        app.on_due("retention.purge", on_purge)
