"""The demo sources (``kind: demo``) as a newcomer meets them: the demo team in ``meridian console``.

``/experiments``, ``/drift``, the scheduled digests and a drift alert show the recorded demo data with no
server running, and every message built from it says it is demo data.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.scenarios.transcript import Said, after_echo, meridian, parse

DEMO_NOTE = "🧪 Demo data: recorded runs and drift reports shipped with Meridian (sources kind: demo)"


@pytest.fixture(scope="module")
def day() -> tuple[str, list[Said]]:
    script = """
/experiments
/drift
/experiments fraud-*
/drift churn-model
:at 2027-03-23T07:00Z
"""
    # Monday 22 March 2027 is the recording's day 7 (a new best, a failure); Tuesday its first ALERT.
    done = meridian("console", "--start", "2027-03-22T07:00Z", "--strict", stdin=script)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr
    assert done.stderr == ""
    return done.stdout, parse(done.stdout)


def meridian_posts(said: list[Said]) -> list[Said]:
    return [s for s in said if s.speaker.startswith("Meridian") and not s.where.startswith("DM ")]


def test_on_demand_digests_show_the_recorded_runs_and_drift(day: tuple[str, list[Said]]) -> None:
    out, _ = day
    experiments = parse(after_echo(out, "/experiments"))[0]
    assert experiments.speaker == "Meridian (only Alice sees this)"
    assert experiments.body.startswith(f"  ({DEMO_NOTE}")
    assert experiments.body.count("Demo data") == 1  # said once in a reply that joins headline and details
    assert "churn-retrain" in experiments.body and "Top runs by val_auc" in experiments.body
    drift = parse(after_echo(out, "/drift"))[0]
    assert DEMO_NOTE in drift.body and re.search(r"churn-model (OK|WARN|ALERT)", drift.body)
    assert "Drifted share" in drift.body and "Wasserstein distance" in drift.body


def test_scheduled_digests_and_alerts_from_demo_data_each_say_so(day: tuple[str, list[Said]]) -> None:
    _, said = day
    posts = meridian_posts(said)
    experiments = [s for s in posts if s.where == "#ml-team" and s.speaker == "Meridian" and "🧪 Experiments" in s.body]
    assert [(s.utc, s.local) for s in experiments] == [("2027-03-22 08:00", "08:00")]  # 08:00 Europe/London
    assert "🏆 1 new best" in experiments[0].body
    failures = [s for s in posts if s.where == "#ml-team ↳ thread" and "Failures:" in s.body]
    assert failures and "feature table snapshot missing for yesterday" in failures[0].body
    alert = [s for s in posts if "churn-model drift ALERT" in s.body]
    assert len(alert) == 1 and "Over to @Ravi (R), Alice (A; off hours, 23:00 in Los Angeles)" in alert[0].body  # RACI's people, pinged if in hours
    digest_posts = [s for s in posts if s.speaker == "Meridian" and "ml-daily" not in s.body]  # not the stand-up
    assert len(digest_posts) >= 6
    for post in digest_posts:
        assert DEMO_NOTE in post.body, post


def test_a_demo_entry_takes_no_address(tmp_path: Path) -> None:
    team = tmp_path / "team.yaml"
    team.write_text("""workspace: w
members: [{id: ann, name: Ann, tz: Europe/Berlin}]
sources:
  tracking: [{kind: demo, uri: "http://127.0.0.1:5000", experiments: ["*"], metric: val_auc}]
""")
    done = meridian("console", "--team", str(team), "--start", "2027-03-22T07:00Z", stdin="/experiments\n")
    assert done.returncode != 0
    assert "sources.tracking[0].uri: unknown key" in done.stdout + done.stderr
    assert "Traceback" not in done.stderr
