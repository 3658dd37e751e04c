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

    python benchmarks/teams_fanout.py [--people 500] [--concurrency 50] [--pg-rtt-ms 2]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
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


@dataclass
class TeamsRun:
    elapsed: float
    creates: int
    sends: Counter[str]
    lost: int

    @property
    def duplicated(self) -> int:
        return sum(n - 1 for n in self.sends.values() if n > 1)

    @property
    def calls(self) -> int:
        return self.creates + sum(self.sends.values())


async def teams_fan_out(db: str, people: int, concurrency: int) -> TeamsRun:
    """The fan-out through the Teams adapter and a local Bot Connector, on the database ``db``."""
    connector = ConnectorEmulator()
    url = await connector.start()
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
    elapsed = await fan_out(app, people, concurrency)
    await connector.close()
    sends = Counter(c.conversation for c in connector.delivered("send"))
    entries = [e for e in store.outbox_entries(TENANT) if e.key.startswith("bench:")]
    lost = people - sum(1 for e in entries if e.status == "sent")
    store.engine.dispose()  # a scratch database is dropped next: no connection may linger
    teams_engine.dispose()
    return TeamsRun(elapsed, len(connector.delivered("create")), sends, lost)


def report(label: str, run: TeamsRun, people: int, baseline: float) -> bool:
    # Teams allows an app 50 requests a second in a tenant (per_tenant in adapters/teams/pacing.py)
    bound = run.calls / PER_TENANT[0][0] * PER_TENANT[0][1]
    met = run.lost == 0 and run.duplicated == 0 and len(run.sends) == people and run.elapsed <= 1.1 * bound
    print(f"{label}: teams (create + send) {run.elapsed:.2f} s, {1000 * run.elapsed / people:.2f} ms per DM, "
          f"{people / run.elapsed:.0f} DMs/s; adapter cost over the baseline "
          f"{1000 * (run.elapsed - baseline) / people:.2f} ms per DM")
    print(f"  connector calls: {run.creates} create, {sum(run.sends.values())} send; lost {run.lost}, "
          f"duplicated {run.duplicated}; the documented limit allows {run.calls} calls in {bound:.1f} s; "
          f"target ≤ 1.1 × that = {1.1 * bound:.1f} s: " + ("met" if met else "NOT met"))
    return met


async def main(people: int, concurrency: int, pg_rtt_ms: float | None) -> int:
    # Baseline: the core and its outbox with the console chat.
    console = ConsoleChat(SystemClock(), out=io.StringIO())
    base_app = build_core(open_store(fresh_db()), SystemClock(), {"console": console}, worker="bench")
    base_app.store.upsert_workspace(Workspace(TENANT, platform="console"))
    baseline = await fan_out(base_app, people, concurrency)
    print(f"people: {people}, concurrency: {concurrency}")
    print(f"baseline (console chat, SQLite): {baseline:.2f} s, {1000 * baseline / people:.2f} ms per DM")
    if pg_rtt_ms is None:
        return 0 if report("SQLite", await teams_fan_out(fresh_db(), people, concurrency), people, baseline) else 1
    from tests.pg_proxy import proxied, round_trip_ms, scratch_database

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
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.people, args.concurrency, args.pg_rtt_ms)))
