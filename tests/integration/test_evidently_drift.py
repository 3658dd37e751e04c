"""The drift digest against a real Evidently UI holding snapshots made by real Evidently reports."""

from __future__ import annotations

import json
import urllib.request
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest

from adapters.sources.factory import source_factory
from bot.kernel.domain import WEEKDAYS, Hours, Member
from bot.kernel.messages import Context, Link
from bot.kernel.ports import ClaimedItem
from bot.settings import Settings
from tests.digest_fakes import installed, make_app

pytestmark = pytest.mark.services

NOW = datetime.now(UTC).replace(microsecond=0)
ALWAYS_IN = Member("acme-ml", "alice", "Alice", hours=Hours(time(0), time(23, 59)),
                   workdays=frozenset(WEEKDAYS))
"""Whenever the test runs, Alice is at work, so the alert pings her (routing is tested elsewhere)."""


def frames(seed: int, age: float | None, tenure: float = 5) -> tuple[Any, Any]:
    """Reference and current data; with ``age`` None the current data is the reference itself (no drift)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    reference = pd.DataFrame({"age": rng.normal(40, 5, 400), "income": rng.normal(50, 10, 400),
                              "tenure": rng.normal(5, 1, 400)})
    if age is None:
        return reference.copy(), reference
    current = pd.DataFrame({"age": rng.normal(age, 5, 400), "income": rng.normal(50, 10, 400),
                            "tenure": rng.normal(tenure, 1, 400)})
    return current, reference


@pytest.fixture(scope="module")
def projects(evidently_ui: str) -> dict[str, str]:
    """``churn`` drifts more each day (none, then age, then age and tenure); ``ltv`` does not drift.

    ``tenure`` is compared with a distance (Wasserstein), the others with a p-value test (K-S).
    """
    from evidently import Report
    from evidently.presets import DataDriftPreset
    from evidently.ui.workspace import RemoteWorkspace

    workspace = RemoteWorkspace(evidently_ui)
    report = Report([DataDriftPreset(per_column_method={"tenure": "wasserstein"})])
    churn = workspace.create_project("churn")
    for days_ago, age, tenure in ((2, 40, 5), (1, 52, 5), (0, 55, 8)):
        current, reference = frames(days_ago, age, tenure)
        taken = (NOW - timedelta(days=days_ago, minutes=5)).replace(tzinfo=None)
        workspace.add_run(churn.id, report.run(current, reference, timestamp=taken), include_data=False)
    ltv = workspace.create_project("ltv")
    current, reference = frames(7, None)
    workspace.add_run(ltv.id, report.run(current, reference, timestamp=(NOW - timedelta(minutes=5)).replace(tzinfo=None)),
                      include_data=False)
    return {"churn": str(churn.id), "ltv": str(ltv.id)}


def team(url: str) -> dict[str, Any]:
    return {"sources": {"monitoring": [{"kind": "evidently", "url": url}],
                        "models": [{"name": "churn-model", "owner": "alice", "project": "churn"},
                                   {"name": "ltv-model", "owner": "alice", "project": "ltv"},
                                   {"name": "fraud-model", "owner": "alice", "project": "fraud"}]},
            "digests": [{"kind": "drift", "channel": "#ml-team", "at": "08:05 UTC", "alerts_channel": "#ml-alerts"}]}


async def test_drift_digest_and_alert_from_real_reports(projects, evidently_ui, sqlite_store) -> None:
    app, _, chat, clock = make_app(sqlite_store, NOW, [ALWAYS_IN])
    service = installed(app, source_factory(Settings())).registry.configure("acme-ml", team(evidently_ui))
    try:
        await app.due_handlers["digest.drift"](app, ClaimedItem(1, "digest:drift:acme-ml:#ml-team:today", "digest.drift",
                                                                "acme-ml", NOW, {"channel": "#ml-team"}, 0))
        headline, churn, _fraud, _ltv = (s.message.fallback for s in chat.sent)
        assert headline.splitlines()[:4] == [
            "🌊 Drift: 1 ALERT · 1 WARN · 1 OK",
            "🔴 churn-model ALERT — 67% of columns drifted (threshold 50%)",
            "🟡 fraud-model WARN — Evidently has no project named 'fraud'",
            "🟢 ltv-model OK — drifted share 0%",
        ]
        lines = churn.splitlines()
        assert lines[1] == "Drifted share 67% (threshold 50%), 7-day trend ····▁▅█"
        assert lines[2] == "Top drifted columns:"
        assert lines[3].startswith("• age: K-S p_value ") and lines[3].endswith(" ≤ 0.05 (persistent)")
        assert lines[4].startswith("• tenure: Wasserstein distance (normed) ") and lines[4].endswith(" ≥ 0.1 (new)")
        # the latest report and the project link to their pages in the Evidently UI, which serves them
        links = [b for b in chat.sent[1].message.blocks if isinstance(b, Context)][-1].text
        report, project = [p for p in links if isinstance(p, Link)]
        assert report.label.startswith("Latest drift report ") and project.label == "Evidently project"
        assert project.url.startswith(f"{evidently_ui}/projects/") and report.url.startswith(f"{project.url}/reports/")
        for page in (report.url, project.url):
            with urllib.request.urlopen(page, timeout=10) as resp:
                assert resp.status == 200
        snapshot_id = report.url.rsplit("/", 1)[1]
        project_id = project.url.rsplit("/", 1)[1]
        with urllib.request.urlopen(f"{evidently_ui}/api/projects/{project_id}/snapshots", timeout=10) as resp:
            assert snapshot_id in {s["id"] for s in json.load(resp)}

        await app.due_handlers["digest.drift-check"](app, ClaimedItem(2, "drift-check:1", "digest.drift-check",
                                                                      "acme-ml", NOW, {}, 0))
        alert = chat.sent[-1]
        assert alert.channel == "#ml-alerts"
        assert alert.message.fallback.startswith("🔴 churn-model drift ALERT: 67% of columns drifted (threshold 50%)")
        assert alert.message.fallback.endswith("Over to @Alice (owner)")
        clock.current = NOW + timedelta(minutes=15)
        await app.due_handlers["digest.drift-check"](app, ClaimedItem(3, "drift-check:2", "digest.drift-check",
                                                                      "acme-ml", clock.current, {}, 0))
        assert chat.sent[-1] is alert, "no second alert while the state is unchanged"
    finally:
        await service.close()
