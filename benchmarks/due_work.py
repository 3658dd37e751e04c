"""Finding and claiming due work: its cost must follow the number due, not the number of members.

For 10,000 and 100,000 members spread over 5,000 stand-ups, the due-work table holds
three days of reminders and nudges for everyone (plus yesterday's, done), and 200 items
are due now. We time ``claim_due`` (the one statement every worker runs each tick),
median and p95 over repeated runs, on SQLite and on PostgreSQL, side by side. The
baseline is the smaller table: the ratio 100k/10k should stay near 1.

    python benchmarks/due_work.py [--sqlite-only] [--runs 30]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, insert, text, update

from storage.db import table_of
from storage.kernel.models import DueWorkRow, MemberRow
from storage.kernel.repo import SqlStore
from storage.migrate import upgrade

NOW = datetime(2027, 3, 15, 9, 30, tzinfo=UTC)
DUE_NOW = 200
TARGET_MS = 50.0


def populate(store: SqlStore, members: int) -> None:
    due, member_table = table_of(DueWorkRow), table_of(MemberRow)
    with store.engine.begin() as conn:
        conn.execute(insert(member_table), [
            {"workspace": f"w{i % 50}", "id": f"m{i}", "name": f"M{i}", "tz": "UTC", "hours_start": "09:00",
             "hours_end": "17:00", "workdays": "fri,mon,thu,tue,wed", "ooo": [], "accounts": {}, "is_admin": False,
             "owner_of": []} for i in range(members)])
        rows = []
        for i in range(members):
            standup = i % 5000
            offset = timedelta(minutes=(i * 7) % 1440 + 1)  # spread over the coming day, none due yet
            for day in range(-1, 3):
                for kind in ("reminder", "nudge"):
                    at = NOW + offset + timedelta(days=day) + (timedelta(hours=2) if kind == "nudge" else timedelta())
                    rows.append({"key": f"standup:w:s{standup}:{kind}:m{i}:{day}", "kind": f"standup.{kind}",
                                 "workspace": f"w{i % 50}", "due_at": at, "payload": {},
                                 "status": "done" if day < 0 else "pending", "attempts": 0, "note": ""})
            if len(rows) >= 20_000:
                conn.execute(insert(due), rows)
                rows = []
        if rows:
            conn.execute(insert(due), rows)
    with store.engine.begin() as conn:
        conn.execute(text("ANALYZE" if store.dialect == "sqlite" else f"ANALYZE {due.name}"))


def make_due_now(store: SqlStore) -> None:
    due = table_of(DueWorkRow)
    with store.engine.begin() as conn:
        conn.execute(update(due).where(due.c.status == "claimed").values(status="done"))
        ids = [r[0] for r in conn.execute(text(
            f"SELECT id FROM {due.name} WHERE status = 'pending' AND kind = 'standup.reminder' "
            f"ORDER BY id LIMIT {DUE_NOW}"))]
        conn.execute(update(due).where(due.c.id.in_(ids)).values(due_at=NOW - timedelta(seconds=30)))


def time_claims(store: SqlStore, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        make_due_now(store)
        start = time.perf_counter()
        claimed = store.claim_due(NOW, "bench", 500, 300)
        samples.append((time.perf_counter() - start) * 1000)
        assert len(claimed) == DUE_NOW, len(claimed)
    return samples


def postgres_store(admin_url: str) -> tuple[SqlStore, str]:
    name = f"meridian_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin_url.rsplit("/", 1)[0] + f"/{name}"
    upgrade(url)
    return SqlStore.from_url(url, create=False), name


def drop_postgres(admin_url: str, name: str) -> None:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--sqlite-only", action="store_true")
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    print(f"claim_due of {DUE_NOW} due items (limit 500), {args.runs} runs; target median <= {TARGET_MS} ms "
          f"at 100,000 members; baseline: the same query at 10,000 members")
    print(f"{'database':<11}{'members':>9}{'rows':>10}{'median ms':>11}{'p95 ms':>9}")
    for db in ["sqlite"] + ([] if args.sqlite_only else ["postgresql"]):
        medians = {}
        for members in (10_000, 100_000):
            cleanup = None
            if db == "sqlite":
                path = Path(tempfile.mkdtemp()) / "bench.db"
                upgrade(f"sqlite:///{path}")
                store = SqlStore.from_url(f"sqlite:///{path}", create=False)
            else:
                store, cleanup = postgres_store(args.postgres)
            populate(store, members)
            time_claims(store, 3)  # warm-up
            samples = sorted(time_claims(store, args.runs))
            median = statistics.median(samples)
            p95 = samples[int(0.95 * (len(samples) - 1))]
            medians[members] = median
            print(f"{db:<11}{members:>9,}{members * 8:>10,}{median:>11.2f}{p95:>9.2f}")
            store.engine.dispose()
            if cleanup:
                drop_postgres(args.postgres, cleanup)
        ratio = medians[100_000] / medians[10_000]
        verdict = "within" if medians[100_000] <= TARGET_MS else "over"
        print(f"{db:<11} ratio 100k/10k = {ratio:.2f}; {verdict} the {TARGET_MS:.0f} ms target")


if __name__ == "__main__":
    main()
