"""Fan-out: 1,000 reminder DMs through the core's outbox to a Slack limited to 50 posts a second.

The emulator answers ``chat.postMessage`` beyond 50 calls in a one-second window with
HTTP 429 and ``Retry-After``; the outbox waits it out and goes on. The limit allows
1,000 posts in 20 s: the target is a total ≤ 1.05 × 20 s = 21 s with fewer than 50 answers
of 429, 0 lost and 0 duplicated (every person gets exactly one DM, every outbox entry ends
``sent``). The Slack adapter paces itself (``adapters/slack/pacing.py``): it is told no limit,
and learns it from the first 429.

With ``--pg-rtt-ms 2`` the fan-out runs on PostgreSQL twice, each time on a new database: over
loopback, then behind a proxy adding 2 ms to every round trip (``tests/pg_proxy.py``, in a process
of its own), as a database in the next rack would; both are held to the same target.

``--via engine`` sends them as the scheduler does: a team of ``--people`` members whose stand-up
reminder is due now is imported, and one ``engine.run_due()`` sends every reminder (and opens the
day's thread in the channel: one post more) through the whole reminder path, its reads and writes
included, with the engine's own concurrency (``--concurrency`` is the outbox run's).

    python benchmarks/slack_fanout.py [--people 1000] [--rate 50] [--concurrency 200] [--pg-rtt-ms 2]
                                      [--via outbox|engine]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adapters.slack.app import slack_chat
from adapters.slack.config import SlackConfig
from benchmarks._slack_common import ROOT, free_port
from bot.bootstrap import build_core, open_store
from bot.kernel.clock import SystemClock
from bot.kernel.domain import Member, Workspace
from bot.kernel.messages import Message
from bot.kernel.team import apply_team
from bot.kernel.teamfile import parse_team
from storage.db import make_engine
from storage.slack.repo import SlackRepo

MAX_REFUSALS = 50
DAY = "2027-03-15"


@dataclass
class Run:
    """One fan-out's figures."""

    elapsed: float
    refused: int
    delivered: int
    lost: int
    duplicated: int
    unsent: int
    pace: str
    statements: float
    """SQL statements per DM in the timed pass."""
    cpu: float
    """CPU seconds this process used in the timed pass: on a shared machine, what the wall time is made of."""

    def met(self, target: float) -> bool:
        return (self.elapsed <= target and self.refused < MAX_REFUSALS and self.lost == 0 and self.duplicated == 0
                and self.unsent == 0)


def team(ids: list[str]) -> str:
    """``ids`` as members whose stand-up reminder is due this minute, every day, at any hour."""
    every_day = "[mon, tue, wed, thu, fri, sat, sun]"
    lines = ["workspace: T0001", "members:"]
    lines += [f"  - {{id: {uid}, name: Person {uid}, tz: UTC, hours: '00:00-23:59', workdays: {every_day}, "
              f"accounts: {{slack: {uid}}}}}" for uid in ids]
    lines += ["standups:", f"  - {{name: daily, channel: C0BENCH, remind_at: '{datetime.now(UTC):%H:%M}', "
                           f"days: {every_day}, members: all}}"]
    return "\n".join(lines) + "\n"


