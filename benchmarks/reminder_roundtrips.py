"""Database round trips per scheduled reminder, and ``run_due`` time for 1,000 reminders.

1,000 members of one stand-up are planned (all due at 09:30 UTC), then one
``engine.run_due()`` sends every reminder through the console chat. We count SQL
statements (``before_cursor_execute``), pool checkouts (each one a ``SELECT 1`` pre-ping
on PostgreSQL) and commits, per reminder, on SQLite and on PostgreSQL (a database of its
own, created and dropped here). Fewer round trips is what lets fan-out keep up with a
platform's rate limit.

    python benchmarks/reminder_roundtrips.py [--people 1000] [--sqlite-only]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adapters.console.chat import ConsoleChat
from bot.bootstrap import build_core
from bot.kernel.clock import SimulatedClock
from bot.kernel.team import apply_team
from bot.kernel.teamfile import parse_team
from storage.kernel.repo import SqlStore
from storage.migrate import upgrade

DUE = datetime(2027, 3, 15, 9, 30, tzinfo=UTC)
POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BASELINE = {  # before the round-trip work, on a shared 2-core machine (times vary by about 20%):
    # statements, transactions, pings, PostgreSQL round trips per reminder; seconds for 1,000
    "sqlite": (17.0, 15.0, 0.0, 0.0, 9.4),
    "postgresql": (17.0, 15.0, 15.0, 62.0, 20.3),
}


def team(n: int) -> str:
    lines = ["workspace: big", "members:"]
    lines += [f"  - {{id: m{i:04d}, name: M{i}, tz: UTC}}" for i in range(n)]
    lines += ["standups:", "  - {name: daily, channel: '#all', remind_at: '09:30', nudge_after: '0m'}"]
    return "\n".join(lines) + "\n"


def measure(url: str, people: int) -> tuple[Counter[str], float, int]:
    upgrade(url)
    store = SqlStore.from_url(url, create=False)
    clock = SimulatedClock(DUE - timedelta(hours=1))
    app = build_core(store, clock, {"console": ConsoleChat(clock, out=io.StringIO())}, worker="bench")
    apply_team(app, parse_team(team(people), "team.yaml", app.sections))
    app.engine.plan(force=True)
    clock.set(DUE + timedelta(seconds=1))
    counts: Counter[str] = Counter()

    @event.listens_for(store.engine, "before_cursor_execute")
    def _statement(*_args: Any) -> None:
        counts["statements"] += 1

    @event.listens_for(store.engine, "begin")
    def _begin(conn: Any) -> None:
        if conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
            counts["transactions"] += 1

    dialect = store.engine.dialect
    ping = dialect.do_ping

    def _ping(dbapi_conn: Any) -> bool:
        counts["pings"] += 1
        return ping(dbapi_conn)

    dialect.do_ping = _ping  # type: ignore[method-assign]

    start = time.perf_counter()
    handled = asyncio.run(app.engine.run_due())
    elapsed = time.perf_counter() - start
    store.engine.dispose()
    return counts, elapsed, handled


def postgres_url() -> tuple[str, Any, str] | None:
    name = f"meridian_bench_{uuid.uuid4().hex[:10]}"
    try:
        admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as err:
        print(f"PostgreSQL unreachable ({type(err).__name__}): skipped")
        return None
    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}", admin, name


def report(dialect: str, counts: Counter[str], elapsed: float, handled: int, people: int) -> None:
    per = {k: counts[k] / people for k in ("statements", "transactions", "pings")}
    # PostgreSQL: every statement and every ping is a round trip, and a transaction adds BEGIN and COMMIT.
    trips = per["statements"] + per["pings"] + 2 * per["transactions"]
    b_st, b_tx, b_pi, b_rt, b_s = BASELINE[dialect]
    print(f"{dialect:<10} {handled} reminders in {elapsed:5.2f} s (baseline {b_s:.2f} s); per reminder: "
          f"{per['statements']:.1f} statements (baseline {b_st:.1f}), {per['transactions']:.1f} transactions "
          f"(baseline {b_tx:.1f}), {per['pings']:.1f} pings (baseline {b_pi:.1f})"
          + (f", ~{trips:.0f} round trips (baseline ~{b_rt:.0f})" if dialect == "postgresql" else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=1000)
    parser.add_argument("--sqlite-only", action="store_true")
    args = parser.parse_args()
    print(f"one run_due() sending {args.people} stand-up reminders through the console chat")
    with tempfile.TemporaryDirectory(prefix="meridian-roundtrips-") as tmp:
        report("sqlite", *measure(f"sqlite:///{Path(tmp) / 'rt.db'}", args.people), args.people)
    if args.sqlite_only:
        return
    pg = postgres_url()
    if pg is None:
        return
    url, admin, name = pg
    try:
        report("postgresql", *measure(url, args.people), args.people)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
