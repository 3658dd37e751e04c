"""One incremental run-event poll against a real MLflow server holding 10,000 runs in 20 experiments.

Prints, side by side: the time of one poll (``DigestService.run_events``: ended since the watermark,
watched runs due a stale check) after 10 new runs finished, and the baseline — one ``search_runs`` call of
the ``mlflow`` client asking for the same 10 runs (``attributes.end_time >`` the last poll), on the same
server, both warmed by an untimed first call, taking turns at going first. Target: the poll within 1.2× of
it. Then the same with a target (``val_auc >= 0.9``), where the poll asks one more question (the running runs
meeting it) and the baseline asks the client the same two. Medians of ``--repeat`` rounds, with the load.

Run: ``python benchmarks/run_events_mlflow.py [--runs 10000] [--experiments 20] [--repeat 9]``
(needs the ``services`` extra; reuses the loader of ``digest_mlflow.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adapters.sources.factory import source_factory
from benchmarks.digest_mlflow import Clock, NoChat, load_runs, log_new_runs, ms, start_server
from bot.bootstrap import open_store
from bot.digests.config import Target
from bot.digests.install import Digests
from bot.kernel.app import Meridian
from bot.kernel.domain import Workspace
from bot.settings import Settings


def baseline(client: Any, experiment_ids: list[str], after: datetime, target: Target | None) -> tuple[float, int]:
    """The ``mlflow`` client asking for the runs that ended since ``after`` (and, with a target, the running runs
    meeting it: the one more question a poll with a target asks)."""
    started = time.perf_counter()
    page = client.search_runs(experiment_ids, filter_string=f"attributes.end_time > {ms(after)}", max_results=1000)
    seen = len(page)
    if target is not None:
        seen += len(client.search_runs(experiment_ids, max_results=1000, filter_string=(
            f"attributes.status = 'RUNNING' AND metrics.`{target.metric}` {target.comparison} {target.value!r}")))
    return time.perf_counter() - started, seen


async def timed_poll(service: Any, name: str) -> float:
    started = time.perf_counter()
    await service.run_events(name)
    return time.perf_counter() - started


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3]) if Path("/proc/loadavg").exists() else "?"


async def measure(args: argparse.Namespace, url: str, ids: list[str], now: datetime, root: Path) -> bool:
    from mlflow import MlflowClient

    store = open_store(f"sqlite:///{root / 'meridian.db'}")
    store.upsert_workspace(Workspace("bench"))
    clock = Clock(now)
    app = Meridian(store, clock, {"console": NoChat()})  # type: ignore[dict-item]
    digests = Digests(source_factory(Settings()))
    app.install([digests])
    client = MlflowClient(tracking_uri=url)
    met = True
    for targets in ({}, {"val_auc": ">= 0.9"}):
        # stale_after 6h: this measures the incremental polls; the full re-read of running runs that comes
        # every stale_after is the first poll's cost, printed apart.
        events = {"stale_after": "6h", **({"targets": targets} if targets else {})}
        team = {"sources": {"tracking": [{"kind": "mlflow", "name": f"m{len(targets)}", "uri": url,
                                          "experiments": ["bench-*"], "metric": "val_auc", "timeout": "60s",
                                          "events": events}]}}
        service = digests.registry.configure("bench", team)
        name = f"m{len(targets)}"
        cfg = service.config.tracking[0]
        target = cfg.events.targets[0] if cfg.events and cfg.events.targets else None
        t0 = time.perf_counter()
        await service.run_events(name)  # the first poll reads every running run (a resync)
        first = time.perf_counter() - t0
        baseline(client, ids, clock.current, target)  # both warm: a first request of each client is not timed
        polls, bases, seen = [], [], 0
        for n in range(args.repeat):
            # 30 simulated minutes apart, so the 10-minute overlap holds only this round's runs.
            before = clock.current
            with contextlib.redirect_stdout(io.StringIO()):
                log_new_runs(url, ids, 10, before + timedelta(minutes=1))  # end 5 min after they start
            clock.current = before + timedelta(minutes=30)
            # Which goes first alternates: the first query after new runs were written finds colder caches.
            if n % 2:
                polls.append(await timed_poll(service, name))
            base, seen = baseline(client, ids, before, target)
            bases.append(base)
            if not n % 2:
                polls.append(await timed_poll(service, name))
        p, b = statistics.median(polls), statistics.median(bases)
        paired = statistics.median(x / y for x, y in zip(polls, bases, strict=True))
        label = f"with target {targets}" if targets else "no targets"
        what = "search_runs ×2 (ended; running ≥ target)" if target else "search_runs, the same 10 runs"
        print(f"\none poll after 10 new runs over {args.runs:,} ({label}), median of {args.repeat} (load {load()}):")
        print(f"  run-event poll (whole handler)      {p * 1000:8.1f} ms")
        print(f"  mlflow {what:<29s} {b * 1000:8.1f} ms   (baseline, saw {seen})")
        print(f"  ratio of the medians                {p / b:8.2f}×   (target ≤ 1.20×)")
        print(f"  median of the per-round ratios      {paired:8.2f}×   (each poll over the baseline next to it)")
        print("  rounds (ms): poll " + " ".join(f"{x * 1000:.0f}" for x in polls)
              + " | baseline " + " ".join(f"{x * 1000:.0f}" for x in bases))
        print(f"  first poll (reads every running run) {first * 1000:7.1f} ms")
        met = met and p / b <= 1.2
        await service.close()
    return met


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--experiments", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="meridian-bench-events-"))
    db_uri = f"sqlite:///{root / 'mlflow.db'}"
    # The stored runs all ended at least a day ago, so a poll's window holds only the new ones.
    now = datetime.now(UTC).replace(microsecond=0)
    ids = load_runs(db_uri, root, args.runs, args.experiments, now - timedelta(days=1))
    proc, url = start_server(db_uri, root)
    try:
        met = asyncio.run(measure(args, url, ids, now, root))
        print(f"\ntarget ≤ 1.20× {'met' if met else 'NOT met'}")
    finally:
        proc.terminate()
        proc.wait(timeout=20)


if __name__ == "__main__":
    main()
