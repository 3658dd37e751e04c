"""From a metric to a resolved Slack post, through a real Prometheus and a real Alertmanager.

A tiny metrics endpoint in the test exposes ``model_latency_p99_ms``; Prometheus (Debian's
``prometheus``) scrapes it every second and evaluates ``ChurnModelLatencyHigh`` every second;
Alertmanager (Debian's ``prometheus-alertmanager``) groups the alert and delivers it with its bearer
token to ``/hooks/alertmanager`` of the running app, which posts it to Slack (the emulator) from the
queue. Silence 1 h is pressed as Slack sends presses and the silence is read back from Alertmanager's
API v2; Lift expires it; the gauge falls, Prometheus resolves the alert, Alertmanager sends
``resolved`` and the post is edited. Each wait polls, bounded by ``WAIT`` seconds.

The Prometheus query adapter (the drift digest's checks) is run against the same real server: a
value, several series chosen by labels or combined, a range selector and a refused query each
giving one clear line.
"""

from __future__ import annotations

import asyncio
import html
import re
import time
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest
from aiohttp import web

from adapters.sources.prometheus import PrometheusSource
from bot.digests.config import PrometheusConfig, SeriesChoice
from bot.digests.sources import QueryError
from bot.kernel.team import apply_team
from bot.kernel.teamfile import parse_team
from tests.integration.services import run_alertmanager, run_prometheus
from tests.integration.slack_harness import SlackHarness
from tests.integration.test_slack_alert_buttons import buttons, shown

pytestmark = pytest.mark.services

T = TypeVar("T")
WAIT = 60.0
"""Seconds any one step may take (they take one to three: every interval below is 1 s)."""
TOKEN = "am-tok3n"
CHANNEL = "C0ALERTS"
RUNBOOK = "https://runbooks.acme.example/churn-model/latency"
QUERY = 'model_latency_p99_ms{model="churn-model"}'

RULES = f"""\
groups:
  - name: churn-model
    rules:
      - alert: ChurnModelLatencyHigh
        expr: '{QUERY} > 200'
        for: 0s
        labels: {{severity: page}}
        annotations:
          summary: churn-model p99 latency above 200 ms
          runbook_url: {RUNBOOK}
"""
"""The rule file, as ``docs/sources.md`` shows it."""


def prometheus_yml(metrics: str, alertmanager: str | None) -> str:
    """Scrape the test's endpoint every second, evaluate every second, send alerts to Alertmanager."""
    config = f"""\
global: {{scrape_interval: 1s, evaluation_interval: 1s}}
rule_files: [rules.yml]
scrape_configs:
  - job_name: churn-scorer
    static_configs: [{{targets: ["{metrics}"]}}]
"""
    if alertmanager:
        config += f"""\
alerting:
  alertmanagers:
    - static_configs: [{{targets: ["{alertmanager}"]}}]
"""
    return config


def alertmanager_yml(meridian: str) -> str:
    """One receiver: ``meridian serve``'s hook, with the bearer token and resolved notifications."""
    return f"""\
route:
  receiver: meridian
  group_by: [alertname, model]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: meridian
    webhook_configs:
      - url: {meridian}/hooks/alertmanager?workspace=T0001
        send_resolved: true
        max_alerts: 1000
        http_config: {{authorization: {{type: Bearer, credentials: {TOKEN}}}}}
"""


@dataclass
class Gauges:
    """The test's metrics endpoint: ``model_latency_p99_ms`` per model, set by the test, scraped by Prometheus."""

    latency: dict[str, float] = field(default_factory=dict)
    scrapes: int = 0

    async def metrics(self, _request: web.Request) -> web.Response:
        self.scrapes += 1
        lines = ["# HELP model_latency_p99_ms p99 scoring latency", "# TYPE model_latency_p99_ms gauge"]
        lines += [f'model_latency_p99_ms{{model="{model}"}} {value}' for model, value in self.latency.items()]
        return web.Response(text="\n".join(lines) + "\n", content_type="text/plain")


