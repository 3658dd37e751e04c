"""Acknowledgement latency of slash commands: ``meridian serve`` against a bare bolt app.

Both servers run as separate processes on loopback and get the same load in the same
run, interleaved round by round (the next burst starts once Meridian's work behind the
previous acks is done, so each burst measures acknowledgements, not leftover work): 50
concurrent signed requests at a time of ``/standup help`` (answered through the response
URL) and ``/standup`` (which opens the answer modal). The bare baseline is a bolt
``AsyncApp`` whose only listener acks ``/standup``. Slack (the emulator) runs in a process
of its own, as it is another machine: the work behind Meridian's acks calls it, and that
must not slow the client that times the acks.

Two phases, each with the bare bolt app measured beside it:

- **idle**: nothing else runs in the ``meridian serve`` process;
- **fan-out**: a team of 1,000 people is imported whose stand-up reminder is due at once, so
  the process's own scheduler sends 1,000 reminder DMs (Slack allowing 50 posts a second,
  as in ``slack_fanout.py``) while the bursts are timed; only bursts that start and end
  while the fan-out runs are counted.

Targets: Meridian/baseline ≤ 1.2 (p50 and p99) in both phases; Meridian p99 ≤ 100 ms idle.

Meridian's database is a SQLite file; with ``--pg-rtt-ms 2`` it is a new PostgreSQL database
behind a proxy adding 2 ms to every round trip (``tests/pg_proxy.py``, in a process of its
own), as a database in the next rack would. The bare bolt app has no database either way.

    python benchmarks/slack_ack_latency.py [--rounds 20] [--concurrency 50] [--people 1000] [--no-fanout]
                                           [--pg-rtt-ms 2]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._slack_common import (
    ROOT,
    SECRET,
    TOKEN,
    command_body,
    free_port,
    percentile,
    serve,
    signed,
    wait_until_up,
)

BENCH_USER = "U0BENCH"
POSTS_PER_SECOND = 50
COMMANDS = (("help", "/standup help"), ("", "/standup"))
Samples = dict[tuple[str, str], list[float]]


def run_bare(port: int, api_url: str) -> None:
    """The baseline: bolt's AsyncApp on aiohttp, acking /standup and nothing else."""
    from aiohttp import web
    from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
    from slack_bolt.app.async_app import AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient

    bolt = AsyncApp(signing_secret=SECRET, client=AsyncWebClient(token=TOKEN, base_url=api_url))

    @bolt.command("/standup")
    async def ack_only(ack):  # type: ignore[no-untyped-def]
        await ack()

    async def handle(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    app = web.Application()
    app.router.add_post("/slack/events", handle)
    app.router.add_get("/healthz", lambda _r: web.Response(text="ok"))  # type: ignore[arg-type,return-value]
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


class Slack:
    """The emulator in its own process, and what it was asked."""

    def __init__(self) -> None:
        port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.emulators.slack", "--port", str(port), "--admin", BENCH_USER,
             "--rate-limit", f"chat.postMessage={POSTS_PER_SECOND}"],
            cwd=str(ROOT), env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE)
        assert self.proc.stdout is not None
        self.api = self.proc.stdout.readline().decode().strip()
        self.base = f"http://127.0.0.1:{port}"

    def response_url(self, name: str) -> str:
        return f"{self.base}/response/{name}"

    async def counts(self, session: aiohttp.ClientSession) -> dict[str, int]:
        async with session.get(f"{self.base}/_emulator/counts") as resp:
            counts: dict[str, int] = await resp.json()
            return counts

    async def answered(self, session: aiohttp.ClientSession) -> int:
        counts = await self.counts(session)
        return counts.get("response_url", 0) + counts.get("views.open", 0)

    async def dms(self, session: aiohttp.ClientSession) -> int:
        return (await self.counts(session)).get("chat.postMessage", 0)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


async def burst(session: aiohttp.ClientSession, url: str, text: str, response_url: str, n: int) -> list[float]:
    """``n`` requests at once; the time of each as this client sees it.

    The client's own garbage collector is held off while a burst is in flight: a full pass here (tens of
    milliseconds once the samples pile up) lands inside whichever burst is running, and showed as the
    first half of a burst taking 50 ms, on either server, while neither server's loop had stalled."""
    gc.collect()
    gc.disable()
    try:
        return await _timed(session, url, text, response_url, n)
    finally:
        gc.enable()


