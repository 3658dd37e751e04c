"""Fan-out on Teams: N reminder DMs through the outbox, the Teams adapter and a local Bot Connector.

Nobody has a 1:1 chat with the bot yet, so each DM is two connector calls (create the
chat, then send), the way a first stand-up day goes. The baseline is the same fan-out
through the console chat: the difference is what the Teams adapter (botbuilder, the
card rendering, the stored references) costs per DM. The connector emulator runs in
the same process, so its own work is counted too: the figure is an upper bound.
Every person must get exactly one DM and every outbox entry must end ``sent``. The adapter keeps
Teams' documented limits (50 requests a second per app in a tenant), so the fan-out can take no
less than calls / 50 s: the target is at most 1.1 × that bound.

    python benchmarks/teams_fanout.py [--people 500] [--concurrency 50]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adapters.console.chat import ConsoleChat
from adapters.teams.chat import TeamsChat
from adapters.teams.pacing import PER_TENANT
from adapters.teams.server import TeamsConfig, build_adapter
from bot.bootstrap import build_core, open_store
from bot.kernel.clock import SystemClock
from bot.kernel.domain import Member, Workspace
from bot.kernel.messages import Actions, Button, Header, Message, Section, rich
from storage.db import make_engine
from storage.teams.repo import TeamsRepo
from tests.emulators.teams import BOT_ID, ConnectorEmulator

TENANT = "bench-tenant"
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


async def main(people: int, concurrency: int) -> int:
    # Baseline: the core and its outbox with the console chat.
    console = ConsoleChat(SystemClock(), out=io.StringIO())
    base_app = build_core(open_store(fresh_db()), SystemClock(), {"console": console}, worker="bench")
    base_app.store.upsert_workspace(Workspace(TENANT, platform="console"))
    baseline = await fan_out(base_app, people, concurrency)

    connector = ConnectorEmulator()
    url = await connector.start()
    db = fresh_db()
    store = open_store(db)
    config = TeamsConfig(EMULATOR_URL=url)  # the local connector is the one service URL it may call
    chat = TeamsChat(build_adapter(config), TeamsRepo(make_engine(db)), config.APP_ID, config.service_urls)
    app = build_core(store, SystemClock(), {"teams": chat}, worker="bench", attach=[chat.attach])
    app.store.upsert_workspace(Workspace(TENANT, platform="teams"))
    # The tenant was heard from once (the app's install in a team): its service URL and the bot's id.
    chat.repo.save_conversation(TENANT, "19:general@thread.tacv2", "channel", url,
                                {"channelId": "msteams", "serviceUrl": url, "bot": {"id": BOT_ID},
                                 "conversation": {"id": "19:general@thread.tacv2"}}, time_now(), label="#general")
    elapsed = await fan_out(app, people, concurrency)
    await connector.close()

    sends = Counter(c.conversation for c in connector.delivered("send"))
    creates = len(connector.delivered("create"))
    entries = [e for e in app.store.outbox_entries(TENANT) if e.key.startswith("bench:")]  # type: ignore[attr-defined]
    lost = people - sum(1 for e in entries if e.status == "sent")
    duplicated = sum(n - 1 for n in sends.values() if n > 1)
    print(f"people: {people}, concurrency: {concurrency}")
    print(f"baseline (console chat): {baseline:.2f} s, {1000 * baseline / people:.2f} ms per DM")
    print(f"teams (create + send):   {elapsed:.2f} s, {1000 * elapsed / people:.2f} ms per DM, "
          f"{people / elapsed:.0f} DMs/s")
    print(f"connector calls: {creates} create, {sum(sends.values())} send; lost {lost}, duplicated {duplicated}")
    print(f"Teams adapter cost per DM over the baseline: {1000 * (elapsed - baseline) / people:.2f} ms")
    # Teams allows an app 50 requests a second in a tenant (per_tenant in adapters/teams/pacing.py)
    calls = creates + sum(sends.values())
    bound = calls / PER_TENANT[0][0] * PER_TENANT[0][1]
    print(f"the documented limit allows {calls} calls in {bound:.1f} s; target ≤ 1.1 × that = {1.1 * bound:.1f} s: "
          + ("met" if elapsed <= 1.1 * bound else "NOT met"))
    return 0 if lost == 0 and duplicated == 0 and len(sends) == people and elapsed <= 1.1 * bound else 1


def time_now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.people, args.concurrency)))