async def serve_gauges(gauges: Gauges) -> tuple[web.AppRunner, str]:
    app = web.Application()
    app.router.add_get("/metrics", gauges.metrics)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"127.0.0.1:{port}"


async def until(what: str, check: Callable[[], Awaitable[T | None]], app: SlackHarness | None = None,
                timeout: float = WAIT) -> T:
    """Poll ``check`` until it gives something; the app's clock follows the real one and its due work runs."""
    deadline = time.monotonic() + timeout
    while True:
        if app is not None:
            app.clock.set(datetime.now(UTC))
            await app.engine.run_due()
        found = await check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s")
        await asyncio.sleep(0.2)


async def get_json(url: str, **params: str) -> Any:
    async with aiohttp.ClientSession() as s, s.get(url, params=params) as resp:
        assert resp.status == 200, await resp.text()
        return await resp.json()


def team(alertmanager: str, prometheus: str) -> str:
    return f"""
workspace: T0001
members:
  - {{id: alice, name: Alice, tz: UTC, accounts: {{slack: U0ALICE}}}}
  - {{id: ravi, name: Ravi, tz: UTC, accounts: {{slack: U0RAVI}}}}
sources:
  prometheus: {{url: "{prometheus}", timeout: 5s}}
  alertmanager: {{channel: "{CHANNEL}", url: "{alertmanager}", timeout: 5s}}
  models:
    - name: churn-model
      owner: alice
      prometheus:
        - {{name: "p99 latency (ms)", query: '{QUERY}', warn_above: 150, alert_above: 200}}
        - {{name: "p99 over 1m", query: 'model_latency_p99_ms{{model="churn-model"}}[1m]'}}
digests:
  - {{kind: drift, channel: "#ml-team", at: "08:05 UTC", alerts_channel: "{CHANNEL}"}}
"""


@dataclass
class Stack:
    slack: SlackHarness
    gauges: Gauges
    prometheus: str
    alertmanager: str


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    """The app (Slack emulator, webhook routes), the metrics endpoint, Alertmanager posting to the app and
    Prometheus scraping the endpoint and alerting Alertmanager, each on a free port."""
    gauges = Gauges({"churn-model": 120.0})
    slack = SlackHarness(tmp_path / "app", datetime.now(UTC), hook_token=TOKEN)
    (tmp_path / "app").mkdir()
    await slack.__aenter__()
    runner, metrics = await serve_gauges(gauges)
    try:
        with ExitStack() as servers:
            alertmanager = servers.enter_context(run_alertmanager(tmp_path / "alertmanager",
                                                                  alertmanager_yml(slack.url)))
            prometheus = servers.enter_context(run_prometheus(
                tmp_path / "prometheus", prometheus_yml(metrics, alertmanager.removeprefix("http://")), RULES))
            slack.emulator.add_user("U0ALICE", "Alice", "UTC")
            slack.emulator.add_user("U0RAVI", "Ravi", "UTC")
            apply_team(slack.app, parse_team(team(alertmanager, prometheus), "team.yaml", slack.app.sections),
                       platform="slack")
            yield Stack(slack, gauges, prometheus, alertmanager)
    finally:
        await runner.cleanup()
        await slack.__aexit__(None, None, None)


def alert_posts(slack: SlackHarness) -> list[dict[str, Any]]:
    return [c.params for c in slack.emulator.calls("chat.postMessage") if c.params.get("channel") == CHANNEL]


def updates(slack: SlackHarness) -> list[dict[str, Any]]:
    return [c.params for c in slack.emulator.calls("chat.update")]


def link(params: dict[str, Any], label: str) -> str:
    """The address a post links under ``label`` (Slack's ``<url|label>``, with ``&`` escaped)."""
    found = re.search(r"<(https?://[^|>]+)\|" + re.escape(label) + ">", shown(params))
    assert found, f"no {label} link in {shown(params)}"
    return html.unescape(found.group(1))


