"""Experiments digest against a real MLflow server holding 10,000 runs in 20 experiments.

Prints, side by side in one run:

* the time for the digest's fetch and composition (``DigestService.experiments``);
* the baseline: the ``mlflow`` client's own ``search_runs`` paging through the same runs
  (same server, same page size of 1,000) — target: the digest within 1.2× of it;
* the next day's digest after 100 new runs, against the baseline paging through those
  100 runs — the point being that it costs what 100 runs cost, not 10,000.

Self-contained: it starts its own ``mlflow server`` on a temporary SQLite backend. The
10,000 runs are written with MLflow's own store (``SqlAlchemyStore`` and its ORM rows) before
the server starts, because logging them one request at a time would take many minutes;
the 100 runs of the next day are logged through the server with the real ``MlflowClient``.

Run: ``python benchmarks/digest_mlflow.py [--runs 10000] [--experiments 20] [--repeat 3]``
(needs the ``services`` extra).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adapters.sources.factory import source_factory
from bot.bootstrap import open_store
from bot.digests.install import Digests
from bot.digests.service import DigestService
from bot.kernel.app import Meridian
from bot.kernel.domain import Workspace
from bot.settings import Settings

DAY = timedelta(days=1)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current


class NoChat:
    platform = "console"


def ms(instant: datetime) -> int:
    return int(instant.timestamp() * 1000)


def load_runs(db_uri: str, root: Path, runs: int, experiments: int, now: datetime) -> list[str]:
    """Write the runs straight into MLflow's store with its own ORM rows (metrics, latest metrics, tags)."""
    from mlflow.store.tracking.dbmodels.models import SqlLatestMetric, SqlMetric, SqlRun, SqlTag
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    store = SqlAlchemyStore(db_uri, str(root / "artifacts"))
    ids = [store.create_experiment(f"bench-{i:02d}") for i in range(experiments)]
    rng = random.Random(7)
    statuses = ["FINISHED"] * 90 + ["FAILED"] * 5 + ["KILLED"] * 3 + ["RUNNING"] * 2
    with store.ManagedSessionMaker() as session:
        rows: list[object] = []
        for n in range(runs):
            run_id = uuid.uuid4().hex
            status = rng.choice(statuses)
            end = now - timedelta(seconds=rng.uniform(60, 13 * 86400))
            start = end - timedelta(minutes=rng.uniform(5, 120))
            rows.append(SqlRun(run_uuid=run_id, name=f"run-{n}", source_type="LOCAL", source_name="", entry_point_name="",
                               user_id=f"user{n % 7}", status=status, start_time=ms(start),
                               end_time=None if status == "RUNNING" else ms(end), source_version="",
                               lifecycle_stage="active", artifact_uri=str(root / "artifacts" / run_id),
                               experiment_id=int(ids[n % experiments])))
            stamp = ms(end if status != "RUNNING" else start)
            for key, value in (("val_auc", rng.uniform(0.6, 0.95)), ("loss", rng.uniform(0.1, 1.0))):
                rows.append(SqlMetric(key=key, value=value, timestamp=stamp, step=0, is_nan=False, run_uuid=run_id))
                rows.append(SqlLatestMetric(key=key, value=value, timestamp=stamp, step=0, is_nan=False,
                                            run_uuid=run_id))
            rows.append(SqlTag(key="mlflow.user", value=f"user{n % 7}", run_uuid=run_id))
            rows.append(SqlTag(key="mlflow.runName", value=f"run-{n}", run_uuid=run_id))
            if status == "FAILED":
                rows.append(SqlTag(key="error", value="CUDA out of memory", run_uuid=run_id))
            if len(rows) > 20_000:
                session.add_all(rows)
                session.flush()
                rows = []
        session.add_all(rows)
    store.engine.dispose()
    return [str(i) for i in ids]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(db_uri: str, root: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    log = (root / "server.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "mlflow", "server", "--backend-store-uri", db_uri,
                             "--artifacts-destination", str(root / "artifacts"), "--host", "127.0.0.1",
                             "--port", str(port), "--workers", "1"], stdout=log, stderr=subprocess.STDOUT, cwd=root)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2):
                return proc, url
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit("mlflow server did not start; see " + str(root / "server.log"))


