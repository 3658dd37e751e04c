"""Fan-out: 1,000 reminder DMs through the core's outbox to a Slack limited to 50 posts a second.

The emulator answers ``chat.postMessage`` beyond 50 calls in a one-second window with
HTTP 429 and ``Retry-After``; the outbox waits it out and goes on. The limit allows
1,000 posts in 20 s: the target is a total ≤ 1.05 × 20 s = 21 s with fewer than 50 answers
of 429, 0 lost and 0 duplicated (every person gets exactly one DM, every outbox entry ends
``sent``). The Slack adapter paces itself (``adapters/slack/pacing.py``): it is told no limit,
and learns it from the first 429.

    python benchmarks/slack_fanout.py [--people 1000] [--rate 50] [--concurrency 200]
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
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adapters.slack.app import slack_chat
from adapters.slack.config import SlackConfig
from benchmarks._slack_common import ROOT, free_port
from bot.bootstrap import build_core, open_store
from bot.kernel.clock import SystemClock
from bot.kernel.domain import Member, Workspace
from bot.kernel.messages import Message
from storage.db import make_engine
from storage.slack.repo import SlackRepo

MAX_REFUSALS = 50


async def main(people: int, rate: int, concurrency: int) -> int:
    # Slack is another machine: the emulator runs in its own process, so its work is not counted as ours.
    port = free_port()
    emulator = subprocess.Popen([sys.executable, "-m", "tests.emulators.slack", "--port", str(port),
                                 "--rate-limit", f"chat.postMessage={rate}"], cwd=str(ROOT),
                                env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE)
    assert emulator.stdout is not None
    api = emulator.stdout.readline().decode().strip()
    db = f"sqlite:///{Path(tempfile.mkdtemp(prefix='meridian-fanout-')) / 'fanout.db'}"
    config = SlackConfig(signing_secret="s", bot_token="xoxb-T0001-fanout", api_url=api)
    chat = slack_chat(config, SlackRepo(make_engine(db)))
    app = build_core(open_store(db), SystemClock(), {"slack": chat}, worker="bench", attach=[chat.attach])
    app.store.upsert_workspace(Workspace("T0001", platform="slack", name="bench"))
    ids = [f"U{n:07d}" for n in range(people)]
    for uid in ids:
        app.store.upsert_member(Member("T0001", uid, f"Person {uid}", tz="Europe/Berlin", accounts={"slack": uid}))
    day = "2027-03-15"
    gate = asyncio.Semaphore(concurrency)

    async def remind(uid: str) -> None:
        async with gate:
            await app.outbox.dm(f"standup:daily:reminder:{uid}:{day}", "T0001", uid,
                                Message.text(f"Good morning! Time for your stand-up ({day})."))

    start = time.perf_counter()
    await asyncio.gather(*(remind(uid) for uid in ids))
    elapsed = time.perf_counter() - start
    # A second pass, as after a restart or a duplicate event: the outbox must send nothing again.
    await asyncio.gather(*(remind(uid) for uid in ids))
    async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}/_emulator/calls") as resp:
        calls = await resp.json()
    pace = chat.pacer.method("T0001", "chat.postMessage")
    await chat.close()
    emulator.terminate()
    emulator.wait(10)

    posted = Counter(str(c["params"]["channel"]) for c in calls if c["method"] == "chat.postMessage")
    refused = sum(1 for c in calls if c["method"] == "chat.postMessage#429")
    lost = sum(1 for uid in ids if posted.get("D" + uid[1:], 0) == 0)
    duplicated = sum(n - 1 for n in posted.values() if n > 1)
    unsent = sum(1 for uid in ids
                 if (e := app.store.outbox_get(f"standup:daily:reminder:{uid}:{day}")) is None or e.status != "sent")
    floor = people / rate
    target = 1.05 * floor
    ok = elapsed <= target and refused < MAX_REFUSALS and lost == 0 and duplicated == 0 and unsent == 0
    print(f"fan-out of {people} reminder DMs, chat.postMessage limited to {rate}/s, {concurrency} in flight")
    print(f"total {elapsed:.1f} s; the limit allows {floor:.1f} s; target ≤ {target:.1f} s")
    print(f"pace learnt for chat.postMessage: {pace.limit} per {pace.window + pace.margin:.2f} s")
    print(f"429 answers waited out: {refused} (target < {MAX_REFUSALS}); delivered {sum(posted.values())}; lost {lost}; duplicated "
          f"{duplicated}; outbox entries not sent {unsent}")
    print("target met" if ok else "target NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=1000)
    parser.add_argument("--rate", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=200)
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.people, args.rate, args.concurrency)))