async def press(slack: SlackHarness, button: dict[str, Any], user: str) -> str:
    """Press as Slack does; the presser's one-line answer (the ephemeral reply through the response URL)."""
    before = len(slack.emulator.calls("response_url"))
    status, _ = await slack.press(button, user, channel=CHANNEL)
    assert status == 200
    await slack.until(lambda: len(slack.emulator.calls("response_url")) > before, timeout=WAIT)
    return str(slack.emulator.calls("response_url")[before].params["text"])


async def manager_alert(alertmanager: str) -> dict[str, Any] | None:
    """``ChurnModelLatencyHigh`` as Alertmanager holds it (API v2), or ``None``."""
    alerts = await get_json(f"{alertmanager}/api/v2/alerts", filter='alertname="ChurnModelLatencyHigh"')
    return alerts[0] if alerts else None


async def running_silences(alertmanager: str) -> list[dict[str, Any]]:
    found = await get_json(f"{alertmanager}/api/v2/silences")
    return [s for s in found if s["status"]["state"] != "expired"]


async def test_a_rule_fires_is_silenced_from_slack_and_resolves(stack: Stack) -> None:
    slack, am = stack.slack, stack.alertmanager

    # the gauge crosses the threshold: Prometheus fires, Alertmanager delivers, the app posts once
    stack.gauges.latency["churn-model"] = 250.0

    async def posted() -> dict[str, Any] | None:
        posts = alert_posts(slack)
        return posts[0] if posts else None

    post = await until("the firing alert posted to Slack", posted, slack)
    assert "🔥 FIRING ChurnModelLatencyHigh — churn-model: churn-model p99 latency above 200 ms" in shown(post)
    held = await until("the alert in Alertmanager", lambda: manager_alert(am))
    labels = held["labels"]
    assert labels["model"] == "churn-model" and labels["severity"] == "page" and labels["job"] == "churn-scorer"
    source = link(post, "Source")
    assert source == held["generatorURL"] and source.startswith(f"{stack.prometheus}/graph?g0.expr=")
    with urllib.request.urlopen(source, timeout=10) as page:  # Prometheus' own graph of the rule
        assert page.status == 200
    assert link(post, "Runbook") == RUNBOOK
    offered = buttons(post)
    assert list(offered) == ["I'm on it", "Silence 1 h", "Silence 4 h", "Runbook"]
    assert offered["Runbook"]["url"] == RUNBOOK

    # Silence 1 h, pressed as Slack sends it: a silence in Alertmanager for exactly this alert's labels
    assert (await press(slack, offered["Silence 1 h"], "U0ALICE")).startswith("Silenced until")
    made = await running_silences(am)
    assert len(made) == 1
    silence = made[0]
    assert sorted((m["name"], m["value"], m["isEqual"], m["isRegex"]) for m in silence["matchers"]) == sorted(
        (k, v, True, False) for k, v in labels.items())
    assert silence["createdBy"] == "Alice" and silence["status"]["state"] == "active"
    assert silence["comment"] == "Silenced from Meridian by Alice for 1 h"
    ends = datetime.fromisoformat(silence["endsAt"].replace("Z", "+00:00"))
    assert abs(ends - (datetime.now(UTC) + timedelta(hours=1))) < timedelta(minutes=1)

    async def suppressed_by_it() -> bool:
        held = await manager_alert(am)
        return held is not None and held["status"]["state"] == "suppressed" and \
            held["status"]["silencedBy"] == [silence["id"]]

    await until("Alertmanager muting the alert with that silence", suppressed_by_it)
    silenced = await until("the post saying who silenced it", lambda: _latest(slack, "🔕 Silenced by Alice until"))
    assert list(buttons(silenced)) == ["I'm on it", "Lift silence", "Runbook"]

    # Lift, by someone else: expired in Alertmanager, the alert no longer muted
    assert await press(slack, buttons(silenced)["Lift silence"], "U0RAVI") == \
        "Silence lifted; the alert notifies again."
    assert await running_silences(am) == []

    async def active_again() -> bool:
        held = await manager_alert(am)
        return held is not None and held["status"]["state"] == "active"

    await until("the alert unmuted in Alertmanager", active_again)
    await until("the post saying who lifted it", lambda: _latest(slack, "🔔 Silence lifted by Ravi"))

    # the gauge falls: Prometheus resolves, Alertmanager sends `resolved`, the same post is edited
    stack.gauges.latency["churn-model"] = 120.0
    resolved = await until("the post edited to resolved", lambda: _latest(slack, "✅ RESOLVED ChurnModelLatencyHigh"),
                           slack)
    assert "churn-model p99 latency above 200 ms" in shown(resolved) and "lasted " in shown(resolved)
    assert "Alice: silenced 1 h" in shown(resolved) and "Ravi: lifted the silence" in shown(resolved)
    assert buttons(resolved) == {}
    assert link(resolved, "Source") == source
    assert len(alert_posts(slack)) == 1, "one post for the alert, edited, never a second"


