"""From a metric to a resolved Slack post, through a real Prometheus and a real Alertmanager.

A tiny metrics endpoint in the test exposes ``model_latency_p99_ms``; Prometheus (Debian's
``prometheus``) scrapes it and evaluates ``ChurnModelLatencyHigh`` every second; Alertmanager
(Debian's ``prometheus-alertmanager``) groups the alert and delivers it with its bearer token to
``/hooks/alertmanager`` of ``meridian serve`` (its own process, as an operator runs it), which posts
it to Slack (the emulator) from the queue on its scheduler's next pass (10 s). Silence 1 h is
pressed as Slack sends presses and the silence is read back from Alertmanager's API v2; Lift
expires it; the gauge falls, Prometheus resolves the alert, Alertmanager sends ``resolved`` and the
post is edited. An alert resolving under a silence, which Alertmanager never reports, is found
resolved by Meridian's own look. Each wait polls, bounded by ``WAIT`` seconds.

The Prometheus query adapter (the drift digest's checks) is run against the same real server: a
value, several series chosen by labels or combined, a range selector and a refused query each
giving one clear line, and ``/drift`` showing them.
"""

from __future__ import annotations

import asyncio
import html
import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode

import aiohttp
import pytest
from aiohttp import web

from adapters.sources.prometheus import PrometheusSource
from bot.digests.config import PrometheusConfig, SeriesChoice
from bot.digests.sources import QueryError
from tests.emulators.slack import SlackEmulator
from tests.integration.services import free_port, run_alertmanager, run_prometheus
from tests.integration.slack_harness import SECRET, block_actions, command_form, signed_headers
from tests.integration.test_slack_alert_buttons import buttons, shown

pytestmark = pytest.mark.services

T = TypeVar("T")
WAIT = 60.0
"""Seconds any one step may take (most take one to three, and up to one scheduler pass more)."""
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


def prometheus_yml(metrics: str, alertmanager: str) -> str:
    """Scrape the test's endpoint every second, evaluate every second, send alerts to Alertmanager."""
    return f"""\
global: {{scrape_interval: 1s, evaluation_interval: 1s}}
rule_files: [rules.yml]
scrape_configs:
  - job_name: churn-scorer
    static_configs: [{{targets: ["{metrics}"]}}]
alerting:
  alertmanagers:
    - static_configs: [{{targets: ["{alertmanager}"]}}]
"""


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

    async def metrics(self, _request: web.Request) -> web.Response:
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


async def until(what: str, check: Callable[[], Awaitable[T | None]], timeout: float = WAIT) -> T:
    """Poll ``check`` until it gives something, at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
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
  alertmanager: {{channel: "{CHANNEL}", url: "{alertmanager}", timeout: 5s, check_every: 1s}}
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
class Meridian:
    """``meridian serve`` in its own process, talking to the Slack emulator."""

    url: str
    slack: SlackEmulator

    def calls(self, method: str) -> list[dict[str, Any]]:
        return [c.params for c in self.slack.calls(method)]

    async def post(self, body: str) -> int:
        async with aiohttp.ClientSession() as s, s.post(
                f"{self.url}/slack/events", data=body.encode(),
                headers=signed_headers(body, "application/x-www-form-urlencoded")) as resp:
            return resp.status

    async def answer(self, body: str) -> dict[str, Any]:
        """Send a signed request as Slack does; the one private answer it gets through its response URL."""
        before = len(self.calls("response_url"))
        assert await self.post(body) == 200
        await until("the answer to the presser", lambda: _n_calls(self, "response_url", before))
        return self.calls("response_url")[before]

    async def press(self, button: dict[str, Any], user: str) -> str:
        payload = block_actions(button, user, "T0001", CHANNEL, self.slack.response_url())
        return str((await self.answer(urlencode({"payload": json.dumps(payload)})))["text"])

    async def command(self, command: str, text: str, user: str) -> dict[str, Any]:
        return await self.answer(urlencode(command_form(text, user, "T0001", command, CHANNEL,
                                                        self.slack.response_url())))


async def _n_calls(meridian: Meridian, method: str, more_than: int) -> bool:
    return len(meridian.calls(method)) > more_than


ROOT = Path(__file__).resolve().parents[2]


async def start_meridian(root: Path, slack: SlackEmulator, team_file: str, port: int) -> subprocess.Popen[bytes]:
    """``meridian import team.yaml`` and ``meridian serve`` (scheduler on) as an operator runs them."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SLACK_", "Microsoft", "MERIDIAN_", "MLFLOW_", "WANDB_", "PROMETHEUS_", "EVIDENTLY_"))}
    env.update({"PYTHONPATH": str(ROOT), "DATABASE_URL": f"sqlite:///{root / 'meridian.db'}",
                "SLACK_BOT_TOKEN": "xoxb-T0001-test", "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": slack.api_url,
                "MERIDIAN_WEBHOOK_TOKEN": TOKEN})
    (root / "team.yaml").write_text(team_file, encoding="utf-8")
    imported = subprocess.run([sys.executable, "-m", "bot", "import", "team.yaml"], cwd=root, env=env,
                              capture_output=True, text=True, timeout=120)
    assert imported.returncode == 0 and "talks on slack" in imported.stdout, imported.stderr
    with (root / "serve.log").open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(port)],
                                cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)

    async def healthy() -> bool:
        assert proc.poll() is None, (root / "serve.log").read_text()
        try:
            async with aiohttp.ClientSession() as s, s.get(f"http://127.0.0.1:{port}/healthz") as resp:
                return resp.status == 200
        except aiohttp.ClientError:
            return False

    try:
        await until("meridian serve answering /healthz", healthy, timeout=120)
    except BaseException:
        proc.terminate()
        proc.wait(timeout=20)
        raise
    return proc