async def fan_out(db: str, people: int, rate: int, concurrency: int, via: str = "outbox") -> Run:
    """1,000 reminder DMs on the database ``db``, to a Slack allowing ``rate`` posts a second: through the
    outbox, or (``via="engine"``) as the scheduler sends a stand-up's reminders."""
    # Slack is another machine: the emulator runs in its own process, so its work is not counted as ours.
    port = free_port()
    emulator = subprocess.Popen([sys.executable, "-m", "tests.emulators.slack", "--port", str(port),
                                 "--rate-limit", f"chat.postMessage={rate}"], cwd=str(ROOT),
                                env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE)
    assert emulator.stdout is not None
    api = emulator.stdout.readline().decode().strip()
    config = SlackConfig(signing_secret="s", bot_token="xoxb-T0001-fanout", api_url=api)
    slack_engine = make_engine(db)
    chat = slack_chat(config, SlackRepo(slack_engine))
    store = open_store(db)
    app = build_core(store, SystemClock(), {"slack": chat}, worker="bench", attach=[chat.attach])
    app.store.upsert_workspace(Workspace("T0001", platform="slack", name="bench"))
    ids = [f"U{n:07d}" for n in range(people)]
    if via == "engine":
        apply_team(app, parse_team(team(ids), "team.yaml", app.sections), platform="slack")
        app.engine.plan(force=True)
    else:
        app.store.upsert_members([Member("T0001", uid, f"Person {uid}", tz="Europe/Berlin",
                                         accounts={"slack": uid}) for uid in ids])
    gate = asyncio.Semaphore(concurrency)
    statements = [0]  # each one a round trip to the database: what an added latency multiplies

    def count(*_args: object) -> None:
        statements[0] += 1

    for counted in (store.engine, slack_engine):
        event.listen(counted, "before_cursor_execute", count)

    async def remind(uid: str) -> None:
        async with gate:
            await app.outbox.dm(f"standup:daily:reminder:{uid}:{DAY}", "T0001", uid,
                                Message.text(f"Good morning! Time for your stand-up ({DAY})."))

    async def send_all() -> None:
        if via == "engine":
            await app.engine.run_due()
        else:
            await asyncio.gather(*(remind(uid) for uid in ids))

    start, cpu_start = time.perf_counter(), time.process_time()
    await send_all()
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    per_dm = statements[0] / people
    # A second pass, as after a restart or a duplicate event: nothing may be sent again.
    await send_all()
    async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}/_emulator/calls") as resp:
        calls = await resp.json()
    pace = chat.pacer.method("T0001", "chat.postMessage")
    await chat.close()
    emulator.terminate()
    emulator.wait(10)

    posted = Counter(str(c["where"]) for c in calls if c["method"] == "chat.postMessage")
    if via == "engine":  # every DM and the thread's opening post
        entries = app.store.outbox_entries("T0001")
        unsent = people + 1 - sum(1 for e in entries if e.status == "sent")
    else:
        unsent = sum(1 for uid in ids if (e := app.store.outbox_get(f"standup:daily:reminder:{uid}:{DAY}")) is None
                     or e.status != "sent")
    store.engine.dispose()  # the database is dropped next: no connection may linger
    slack_engine.dispose()
    return Run(elapsed=elapsed, refused=sum(1 for c in calls if c["method"] == "chat.postMessage#429"),
               delivered=sum(posted.values()), lost=sum(1 for uid in ids if posted.get("D" + uid[1:], 0) == 0),
               duplicated=sum(n - 1 for n in posted.values() if n > 1), unsent=unsent,
               pace=f"{pace.limit} per {pace.window + pace.margin:.2f} s", statements=per_dm, cpu=cpu)


def report(label: str, run: Run, target: float) -> None:
    print(f"{label}: total {run.elapsed:.1f} s (target ≤ {target:.1f} s); 429 answers waited out {run.refused} "
          f"(target < {MAX_REFUSALS}); delivered {run.delivered}; lost {run.lost}; duplicated {run.duplicated}; "
          f"outbox entries not sent {run.unsent}; pace learnt {run.pace}; {run.statements:.1f} statements a DM; "
          f"CPU {run.cpu:.1f} s — "
          + ("target met" if run.met(target) else "target NOT met"))


async def main(people: int, rate: int, concurrency: int, pg_rtt_ms: float | None, via: str) -> int:
    posts = people + (1 if via == "engine" else 0)  # the engine also opens the day's thread
    floor = posts / rate
    target = 1.05 * floor
    print(f"fan-out of {people} reminder DMs through the {via}, chat.postMessage limited to {rate}/s, "
          f"{concurrency} in flight; the limit allows {floor:.1f} s")
    if pg_rtt_ms is None:
        db = f"sqlite:///{Path(tempfile.mkdtemp(prefix='meridian-fanout-')) / 'fanout.db'}"
        run = await fan_out(db, people, rate, concurrency, via)
        report("SQLite", run, target)
        return 0 if run.met(target) else 1
    from tests.pg_proxy import proxied, round_trip_ms, scratch_database

    with scratch_database() as db:
        loopback = await fan_out(db, people, rate, concurrency, via)
        report(f"PostgreSQL over loopback ({round_trip_ms(db):.2f} ms a round trip)", loopback, target)
    with scratch_database() as db, proxied(db, rtt_ms=pg_rtt_ms) as proxy:
        added = proxy.added_rtt_ms()
        delayed = await fan_out(proxy.url, people, rate, concurrency, via)
        report(f"PostgreSQL at {pg_rtt_ms:g} ms added RTT ({added:.2f} ms measured)", delayed, target)
    return 0 if loopback.met(target) and delayed.met(target) else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=1000)
    parser.add_argument("--rate", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--pg-rtt-ms", type=float, default=None, metavar="MS",
                        help="run on PostgreSQL, over loopback and behind a proxy adding MS to each round trip")
    parser.add_argument("--via", choices=("outbox", "engine"), default="outbox",
                        help="send through the outbox alone, or as the scheduler sends a stand-up's reminders")
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.people, args.rate, args.concurrency, args.pg_rtt_ms, args.via)))
