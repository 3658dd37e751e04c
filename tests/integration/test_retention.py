"""Retention: answers older than the configured period are deleted by the nightly job; newer ones stay."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from bot.kernel.ports import StandupRun

TEAM = "workspace: w\nmembers: [{id: a, tz: UTC}]\nstandups: [{name: d, channel: '#c'}]\n"


async def test_nightly_job_deletes_answers_past_the_retention_period(harness_factory: Any) -> None:
    h = harness_factory(datetime(2027, 3, 15, 0, 0, tzinfo=UTC))
    h.app.settings.retention_days = 30
    h.load(TEAM)
    old, recent = date(2027, 2, 1), date(2027, 3, 1)
    for day in (old, recent):
        h.store.save_run(StandupRun("w", "d", "a", day, "answered", ("x", "y", "none"),
                                    datetime.combine(day, datetime.min.time(), tzinfo=UTC)))
    await h.advance_to(datetime(2027, 3, 15, 3, 30, tzinfo=UTC))  # the job runs at 03:17 UTC
    kept = h.store.runs_between("w", "d", date(2027, 1, 1), date(2027, 3, 31))
    assert [r.day for r in kept] == [recent]
    assert h.store.due_status("retention:2027-03-15") == "done"


def test_a_bad_retention_setting_is_one_clear_line() -> None:
    import pytest

    from bot.settings import SettingsError, load_settings

    with pytest.raises(SettingsError, match="MERIDIAN_RETENTION_DAYS"):
        load_settings({"MERIDIAN_RETENTION_DAYS": "forever"}, dotenv=None)
    assert load_settings({"MERIDIAN_RETENTION_DAYS": "90"}, dotenv=None).retention_days == 90
    assert timedelta(days=load_settings({}, dotenv=None).retention_days) == timedelta(days=365)