def baseline(url: str, experiment_ids: list[str], after: datetime, until: datetime) -> tuple[float, int]:
    """The mlflow client paging through every run that ended in the window (and the running ones)."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=url)
    started = time.perf_counter()
    seen = 0
    for where in (f"attributes.end_time > {ms(after)} AND attributes.end_time <= {ms(until)}",
                  "attributes.status = 'RUNNING'"):
        token = None
        while True:
            page = client.search_runs(experiment_ids, filter_string=where, max_results=1000, page_token=token)
            seen += len(page)
            token = page.token
            if not token:
                break
    return time.perf_counter() - started, seen


async def digest_once(service: DigestService) -> tuple[float, int, object]:
    started = time.perf_counter()
    run = await service.experiments()
    elapsed = time.perf_counter() - started
    counted = sum(s.finished + len(s.failed) + len(s.killed) + s.running for r in run.reports for s in r.experiments)
    return elapsed, counted, run


def log_new_runs(url: str, experiment_ids: list[str], count: int, start: datetime) -> None:
    from mlflow import MlflowClient
    from mlflow.entities import Metric, RunTag

    client = MlflowClient(tracking_uri=url)
    rng = random.Random(11)
    for n in range(count):
        begin = start + timedelta(minutes=n)
        run = client.create_run(experiment_ids[n % len(experiment_ids)], start_time=ms(begin), run_name=f"new-{n}",
                                tags={"mlflow.user": "user1"})
        client.log_batch(run.info.run_id, metrics=[Metric("val_auc", rng.uniform(0.6, 0.97), ms(begin), 0),
                                                   Metric("loss", rng.uniform(0.1, 1.0), ms(begin), 0)],
                         tags=[RunTag("note", "day two")])
        client.set_terminated(run.info.run_id, "FINISHED", end_time=ms(begin + timedelta(minutes=5)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--experiments", type=int, default=20)
    parser.add_argument("--new-runs", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="meridian-bench-"))
    db_uri = f"sqlite:///{root / 'mlflow.db'}"
    now = datetime.now(UTC).replace(microsecond=0)
    t0 = time.perf_counter()
    experiment_ids = load_runs(db_uri, root, args.runs, args.experiments, now)
    print(f"loaded {args.runs:,} runs in {args.experiments} experiments in {time.perf_counter() - t0:.1f}s")
    proc, url = start_server(db_uri, root)
    try:
        asyncio.run(measure(args, url, experiment_ids, now, root))
    finally:
        proc.terminate()
        proc.wait(timeout=20)


async def measure(args: argparse.Namespace, url: str, experiment_ids: list[str], now: datetime, root: Path) -> None:
    store = open_store(f"sqlite:///{root / 'meridian.db'}")
    store.upsert_workspace(Workspace("bench"))
    clock = Clock(now)
    app = Meridian(store, clock, {"console": NoChat()})  # type: ignore[dict-item]
    team = {"sources": {"tracking": [{"kind": "mlflow", "uri": url, "experiments": ["bench-*"], "metric": "val_auc",
                                      "goal": "max", "lookback": "14d", "timeout": "60s"}]},
            "digests": [{"kind": "experiments", "channel": "#bench", "at": "08:00 UTC"}]}
    digests = Digests(source_factory(Settings()))
    app.install([digests])
    service = digests.registry.configure("bench", team)
    after = now - timedelta(days=14)
    try:
        await digest_once(service)  # warm the server's caches and the connection pool once for both sides
        baseline(url, experiment_ids, after, now)
        digest_times, base_times = [], []
        for _ in range(args.repeat):
            elapsed, counted, run = await digest_once(service)
            digest_times.append(elapsed)
            base, seen = baseline(url, experiment_ids, after, now)
            base_times.append(base)
        d, b = statistics.median(digest_times), statistics.median(base_times)
        print(f"\nfirst digest over {counted:,} runs (baseline saw {seen:,}), median of {args.repeat}:")
        print(f"  digest fetch + composition        {d * 1000:8.0f} ms")
        print(f"  mlflow client search_runs paging  {b * 1000:8.0f} ms   (baseline)")
        print(f"  ratio                             {d / b:8.2f}×   (target ≤ 1.20×)")

        service.commit(run)  # type: ignore[arg-type]
        t0 = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):  # the client prints a "View run" line per run
            log_new_runs(url, experiment_ids, args.new_runs, now + timedelta(minutes=1))
        print(f"\nlogged {args.new_runs} new runs through the REST API in {time.perf_counter() - t0:.1f}s")
        clock.current = now + DAY
        next_times, next_base = [], []
        for _ in range(args.repeat):
            elapsed, counted, _run = await digest_once(service)
            next_times.append(elapsed)
            base, seen = baseline(url, experiment_ids, now, now + DAY)
            next_base.append(base)
        nd, nb = statistics.median(next_times), statistics.median(next_base)
        print(f"next day's digest ({counted} runs in its window incl. running; baseline saw {seen}):")
        print(f"  digest fetch + composition        {nd * 1000:8.0f} ms   ({nd / d:.1%} of the first digest)")
        print(f"  mlflow client search_runs paging  {nb * 1000:8.0f} ms   (baseline over the same runs)")
        print(f"  ratio                             {nd / nb:8.2f}×")
    finally:
        await service.close()


if __name__ == "__main__":
    os.environ.setdefault("MLFLOW_TRACKING_URI", "")
    main()
