"""The roster: how long Meridian's install turn takes when it is added to a team of N people.

Every person is in the team file by email only, so each is matched and linked (their
Teams account added to the member, their identity kept). The turn reads the members
page by page from a local Bot Connector (in this process, so its work is counted too),
links everyone and posts the welcome. The Bot Framework gives a bot about 15 s to answer
an activity, so the target is well under that for 2,000 people; the baseline is the same
install with nobody to link (the welcome and the page reads alone).

    python benchmarks/teams_roster.py [--people 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from storage.kernel.repo import SqlStore
from tests.integration.teams_world import TeamsWorld

TENANT = "t-bench"
TARGET_SECONDS = 15.0


async def install(people: int, in_team_file: bool) -> tuple[float, str]:
    store = SqlStore.from_url(f"sqlite:///{tempfile.mkdtemp()}/bench.db", create=True)
    rows = "\n".join(f"  - {{id: p{i}, name: Person {i}, tz: UTC, accounts: {{email: p{i}@acme.example}}}}"
                     for i in range(people)) if in_team_file else ""
    async with TeamsWorld(store, datetime(2027, 3, 15, tzinfo=UTC)) as w:
        w.load(f"workspace: {TENANT}\nmembers:\n  - {{id: admin, name: Admin, tz: UTC, admin: true, "
               f"accounts: {{teams: '29:admin'}}}}\n{rows}\n")
        t = w.tenant(TENANT)
        admin = w.connector.add_user("29:admin", "Admin", "aad-admin", tenant=TENANT)
        users = [w.connector.add_user(f"29:p{i}", f"Person {i}", f"aad-{i}", f"P{i}@acme.example", tenant=TENANT)
                 for i in range(people)]
        w.connector.add_to_team(t.team_id, admin, *users)
        start = time.perf_counter()
        await w.send(t.installed_in_team(admin))
        took = time.perf_counter() - start
        welcome = w.connector.delivered("send", t.team_id)[-1].shown
        linked = sum(1 for m in store.list_members(TENANT) if m.accounts.get("teams"))
        assert linked == (people + 1 if in_team_file else 1), linked
        return took, welcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=2000)
    args = parser.parse_args()
    base, _ = asyncio.run(install(args.people, in_team_file=False))
    took, welcome = asyncio.run(install(args.people, in_team_file=True))
    print(f"install in a team of {args.people:,}: {took:.2f} s with everyone linked by email; "
          f"baseline (nobody to link) {base:.2f} s; target < {TARGET_SECONDS:.0f} s (the Bot Framework's wait)")
    print(f"welcome: …{welcome[-90:]}")
    sys.exit(0 if took < TARGET_SECONDS else 1)


if __name__ == "__main__":
    main()
