"""Fan-out on Teams: N reminder DMs through the outbox, the Teams adapter and a local Bot Connector.

Nobody has a 1:1 chat with the bot yet, so each DM is two connector calls (create the
chat, then send), the way a first stand-up day goes. The baseline is the same fan-out
through the console chat: the difference is what the Teams adapter (botbuilder, the
card rendering, the stored references) costs per DM. The connector emulator runs in
the same process, so its own work is counted too: the figure is an upper bound.
Every person must get exactly one DM and every outbox entry must end ``sent``. The adapter keeps
Teams' documented limits (50 requests a second per app in a tenant), so the fan-out can take no
less than calls / 50 s: the target is at most 1.1 × that bound.

With ``--pg-rtt-ms 2`` the Teams fan-out runs on PostgreSQL, over loopback and behind a proxy adding
2 ms to every round trip (``tests/pg_proxy.py``), instead of SQLite; the baseline stays on SQLite.

    python benchmarks/teams_fanout.py [--people 500] [--concurrency 50] [--runs 3] [--connector-latency-ms 150]
                                      [--pg-rtt-ms 2]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adapters.console.chat import ConsoleChat
from adapters.teams.chat import TeamsChat
from adapters.teams.pacing import PER_TENANT
from adapters.teams.server import TeamsConfig, build_adapter
from benchmarks.slack_fanout import Run as SlackRun
from benchmarks.slack_fanout import fan_out as slack_run
from bot.bootstrap import build_core, open_store
from bot.kernel.clock import SystemClock
from bot.kernel.domain import Member, Workspace
from bot.kernel.messages import Actions, Button, Header, Message, Section, rich
from storage.db import make_engine
from storage.teams.repo import TeamsRepo
from tests.emulators.teams import BOT_ID

ROOT = Path(__file__).resolve().parent.parent
TENANT = "bench-tenant"
TARGET = 1.1
"""The fan-out may take at most this many times the least time Teams' documented limits allow."""
SLACK_RATE = 50
SLACK_CONCURRENCY = 200
SLACK_TARGET = 1.05
"""``benchmarks/slack_fanout.py``'s own target."""
REMINDER = Message((Header("☀️ Stand-up: daily — Mon 15 Mar 2027"), Section(rich("What did you get done?")),
                    Actions((Button("Answer", "standup.answer", "daily|2027-03-15", "primary"),))),
                   fallback="daily stand-up")


async def fan_out(app: Any, people: int, concurrency: int) -> float:
    app.store.upsert_members([Member(TENANT, f"p{n}", f"Person {n}", accounts={"teams": f"29:p{n}"})
                              for n in range(people)])
    limit = asyncio.Semaphore(concurrency)

    async def one(n: int) -> None:
        async with limit:
            await app.outbox.dm(f"bench:reminder:p{n}", TENANT, f"p{n}", REMINDER)

    started = time.perf_counter()
    await asyncio.gather(*(one(n) for n in range(people)))
    return time.perf_counter() - started


def fresh_db() -> str:
    return f"sqlite:///{Path(tempfile.mkdtemp(prefix='meridian-teams-fanout-')) / 'fanout.db'}"


@dataclass
class TeamsRun:
    elapsed: float
    creates: int
    sends: Counter[str]
    lost: int
    refused: int
    """Calls the connector refused (a card Teams would not take, a 429): none is expected."""
    cpu: float
    """CPU seconds this process (the bot, not the connector) used during the fan-out."""
    statements: float
    """SQL statements a DM, each a round trip to the database."""

    @property
    def duplicated(self) -> int:
        return sum(n - 1 for n in self.sends.values() if n > 1)

    @property
    def calls(self) -> int:
        return self.creates + sum(self.sends.values())