async def _latest(slack: SlackHarness, text: str) -> dict[str, Any] | None:
    """The newest edit of the alert's post, when it shows ``text``."""
    edits = updates(slack)
    return edits[-1] if edits and text in shown(edits[-1]) else None


async def test_the_query_adapter_reads_the_real_server(stack: Stack) -> None:
    stack.gauges.latency.update({"churn-model": 180.0, "fraud-model": 90.0})
    source = PrometheusSource(PrometheusConfig(stack.prometheus))
    try:
        async def read() -> float | None:
            value = await source.instant(QUERY, datetime.now(UTC))
            return value if value == 180.0 else None

        assert await until("Prometheus holding the scraped gauge", read) == 180.0
        now = datetime.now(UTC)
        assert await source.instant("model_latency_p99_ms", now, SeriesChoice({"model": "fraud-model"})) == 90.0
        assert await source.instant("model_latency_p99_ms", now, SeriesChoice(aggregate="max")) == 180.0
        assert await source.instant("model_latency_p99_ms", now, SeriesChoice(aggregate="sum")) == 270.0
        assert await source.instant('model_latency_p99_ms{model="absent-model"}', now) is None
        with pytest.raises(QueryError, match=r"'model_latency_p99_ms' answers with 2 series .*fraud-model.* "
                                             r"name the series with `labels:`"):
            await source.instant("model_latency_p99_ms", now)
        with pytest.raises(QueryError, match=r"answers with a range of samples \(a range selector like \[5m\]\), "
                                             r"not one value: .*max_over_time"):
            await source.instant(f"{QUERY}[1m]", now)
        assert await source.instant(f"max_over_time({QUERY}[1m])", now) == 180.0
        with pytest.raises(QueryError, match=r"^Prometheus refused 'rate\(': .*parse error"):
            await source.instant("rate(", now)
        samples = await source.series(QUERY, now - timedelta(seconds=5), now, 1)
        assert samples and {s.value for s in samples} == {180.0}
    finally:
        await source.close()

    # the drift digest on demand, as a member asks for it on Slack: the reading, and the range query's reason
    stack.slack.clock.set(datetime.now(UTC))
    status, _ = await stack.slack.command("churn-model", user="U0ALICE", command="/drift")
    assert status == 200
    await stack.slack.until(lambda: bool(stack.slack.emulator.calls("response_url")), timeout=WAIT)
    digest = stack.slack.emulator.calls("response_url")[0].params
    lines = str(digest["text"]).splitlines()
    assert lines[1] == "🟡 churn-model WARN — p99 latency (ms) is 180; p99 over 1m: query needs fixing"
    assert "🟡 p99 latency (ms): 180 · graph (" in digest["text"]
    assert "🟡 p99 over 1m: 'model_latency_p99_ms{model=\"churn-model\"}[1m]' answers with a range of samples " \
           "(a range selector like [5m]), not one value: drop the selector or wrap it, e.g. max_over_time(…[5m])" \
           in digest["text"]
    assert "unavailable" not in digest["text"]
    graph = link(digest, "graph")  # the check's own graph, on the real Prometheus
    assert graph.startswith(f"{stack.prometheus}/graph?g0.expr=")
    with urllib.request.urlopen(graph, timeout=10) as page:
        assert page.status == 200