@dataclass
class Stack:
    meridian: Meridian
    gauges: Gauges
    prometheus: str
    alertmanager: str


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    """The Slack emulator, ``meridian serve``, the metrics endpoint, Alertmanager posting to ``meridian serve``
    and Prometheus scraping the endpoint and alerting Alertmanager, each on a free port."""
    gauges = Gauges({"churn-model": 120.0})
    slack = SlackEmulator(ts_clock=time.time)
    await slack.start()
    slack.add_user("U0ALICE", "Alice", "UTC")
    slack.add_user("U0RAVI", "Ravi", "UTC")
    runner, metrics = await serve_gauges(gauges)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    (tmp_path / "meridian").mkdir()
    proc: subprocess.Popen[bytes] | None = None
    try:
        with ExitStack() as servers:
            alertmanager = servers.enter_context(run_alertmanager(tmp_path / "alertmanager", alertmanager_yml(url)))
            prometheus = servers.enter_context(run_prometheus(
                tmp_path / "prometheus", prometheus_yml(metrics, alertmanager.removeprefix("http://")), RULES))
            proc = await start_meridian(tmp_path / "meridian", slack, team(alertmanager, prometheus), port)
            yield Stack(Meridian(url, slack), gauges, prometheus, alertmanager)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=20)
        await runner.cleanup()
        await slack.stop()
    log = tmp_path / "meridian" / "serve.log"
    served = log.read_text() if log.exists() else ""
    assert "Traceback" not in served, served


def alert_posts(meridian: Meridian) -> list[dict[str, Any]]:
    return [c for c in meridian.calls("chat.postMessage") if c.get("channel") == CHANNEL]


async def first_post(meridian: Meridian) -> dict[str, Any] | None:
    """The alert's post in the channel, once it is there."""
    posts = alert_posts(meridian)
    return posts[0] if posts else None


def updates(meridian: Meridian) -> list[dict[str, Any]]:
    return meridian.calls("chat.update")


def link(params: dict[str, Any], label: str) -> str:
    """The address a post links under ``label`` (Slack's ``<url|label>``, with ``&`` escaped)."""
    found = re.search(r"<(https?://[^|>]+)\|" + re.escape(label) + ">", shown(params))
    assert found, f"no {label} link in {shown(params)}"
    return html.unescape(found.group(1))


async def manager_alert(alertmanager: str) -> dict[str, Any] | None:
    """``ChurnModelLatencyHigh`` as Alertmanager holds it (API v2), or ``None``."""
    alerts = await get_json(f"{alertmanager}/api/v2/alerts", filter='alertname="ChurnModelLatencyHigh"')
    return alerts[0] if alerts else None


async def running_silences(alertmanager: str) -> list[dict[str, Any]]:
    found = await get_json(f"{alertmanager}/api/v2/silences")
    return [s for s in found if s["status"]["state"] != "expired"]


