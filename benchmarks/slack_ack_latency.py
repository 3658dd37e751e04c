"""Acknowledgement latency of slash commands: ``meridian serve`` against a bare bolt app.

Both servers run as separate processes on loopback and get the same load in the same
run, interleaved round by round (the next burst starts once Meridian's work behind the
previous acks is done, so each burst measures acknowledgements, not leftover work): 50 concurrent signed requests at a time of
``/standup help`` (answered through the response URL) and ``/standup`` (which opens
the answer modal). The bare baseline is a bolt ``AsyncApp`` whose only listener acks
``/standup``. Targets: Meridian/baseline ≤ 1.2 (p50 and p99) and Meridian p99 ≤ 100 ms.

    python benchmarks/slack_ack_latency.py [--rounds 20] [--concurrency 50]
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._slack_common import (
    SECRET,
    TOKEN,
    command_body,
    free_port,
    percentile,
    serve,
    signed,
    wait_until_up,
)
from tests.emulators.slack import SlackEmulator


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


async def burst(session: aiohttp.ClientSession, url: str, text: str, user: str, response_url: str,
                n: int) -> list[float]:
    async def one() -> float:
        body = command_body(text, user, response_url)
        headers = signed(body)
        start = time.perf_counter()
        async with session.post(url, data=body, headers=headers) as resp:
            await resp.read()
            if resp.status != 200:
                raise RuntimeError(f"{url} answered {resp.status}")
        return (time.perf_counter() - start) * 1000

    return list(await asyncio.gather(*(one() for _ in range(n))))


async def until_answered(emulator: SlackEmulator, calls: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while len(emulator.calls("response_url")) + len(emulator.calls("views.open")) < calls:
        if time.monotonic() > deadline:
            raise RuntimeError("Meridian did not finish the work behind its acks")
        await asyncio.sleep(0.02)


async def main(rounds: int, concurrency: int) -> int:
    emulator = SlackEmulator()
    api = await emulator.start()
    emulator.add_user("U0BENCH", "Bench", "Europe/Berlin", is_admin=True)
    tmp = Path(tempfile.mkdtemp(prefix="meridian-bench-"))
    ours_port, bare_port = free_port(), free_port()
    ours = serve(ours_port, api, tmp / "bench.db", ["--no-scheduler"])
    bare = subprocess.Popen([sys.executable, __file__, "--bare", str(bare_port), "--api", api])
    try:
        await wait_until_up(f"http://127.0.0.1:{ours_port}/healthz")
        await wait_until_up(f"http://127.0.0.1:{bare_port}/healthz")
        targets = {"meridian": f"http://127.0.0.1:{ours_port}/slack/events",
                   "bare bolt": f"http://127.0.0.1:{bare_port}/slack/events"}
        reply_to = emulator.response_url("bench")
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as session:
            # Set up a stand-up so that `/standup` opens the answer modal; warm both servers up.
            await burst(session, targets["meridian"], "setup daily channel=C0BENCH at=09:30", "U0BENCH", reply_to, 1)
            await asyncio.sleep(1.0)
            for url in targets.values():
                await burst(session, url, "help", "U0BENCH", reply_to, concurrency)
            await asyncio.sleep(1.0)
            samples: dict[tuple[str, str], list[float]] = {}
            for _ in range(rounds):
                for label in ("help", ""):
                    for name, url in targets.items():
                        done_before = len(emulator.calls("response_url")) + len(emulator.calls("views.open"))
                        samples.setdefault((name, label), []).extend(
                            await burst(session, url, label, "U0BENCH", reply_to, concurrency))
                        if name == "meridian":  # its work after the acks ends before the next burst starts
                            await until_answered(emulator, done_before + concurrency)
                        await asyncio.sleep(0.2)
        await asyncio.sleep(1.0)
    finally:
        for proc in (ours, bare):
            proc.terminate()
        for proc in (ours, bare):
            proc.wait(10)
        await emulator.stop()

    modals = len(emulator.calls("views.open"))
    answers = len(emulator.calls("response_url"))
    print(f"ack latency, {rounds} rounds of {concurrency} concurrent signed requests per command and server")
    print(f"{'command':<16}{'server':<12}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    ok = True
    for label, shown in (("help", "/standup help"), ("", "/standup")):
        figures = {}
        for name in ("bare bolt", "meridian"):
            values = samples[(name, label)]
            figures[name] = (percentile(values, 50), percentile(values, 99))
            print(f"{shown:<16}{name:<12}{figures[name][0]:>9.1f}{figures[name][1]:>9.1f}{max(values):>9.1f}")
        r50 = figures["meridian"][0] / figures["bare bolt"][0]
        r99 = figures["meridian"][1] / figures["bare bolt"][1]
        verdict = r50 <= 1.2 and r99 <= 1.2 and figures["meridian"][1] <= 100
        ok = ok and verdict
        print(f"{shown:<16}ratio p50 {r50:.2f}, p99 {r99:.2f} (target ≤ 1.20); meridian p99 "
              f"{figures['meridian'][1]:.1f} ms (target ≤ 100): {'met' if verdict else 'NOT met'}")
    print(f"work done after the acks: {modals} modals opened by /standup ({rounds * concurrency} sent), "
          f"{answers} replies through response URLs")
    return 0 if ok else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--bare", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--api", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare:
        run_bare(args.bare, args.api)
    else:
        sys.exit(asyncio.run(main(args.rounds, args.concurrency)))