async def teams_fan_out(db: str, people: int, concurrency: int, latency_ms: float = 0.0) -> TeamsRun:
    """The fan-out through the Teams adapter and a local Bot Connector (its own process), on the database ``db``."""
    connector = subprocess.Popen([sys.executable, str(ROOT / "benchmarks" / "_teams_connector.py"),
                                  "--latency-ms", str(latency_ms)], cwd=str(ROOT),
                                 env={**os.environ, "PYTHONPATH": str(ROOT)}, stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, text=True)
    assert connector.stdin is not None and connector.stdout is not None
    url = connector.stdout.readline().strip()
    store = open_store(db)
    teams_engine = make_engine(db)
    config = TeamsConfig(EMULATOR_URL=url)  # the local connector is the one service URL it may call
    chat = TeamsChat(build_adapter(config), TeamsRepo(teams_engine), config.APP_ID, config.service_urls)
    app = build_core(store, SystemClock(), {"teams": chat}, worker="bench", attach=[chat.attach])
    app.store.upsert_workspace(Workspace(TENANT, platform="teams"))
    # The tenant was heard from once (the app's install in a team): its service URL and the bot's id.
    chat.repo.save_conversation(TENANT, "19:general@thread.tacv2", "channel", url,
                                {"channelId": "msteams", "serviceUrl": url, "bot": {"id": BOT_ID},
                                 "conversation": {"id": "19:general@thread.tacv2"}}, time_now(), label="#general")
    statements = Counter[str]()  # each one a round trip to the database: what an added latency multiplies

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements[" ".join(statement.split()[:4])] += 1

    for counted in (store.engine, teams_engine):
        event.listen(counted, "before_cursor_execute", count)
    cpu_start = time.process_time()
    elapsed = await fan_out(app, people, concurrency)
    cpu = time.process_time() - cpu_start
    if os.environ.get("MERIDIAN_BENCH_STATEMENTS"):
        print(statements.most_common(20))
    connector.stdin.close()
    heard = json.loads(connector.stdout.readline())
    connector.wait(10)
    entries = [e for e in store.outbox_entries(TENANT) if e.key.startswith("bench:")]
    lost = people - sum(1 for e in entries if e.status == "sent")
    store.engine.dispose()  # a scratch database is dropped next: no connection may linger
    teams_engine.dispose()
    return TeamsRun(elapsed, heard["creates"], Counter(heard["sends"]), lost, heard["refused"], cpu,
                    sum(statements.values()) / people)


def teams_bound(run: TeamsRun) -> float:
    """The least time Teams' documented limits allow for the run's calls: 50 a second per app in a tenant
    (``PER_TENANT`` in adapters/teams/pacing.py); the per-conversation limits never bind, two calls a chat."""
    return run.calls / PER_TENANT[0][0] * PER_TENANT[0][1]


def teams_met(run: TeamsRun, people: int) -> bool:
    return (run.lost == 0 and run.duplicated == 0 and run.refused == 0 and len(run.sends) == people
            and run.elapsed <= TARGET * teams_bound(run))


def report(label: str, run: TeamsRun, people: int, baseline: float) -> bool:
    bound = teams_bound(run)
    met = teams_met(run, people)
    print(f"{label}: teams (create + send) {run.elapsed:.2f} s, {1000 * run.elapsed / people:.2f} ms per DM, "
          f"{people / run.elapsed:.0f} DMs/s, CPU {1000 * run.cpu / people:.2f} ms and {run.statements:.1f} SQL "
          f"statements per DM; adapter cost over the "
          f"baseline {1000 * (run.elapsed - baseline) / people:.2f} ms per DM")
    print(f"  connector calls: {run.creates} create, {sum(run.sends.values())} send, {run.refused} refused; "
          f"lost {run.lost}, duplicated {run.duplicated}; the documented limit allows {run.calls} calls in "
          f"{bound:.1f} s; ratio {run.elapsed / bound:.2f}, target ≤ {TARGET} × that = {TARGET * bound:.1f} s: "
          + ("met" if met else "NOT met"))
    return met


def slack_fan_out(people: int) -> SlackRun:
    """The same DMs on Slack (``benchmarks/slack_fanout.py``): one call a DM, 50 posts a second allowed."""
    db = f"sqlite:///{Path(tempfile.mkdtemp(prefix='meridian-fanout-')) / 'fanout.db'}"
    return asyncio.run(slack_run(db, people, SLACK_RATE, SLACK_CONCURRENCY))


def median_of(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} s (" + ", ".join(f"{v:.2f}" for v in values) + ")"