async def test_a_rule_fires_is_silenced_from_slack_and_resolves(stack: Stack) -> None:
    slack, am = stack.meridian, stack.alertmanager

    # the gauge crosses the threshold: Prometheus fires, Alertmanager delivers, the app posts once
    stack.gauges.latency["churn-model"] = 250.0

    post = await until("the firing alert posted to Slack", lambda: first_post(slack))
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
    blocks = post["blocks"] if isinstance(post["blocks"], list) else json.loads(post["blocks"])
    kinds = [b["type"] for b in blocks if "Over to Alice (owner" in json.dumps(b) or b["type"] == "actions"]
    assert kinds == ["section", "actions"], "who it is over to is said above the buttons"
    assert offered["Runbook"]["url"] == RUNBOOK

    # Silence 1 h, pressed as Slack sends it: a silence in Alertmanager for exactly this alert's labels
    assert (await slack.press(offered["Silence 1 h"], "U0ALICE")).startswith("Silenced until")
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
    assert await slack.press(buttons(silenced)["Lift silence"], "U0RAVI") == \
        "Silence lifted; the alert notifies again."
    assert await running_silences(am) == []

    async def active_again() -> bool:
        held = await manager_alert(am)
        return held is not None and held["status"]["state"] == "active"

    await until("the alert unmuted in Alertmanager", active_again)
    await until("the post saying who lifted it", lambda: _latest(slack, "🔔 Silence lifted by Ravi"))

    # the gauge falls: Prometheus resolves, Alertmanager sends `resolved`, the same post is edited
    stack.gauges.latency["churn-model"] = 120.0
    resolved = await until("the post edited to resolved", lambda: _latest(slack, "✅ RESOLVED ChurnModelLatencyHigh"))
    assert "churn-model p99 latency above 200 ms" in shown(resolved) and "lasted " in shown(resolved)
    assert "Alice: silenced 1 h" in shown(resolved) and "Ravi: lifted the silence" in shown(resolved)
    assert buttons(resolved) == {}
    assert link(resolved, "Source") == source
    assert len(alert_posts(slack)) == 1, "one post for the alert, edited, never a second"


async def test_an_alert_resolving_while_silenced_is_seen_resolved(stack: Stack) -> None:
    """Alertmanager sends nothing for a muted alert, its resolution included, and forgets it once resolved:
    Meridian looks the silenced alert up itself and edits the post."""
    slack, am = stack.meridian, stack.alertmanager
    stack.gauges.latency["churn-model"] = 250.0

    post = await until("the firing alert posted to Slack", lambda: first_post(slack))
    assert (await slack.press(buttons(post)["Silence 4 h"], "U0ALICE")).startswith("Silenced until")
    silence = (await running_silences(am))[0]
    stack.gauges.latency["churn-model"] = 120.0

    async def gone() -> bool:
        return await manager_alert(am) is None

    await until("Prometheus resolving the alert in Alertmanager", gone)
    resolved = await until("the post edited to resolved", lambda: _latest(slack, "✅ RESOLVED ChurnModelLatencyHigh"))
    assert "🔕 Silenced by Alice until" in shown(resolved) and buttons(resolved) == {}
    assert [s["id"] for s in await running_silences(am)] == [silence["id"]], "the silence itself is left as set"
    assert len(alert_posts(slack)) == 1


async def test_a_missed_scrape_reopens_the_post_instead_of_posting_again(stack: Stack) -> None:
    """The series vanishing for a few scrapes (a slow or restarting exporter) resolves the alert in Prometheus and
    fires it again with a new start: the channel keeps one post, edited, not one per flap."""
    slack = stack.meridian
    stack.gauges.latency["churn-model"] = 250.0

    await until("the firing alert posted to Slack", lambda: first_post(slack))
    stack.gauges.latency.pop("churn-model")
    await until("Prometheus resolving the alert in Alertmanager",
                lambda: _absent(manager_alert(stack.alertmanager)))
    stack.gauges.latency["churn-model"] = 250.0
    reopened = await until("the post edited to firing again",
                           lambda: _latest(slack, "resolved and fired again"))
    assert "🔥 FIRING ChurnModelLatencyHigh" in shown(reopened) and "RESOLVED" not in shown(reopened)
    assert "Silence 1 h" in buttons(reopened)
    assert len(alert_posts(slack)) == 1


async def _absent(found: Awaitable[object | None]) -> bool:
    return await found is None


async def _latest(slack: Meridian, text: str) -> dict[str, Any] | None:
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
        assert samples and samples[-1].value == 180.0 and {s.value for s in samples} <= {120.0, 180.0}
        assert [s.at for s in samples] == sorted(s.at for s in samples)
    finally:
        await source.close()

    # the drift digest on demand, as a member asks for it on Slack: the reading, and the range query's reason
    digest = await stack.meridian.command("/drift", "churn-model", "U0ALICE")
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
