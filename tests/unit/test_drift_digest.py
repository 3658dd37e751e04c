"""The drift digest, drift alerts and Alertmanager alerts, through the due handlers, commands and webhook service."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

import pytest

from adapters.sources.evidently import column_drift
from bot.digests.alerts import REFIRE_WITHIN
from bot.digests.install import Digests
from bot.digests.sources import AlertEvent, DriftSnapshot, QueryError, SourceSet
from bot.kernel.commands import Invocation
from bot.kernel.domain import DateRange, Hours, Member
from bot.kernel.messages import Mention
from bot.kernel.ports import ClaimedItem
from bot.kernel.timekeeping import utc
from bot.raci.model import Activity, Role, assignments_from
from bot.raci.service import RaciService
from storage.raci.repo import RaciRepo
from tests.digest_fakes import FakeMetrics, FakeMonitoring, installed, make_app

T0 = utc(2027, 3, 15, 8, 5)
TEAM = {
    "sources": {
        "monitoring": [{"kind": "evidently", "url": "http://evidently.test"}],
        "prometheus": {"url": "http://prom.test"},
        "models": [
            {"name": "churn-model", "owner": "alice", "project": "churn"},
            {"name": "fraud-model", "owner": "noor", "project": "fraud",
             "prometheus": [{"name": "p95 latency (s)", "query": "latency_p95", "warn_above": 0.3,
                             "alert_above": 0.5}]},
            {"name": "ltv-model", "owner": "noor", "project": "ltv"},
        ],
    },
    "digests": [{"kind": "drift", "channel": "#ml-team", "at": "08:05 UTC", "alerts_channel": "#ml-alerts",
                 "cooldown": "6h"}],
}
EARLY = Hours(time(7), time(15))
"""Working hours that hold the 08:05 UTC checks: mentions of these people are pings."""
ALICE = Member("acme-ml", "alice", "Alice", hours=EARLY)
NOOR = Member("acme-ml", "noor", "Noor", hours=EARLY)
RAVI = Member("acme-ml", "ravi", "Ravi", hours=EARLY)

KS = "K-S p_value"
WASS = "Wasserstein distance (normed)"


def snap(hours_ago: float, share: float, *columns: tuple[str, str, float, float]) -> DriftSnapshot:
    return DriftSnapshot(f"s{hours_ago}", T0 - timedelta(hours=hours_ago), share, 0.5,
                         tuple(column_drift(c, m, s, t) for c, m, s, t in columns))


def drifting_churn() -> list[DriftSnapshot]:
    return [
        snap(48, 0.0, ("age", KS, 0.4, 0.05), ("income", KS, 0.7, 0.05), ("tenure", WASS, 0.02, 0.1)),
        snap(24, 1 / 3, ("age", KS, 0.001, 0.05), ("income", KS, 0.7, 0.05), ("tenure", WASS, 0.05, 0.1)),
        snap(1, 2 / 3, ("age", KS, 1e-9, 0.05), ("income", KS, 0.6, 0.05), ("tenure", WASS, 0.3, 0.1)),
    ]


def steady(project: str) -> list[DriftSnapshot]:
    return [snap(1, 0.0, ("x", KS, 0.5, 0.05), ("y", WASS, 0.01, 0.1))]


@dataclass
class World:
    digests: Digests
    raci: RaciService


@pytest.fixture
def world(sqlite_store):
    app, store, chat, clock = make_app(sqlite_store, T0, [ALICE, NOOR, RAVI])
    monitoring = FakeMonitoring({"churn": drifting_churn(), "fraud": steady("fraud"), "ltv": steady("ltv")})
    metrics = FakeMetrics({"latency_p95": 0.2})
    sources = SourceSet(monitoring={"evidently": monitoring}, metrics=metrics)
    raci = RaciService(RaciRepo(sqlite_store.engine), store)
    digests = installed(app, lambda config: sources, owners=raci)
    digests.registry.configure("acme-ml", TEAM)
    return app, store, chat, clock, monitoring, metrics, World(digests, raci)


def item(kind: str, key: str, payload: dict[str, str] | None = None) -> ClaimedItem:
    return ClaimedItem(1, key, kind, "acme-ml", T0, payload or {}, 0)


async def test_drift_digest_statuses_columns_and_trend(world) -> None:
    app, _, chat, _, _, metrics, _ = world
    metrics.values["latency_p95"] = 0.35
    await app.due_handlers["digest.drift"](app, item("digest.drift", "digest:drift:acme-ml:#ml-team:2027-03-15",
                                                     {"channel": "#ml-team"}))
    headline, churn, fraud, ltv = (s.message.fallback for s in chat.sent)
    assert headline.splitlines() == [
        "🌊 Drift: 1 ALERT · 1 WARN · 1 OK",
        "🔴 churn-model ALERT — 67% of columns drifted (threshold 50%)",
        "🟡 fraud-model WARN — p95 latency (s) is 0.35",
        "🟢 ltv-model OK — drifted share 0%",
        "Details in the thread.",
    ]
    assert churn.splitlines() == [
        "🔴 churn-model ALERT · owner Alice",  # the member's name, not their id
        "Drifted share 67% (threshold 50%), 7-day trend ····▁▅█",
        "Top drifted columns:",
        "• age: K-S p_value 1.00e-09 ≤ 0.05 (persistent)",
        "• tenure: Wasserstein distance (normed) 0.3 ≥ 0.1 (new)",
        "Why: 67% of columns drifted (threshold 50%)",
        "Latest drift report 07:05",
    ]
    assert "🟡 p95 latency (s): 0.35 · graph (http://prom.test/graph?g0.expr=latency_p95&g0.tab=0)" in fraud
    assert ltv.startswith("🟢 ltv-model OK")


async def test_p_value_tests_named_by_id_drift_below_their_threshold_and_custom_tests_get_no_verdict(world) -> None:
    """A report that chose its tests by id ("ks", "TVD") stores no "p_value" in the method; the rule comes from the id."""
    app, _, _, _, monitoring, _, _ = world
    monitoring.by_project["ltv"] = [snap(1, 0.25, ("age", "ks", 0.9, 0.05), ("plan", "TVD", 0.01, 0.1),
                                         ("income", "ed", 0.1, 0.1), ("notes", "my_text_test", 0.99, 0.5))]
    reply = await app.command(Invocation("acme-ml", ALICE, "drift", "ltv-model"))
    assert reply.message is not None
    text = reply.message.fallback
    assert "• plan: Total-Variation-Distance 0.01 < 0.1 (new)" in text
    assert "age" not in text, "a K-S p-value of 0.9 is no drift"
    assert "income" not in text, "energy distance drifts only above its threshold"
    assert "No per-column verdict for notes (my_text_test 0.99)" in text


class ShapedMetrics(FakeMetrics):
    """Answers like the Prometheus adapter for a query of the wrong shape."""

    async def instant(self, query: str, at, choice=None):
        if query == "latency[5m]":
            raise QueryError(f"{query!r} answers with a range of samples (a range selector like [5m]), not one value")
        return await super().instant(query, at, choice)


async def test_a_check_of_the_wrong_shape_is_a_warning_naming_the_check_not_an_outage(sqlite_store) -> None:
    app, _, _, _ = make_app(sqlite_store, T0, [ALICE, NOOR])
    team = {"sources": {"prometheus": {"url": "http://prom.test"}, "models": [
        {"name": "fraud-model", "owner": "noor", "prometheus": [{"name": "latency", "query": "latency[5m]"}]}]},
        "digests": TEAM["digests"]}
    installed(app, lambda config: SourceSet(metrics=ShapedMetrics())).registry.configure("acme-ml", team)
    reply = await app.command(Invocation("acme-ml", ALICE, "drift", ""))
    assert reply.message is not None
    text = reply.message.fallback
    assert "🟡 fraud-model WARN — latency: query needs fixing" in text
    assert "🟡 latency: 'latency[5m]' answers with a range of samples" in text, "the thread says why"
    assert "unavailable" not in text


async def test_all_ok_is_one_line(world) -> None:
    app, _, _, _, monitoring, _, _ = world
    monitoring.by_project["churn"] = steady("churn")
    reply = await app.command(Invocation("acme-ml", ALICE, "drift", ""))
    assert reply.message is not None and reply.message.fallback == "🌊 Drift: all 3 models OK."


async def test_missing_or_stale_data_and_an_outage_are_warnings(world) -> None:
    app, _, _, clock, monitoring, _, _ = world
    monitoring.by_project["ltv"] = []
    monitoring.by_project["fraud"] = [snap(40, 0.0, ("x", KS, 0.5, 0.05))]
    reply = await app.command(Invocation("acme-ml", ALICE, "drift", ""))
    text = reply.message.fallback
    assert "🟡 ltv-model WARN — no drift report in the last 7 days" in text
    assert "🟡 fraud-model WARN — no drift report since Sat 16:05" in text
    monitoring.down = True
    reply = await app.command(Invocation("acme-ml", ALICE, "drift", "churn-model"))
    assert "🟡 churn-model WARN — Evidently unavailable since 08:05" in reply.message.fallback
    clock.current = T0 + timedelta(hours=1)
    reply = await app.command(Invocation("acme-ml", ALICE, "drift", "churn-model"))
    assert "Evidently unavailable since 08:05" in reply.message.fallback, "the outage keeps its start"


async def test_drift_command_names_unknown_models(world) -> None:
    app = world[0]
    reply = await app.command(Invocation("acme-ml", ALICE, "drift", "nope"))
    assert "No model named `nope`. Known models: churn-model, fraud-model, ltv-model." in reply.message.fallback


async def check(app, clock, minutes: int) -> None:
    clock.current = T0 + timedelta(minutes=minutes)
    await app.due_handlers["digest.drift-check"](app, item("digest.drift-check", f"drift-check:{minutes}"))


async def test_alert_posted_once_per_state_change_with_cooldown_and_owner_mention(world) -> None:
    app, _, chat, clock, monitoring, _, _ = world
    await check(app, clock, 0)
    await check(app, clock, 15)
    assert len(chat.sent) == 1
    alert = chat.sent[0]
    assert alert.channel == "#ml-alerts"
    assert alert.message.fallback.startswith("🔴 churn-model drift ALERT: 67% of columns drifted (threshold 50%)")
    assert "Over to @Alice (owner)" in alert.message.fallback
    assert any(Mention("alice", "Alice") in b.text for b in alert.message.blocks)  # type: ignore[union-attr]

    good = monitoring.by_project["churn"]
    monitoring.by_project["churn"] = [*good, snap(-0.5, 0.0, ("age", KS, 0.5, 0.05))]
    await check(app, clock, 60)
    assert chat.texts()[-1] == "✅ churn-model is back to OK (was ALERT since 08:05, 1h)."

    monitoring.by_project["churn"] = [*good, snap(-1.5, 1.0, ("age", KS, 0.0, 0.05))]
    await check(app, clock, 120)
    assert len(chat.sent) == 2, "a new ALERT within the cool-down is held back"
    await check(app, clock, 6 * 60 + 5)
    assert len(chat.sent) == 3 and "drift ALERT" in chat.texts()[-1]


async def test_missing_data_does_not_resolve_an_alert(world) -> None:
    app, _, chat, clock, monitoring, _, _ = world
    await check(app, clock, 0)
    monitoring.down = True
    await check(app, clock, 15)
    assert len(chat.sent) == 1


async def test_alert_mentions_raci_responsible_and_accountable_when_known(world) -> None:
    app, _, chat, clock, _, _, w = world
    w.raci.write(ALICE, None, Activity("acme-ml", "churn-model", assignments_from({Role.R: ["ravi"], Role.A: ["alice"]})),
                 T0)
    await check(app, clock, 0)
    assert "Over to @Ravi (R), @Alice (A)" in chat.texts()[0]


async def test_sprint_numbers_count_the_drift_alerts_raised_in_the_period(world) -> None:
    app, _, _, clock, _, _, w = world
    numbers = w.digests.numbers
    assert await numbers.sprint_numbers("acme-ml", T0 - timedelta(days=14), T0) == ["🌊 No drift alerts"]
    await check(app, clock, 0)
    assert await numbers.sprint_numbers("acme-ml", T0 - timedelta(days=14), T0) == ["🌊 1 drift alert (churn-model)"]
    assert await numbers.sprint_numbers("acme-ml", T0, T0 + timedelta(days=14)) == ["🌊 No drift alerts"]
    assert await numbers.sprint_numbers("elsewhere", T0 - timedelta(days=14), T0) == []


async def test_alert_mentions_the_owner_when_raci_has_no_such_activity(world) -> None:
    app, _, chat, clock, _, _, _ = world
    await check(app, clock, 0)
    assert "Over to @Alice (owner)" in chat.texts()[0]


async def test_alertmanager_firing_is_posted_once_and_resolved_updates_it(world) -> None:
    app, _, chat, clock, _, _, w = world
    service = w.digests.registry.get("acme-ml")
    assert service is not None
    firing = AlertEvent("fp1", "firing", "FeatureNullRate", {"model": "churn-model", "severity": "warning"},
                        {"summary": "nulls in income > 5%"}, starts_at=T0 - timedelta(minutes=30))
    assert await service.post_alerts([firing]) == 1
    assert await service.post_alerts([firing]) == 0, "a repeat notification is not a new post"
    assert chat.texts() == ["🔥 FIRING FeatureNullRate — churn-model: nulls in income > 5% (since 07:35)\n"
                            "Over to @Alice (owner)"]

    reply = await app.command(Invocation("acme-ml", ALICE, "drift", "churn-model"))
    assert "🔥 FeatureNullRate firing for 30m: nulls in income > 5%" in reply.message.fallback

    clock.current = T0 + timedelta(minutes=10)
    resolved = AlertEvent("fp1", "resolved", "FeatureNullRate", firing.labels, firing.annotations,
                          starts_at=firing.starts_at, ends_at=T0 + timedelta(minutes=5))
    await service.post_alerts([resolved])
    assert len(chat.sent) == 1
    (message_id, updated), = chat.updates
    assert message_id == "1"
    assert updated.fallback == "✅ RESOLVED FeatureNullRate — churn-model: nulls in income > 5% (fired 07:35, lasted 35m)"
    reply = await app.command(Invocation("acme-ml", ALICE, "drift", "churn-model"))
    assert "✅ FeatureNullRate 07:35, resolved after 35m" in reply.message.fallback


async def test_an_alert_firing_again_soon_after_resolving_reopens_its_post(world) -> None:
    """A missed scrape or a value hovering at the threshold resolves and refires an alert within minutes:
    one post, edited, not one post per flap; a new firing after ``REFIRE_WITHIN`` is a new post."""
    _, _, chat, clock, _, _, w = world
    service = w.digests.registry.get("acme-ml")
    assert service is not None
    labels, notes = {"model": "churn-model", "severity": "warning"}, {"summary": "p99 above 200 ms"}

    def event(status: str, starts: datetime, ends: datetime | None = None) -> AlertEvent:
        return AlertEvent("fp-flap", status, "LatencyHigh", labels, notes,  # type: ignore[arg-type]
                          starts_at=starts, ends_at=ends)

    first = T0
    assert await service.post_alerts([event("firing", first)]) == 1
    await service.post_alerts([event("resolved", first, first + timedelta(minutes=2))])
    again = first + timedelta(minutes=3)
    clock.current = again
    assert await service.post_alerts([event("firing", again)]) == 1
    assert await service.post_alerts([event("firing", again)]) == 0, "a repeat of the refired alert changes nothing"
    assert len(chat.sent) == 1, "the flap reopened the post"
    message_id, reopened = chat.updates[-1]
    assert message_id == "1"
    assert reopened.fallback == ("🔥 FIRING LatencyHigh — churn-model: p99 above 200 ms (since 08:05; resolved and "
                                 "fired again 08:08)\nOver to @Alice (owner)")
    await service.post_alerts([event("resolved", again, again + timedelta(minutes=4))])
    assert chat.updates[-1][1].fallback == ("✅ RESOLVED LatencyHigh — churn-model: p99 above 200 ms (fired 08:05, "
                                            "lasted 7m, fired 2 times)")

    later = again + timedelta(minutes=4) + REFIRE_WITHIN + timedelta(minutes=1)
    clock.current = later
    assert await service.post_alerts([event("firing", later)]) == 1
    assert len(chat.sent) == 2, "firing again long after it resolved is a new alert, a new post"
    assert chat.texts()[-1].startswith("🔥 FIRING LatencyHigh — churn-model: p99 above 200 ms (since 08:23)")


async def test_a_critical_alertmanager_alert_pings_the_owner_at_night_and_a_warning_does_not(world) -> None:
    _, store, chat, clock, _, _, w = world
    service = w.digests.registry.get("acme-ml")
    assert service is not None
    clock.current = T0.replace(hour=2)  # 02:05 for Alice, Noor and Ravi
    warning = AlertEvent("fp-w", "firing", "FeatureNullRate", {"model": "churn-model", "severity": "warning"},
                         {"summary": "nulls"}, starts_at=clock.current)
    critical = AlertEvent("fp-c", "firing", "ServingDown", {"model": "churn-model", "severity": "critical"},
                          {"summary": "no predictions"}, starts_at=clock.current)
    await service.post_alerts([warning, critical])
    said_warning, said_critical = chat.texts()
    assert said_warning.endswith("Over to Alice (owner; off hours, 02:05 in UTC)")
    assert said_critical.endswith("Over to @Alice (owner; urgent, 02:05 in UTC) · critical: pinged at any hour, "
                                  "except those away")

    store.upsert_member(Member("acme-ml", "alice", "Alice", hours=EARLY, ooo=(DateRange(T0.date(), T0.date()),),
                               delegate="noor"))
    again = AlertEvent("fp-c2", "firing", "ServingDown", critical.labels, critical.annotations,
                       starts_at=clock.current)
    await service.post_alerts([again])
    assert chat.texts()[-1].endswith("Over to Alice (owner; away — out of office), @Noor (owner; standing in for "
                                     "Alice, away today; urgent, 02:05 in UTC) · critical: pinged at any hour, "
                                     "except those away")