async def _timed(session: aiohttp.ClientSession, url: str, text: str, response_url: str, n: int) -> list[float]:
    async def one() -> float:
        body = command_body(text, BENCH_USER, response_url)
        headers = signed(body)
        start = time.perf_counter()
        async with session.post(url, data=body, headers=headers) as resp:
            await resp.read()
            if resp.status != 200:
                raise RuntimeError(f"{url} answered {resp.status}")
        return (time.perf_counter() - start) * 1000

    return list(await asyncio.gather(*(one() for _ in range(n))))


async def until_answered(slack: Slack, session: aiohttp.ClientSession, calls: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while await slack.answered(session) < calls:
        if time.monotonic() > deadline:
            raise RuntimeError("Meridian did not finish the work behind its acks")
        await asyncio.sleep(0.05)


async def one_round(slack: Slack, session: aiohttp.ClientSession, targets: dict[str, str], concurrency: int,
                    samples: Samples) -> None:
    """Each command once to each server, Meridian's work behind its acks finished before the next burst."""
    reply_to = slack.response_url("bench")
    for label, _shown in COMMANDS:
        for name, url in targets.items():
            done_before = await slack.answered(session)
            samples.setdefault((name, label), []).extend(await burst(session, url, label, reply_to, concurrency))
            if name == "meridian":
                await until_answered(slack, session, done_before + concurrency)
            await asyncio.sleep(0.2)


def team_file(path: Path, people: int) -> None:
    """``people`` members (the bench user among them) whose stand-up reminder is due this minute, every day."""
    now = datetime.now(UTC)
    every_day = "[mon, tue, wed, thu, fri, sat, sun]"
    lines = ["workspace: T0001", "members:",
             f"  - {{id: {BENCH_USER}, name: Bench, tz: UTC, hours: '00:00-23:59', workdays: {every_day}, "
             f"admin: true, accounts: {{slack: {BENCH_USER}}}}}"]
    lines += [f"  - {{id: U{n:07d}, name: Person {n}, tz: UTC, hours: '00:00-23:59', workdays: {every_day}, "
              f"accounts: {{slack: U{n:07d}}}}}" for n in range(1, people)]
    lines += ["standups:", f"  - {{name: daily, channel: C0BENCH, remind_at: '{now:%H:%M}', days: {every_day}, "
                           "members: all}"]
    path.write_text("\n".join(lines) + "\n")


async def fanout_phase(slack: Slack, session: aiohttp.ClientSession, targets: dict[str, str], concurrency: int,
                       people: int, db: Path, database_url: str) -> tuple[Samples, int, float]:
    """Import a team whose reminders are due now, then time bursts while the scheduler sends them."""
    team = db.parent / "fanout-team.yaml"
    team_file(team, people)
    env = {**os.environ, "DATABASE_URL": database_url, "PYTHONPATH": str(ROOT), "SLACK_BOT_TOKEN": TOKEN,
           "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": slack.api}
    subprocess.run([sys.executable, "-m", "bot", "import", str(team), "--platform", "slack"], env=env,
                   cwd=str(db.parent), check=True, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while await slack.dms(session) == 0:  # the next scheduler tick (every 10 s) starts it
        if time.monotonic() > deadline:
            raise RuntimeError("the reminder fan-out did not start")
        await asyncio.sleep(0.05)
    started = time.monotonic()
    samples: Samples = {}
    rounds = 0
    while await slack.dms(session) < people:
        taken: Samples = {}
        await one_round(slack, session, targets, concurrency, taken)
        if await slack.dms(session) >= people:
            break  # this round outlasted the fan-out: not counted
        rounds += 1
        for key, values in taken.items():
            samples.setdefault(key, []).extend(values)
    while await slack.dms(session) < people:
        await asyncio.sleep(0.1)
    return samples, rounds, time.monotonic() - started


def report(title: str, samples: Samples, bare: Samples, absolute_p99: float | None) -> bool:
    print(title)
    print(f"{'command':<16}{'server':<12}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'n':>7}")
    ok = True
    for label, shown in COMMANDS:
        figures = {}
        for name, values in (("bare bolt", bare[("bare bolt", label)]), ("meridian", samples[("meridian", label)])):
            figures[name] = (percentile(values, 50), percentile(values, 99))
            print(f"{shown:<16}{name:<12}{figures[name][0]:>9.1f}{figures[name][1]:>9.1f}{max(values):>9.1f}"
                  f"{len(values):>7}")
        r50 = figures["meridian"][0] / figures["bare bolt"][0]
        r99 = figures["meridian"][1] / figures["bare bolt"][1]
        verdict = r50 <= 1.2 and r99 <= 1.2 and (absolute_p99 is None or figures["meridian"][1] <= absolute_p99)
        ok = ok and verdict
        limit = "" if absolute_p99 is None else f"; meridian p99 {figures['meridian'][1]:.1f} ms (target ≤ 100)"
        print(f"{shown:<16}ratio p50 {r50:.2f}, p99 {r99:.2f} (target ≤ 1.20){limit}: "
              f"{'met' if verdict else 'NOT met'}")
    return ok


async def main(rounds: int, concurrency: int, people: int, fanout: bool, pg_rtt_ms: float | None) -> int:
    if pg_rtt_ms is None:
        return await measure(rounds, concurrency, people, fanout, None)
    from tests.pg_proxy import proxied, scratch_database

    with scratch_database() as url, proxied(url, rtt_ms=pg_rtt_ms) as proxy:
        print(f"Meridian's database: PostgreSQL at {pg_rtt_ms:g} ms added RTT ({proxy.added_rtt_ms():.2f} ms measured)")
        return await measure(rounds, concurrency, people, fanout, proxy.url)


async def measure(rounds: int, concurrency: int, people: int, fanout: bool, database_url: str | None) -> int:
    """Both servers under the same load; Meridian on ``database_url``, or a new SQLite file."""
    slack = Slack()
    tmp = Path(tempfile.mkdtemp(prefix="meridian-bench-"))
    db = tmp / "bench.db"
    database_url = database_url or f"sqlite:///{db}"
    ours_port, bare_port = free_port(), free_port()
    ours = serve(ours_port, slack.api, db, database_url=database_url)  # with its scheduler: the fan-out is its work
    bare = subprocess.Popen([sys.executable, __file__, "--bare", str(bare_port), "--api", slack.api])
    fanned: tuple[Samples, int, float] | None = None
    try:
        await wait_until_up(f"http://127.0.0.1:{ours_port}/healthz")
        await wait_until_up(f"http://127.0.0.1:{bare_port}/healthz")
        targets = {"meridian": f"http://127.0.0.1:{ours_port}/slack/events",
                   "bare bolt": f"http://127.0.0.1:{bare_port}/slack/events"}
        reply_to = slack.response_url("bench")
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
            # Set up a stand-up so that `/standup` opens the answer modal; warm both servers up.
            await burst(session, targets["meridian"], "setup daily channel=C0BENCH at=09:30", reply_to, 1)
            await asyncio.sleep(1.0)
            for url in targets.values():
                await burst(session, url, "help", reply_to, concurrency)
            await asyncio.sleep(1.0)
            idle: Samples = {}
            for _ in range(rounds):
                await one_round(slack, session, targets, concurrency, idle)
            if fanout:
                fanned = await fanout_phase(slack, session, targets, concurrency, people, db, database_url)
            counts = await slack.counts(session)
    finally:
        for proc in (ours, bare):
            proc.terminate()
        for proc in (ours, bare):
            proc.wait(10)
        slack.stop()

    print(f"ack latency, bursts of {concurrency} concurrent signed requests per command and server")
    ok = report(f"idle: {rounds} rounds", idle, idle, 100.0)
    if fanned is not None:
        samples, taken, seconds = fanned
        ok = report(f"during a fan-out of {people} reminder DMs (Slack allowing {POSTS_PER_SECOND} posts/s; "
                    f"{seconds:.1f} s; {taken} rounds inside it)", samples, samples, None) and ok
    print(f"Slack calls: {counts.get('views.open', 0)} modals opened, {counts.get('response_url', 0)} replies "
          f"through response URLs, {counts.get('chat.postMessage', 0)} messages posted, "
          f"{counts.get('chat.postMessage#429', 0)} answers of 429")
    return 0 if ok else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--people", type=int, default=1000)
    parser.add_argument("--no-fanout", action="store_true", help="the idle phase only")
    parser.add_argument("--pg-rtt-ms", type=float, default=None, metavar="MS",
                        help="run Meridian on a new PostgreSQL database behind this much added round-trip time")
    parser.add_argument("--bare", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--api", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare:
        run_bare(args.bare, args.api)
    else:
        sys.exit(asyncio.run(main(args.rounds, args.concurrency, args.people, not args.no_fanout,
                                     args.pg_rtt_ms)))