def side_by_side(people: int, baseline: list[float], slack: list[SlackRun], teams: list[TeamsRun]) -> None:
    """The figures the issue asks for, medians first: Teams against its bound, beside Slack and the baseline."""
    teams_time = statistics.median(r.elapsed for r in teams)
    bound = teams_bound(teams[0])
    slack_time = statistics.median(r.elapsed for r in slack)
    slack_bound = people / SLACK_RATE
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"\n{people} first-day DMs, median of {len(teams)} runs (each run's figure in brackets); "
          f"load average now {load} on {os.cpu_count()} cores")
    print(f"  baseline, console chat:        {median_of(baseline)}")
    print(f"  Slack, {people} calls at 50/s:    {median_of([r.elapsed for r in slack])}; bound {slack_bound:.1f} s, "
          f"ratio {slack_time / slack_bound:.2f} (target ≤ {SLACK_TARGET})")
    print(f"  Teams, {teams[0].calls} calls at 50/s:   {median_of([r.elapsed for r in teams])}; bound {bound:.1f} s, "
          f"ratio {teams_time / bound:.2f} (target ≤ {TARGET}); CPU "
          f"{1000 * statistics.median(r.cpu for r in teams) / people:.1f} ms per DM")


async def teams_runs(people: int, concurrency: int, runs: int,
                     latency_ms: float) -> tuple[list[float], list[TeamsRun]]:
    baseline: list[float] = []
    teams: list[TeamsRun] = []
    for n in range(runs):
        # Baseline: the core and its outbox with the console chat.
        console = ConsoleChat(SystemClock(), out=io.StringIO())
        base_app = build_core(open_store(fresh_db()), SystemClock(), {"console": console}, worker="bench")
        base_app.store.upsert_workspace(Workspace(TENANT, platform="console"))
        baseline.append(await fan_out(base_app, people, concurrency))
        print(f"run {n + 1}: baseline (console chat, SQLite): {baseline[-1]:.2f} s, "
              f"{1000 * baseline[-1] / people:.2f} ms per DM")
        teams.append(await teams_fan_out(fresh_db(), people, concurrency, latency_ms))
        report(f"run {n + 1}: SQLite", teams[-1], people, baseline[-1])
    return baseline, teams


def main(people: int, concurrency: int, pg_rtt_ms: float | None, runs: int, latency_ms: float) -> int:
    print(f"people: {people}, concurrency: {concurrency}; load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    if pg_rtt_ms is not None:
        return asyncio.run(on_postgres(people, concurrency, pg_rtt_ms))
    if latency_ms:
        print(f"the connector answers each call {latency_ms:g} ms late")
    baseline, teams = asyncio.run(teams_runs(people, concurrency, runs, latency_ms))
    slack = [slack_fan_out(people) for _ in range(runs)]
    side_by_side(people, baseline, slack, teams)
    met = statistics.median(r.elapsed / teams_bound(r) for r in teams) <= TARGET and all(
        r.lost == 0 and r.duplicated == 0 and r.refused == 0 and len(r.sends) == people for r in teams)
    print("Teams target " + ("met" if met else "NOT met"))
    return 0 if met else 1


async def on_postgres(people: int, concurrency: int, pg_rtt_ms: float) -> int:
    from tests.pg_proxy import proxied, round_trip_ms, scratch_database

    console = ConsoleChat(SystemClock(), out=io.StringIO())
    base_app = build_core(open_store(fresh_db()), SystemClock(), {"console": console}, worker="bench")
    base_app.store.upsert_workspace(Workspace(TENANT, platform="console"))
    baseline = await fan_out(base_app, people, concurrency)
    print(f"baseline (console chat, SQLite): {baseline:.2f} s, {1000 * baseline / people:.2f} ms per DM")
    with scratch_database() as db:
        rtt = round_trip_ms(db)
        loopback = report(f"PostgreSQL over loopback ({rtt:.2f} ms a round trip)",
                          await teams_fan_out(db, people, concurrency), people, baseline)
    with scratch_database() as db, proxied(db, rtt_ms=pg_rtt_ms) as proxy:
        added = proxy.added_rtt_ms()
        delayed = report(f"PostgreSQL at {pg_rtt_ms:g} ms added RTT ({added:.2f} ms measured)",
                         await teams_fan_out(proxy.url, people, concurrency), people, baseline)
    return 0 if loopback and delayed else 1


def time_now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--pg-rtt-ms", type=float, default=None, metavar="MS",
                        help="run on PostgreSQL, over loopback and behind a proxy adding MS to each round trip")
    parser.add_argument("--runs", type=int, default=3, help="repeat the fan-outs this many times; medians are reported")
    parser.add_argument("--connector-latency-ms", type=float, default=0.0, metavar="MS",
                        help="the connector answers each create and send MS later, as one across the internet does")
    args = parser.parse_args()
    sys.exit(main(args.people, args.concurrency, args.pg_rtt_ms, args.runs, args.connector_latency_ms))
