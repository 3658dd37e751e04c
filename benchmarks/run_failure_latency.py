"""A run failing on MLflow to its owner's Slack DM, end to end, against the bound ``events.every`` + 5 s.

Everything is real but Slack: a real ``mlflow server`` (fresh SQLite backend), the team imported with
``meridian import`` and ``meridian worker`` started as an operator starts them (a process of its own,
Slack configured, pointed at the Slack emulator of ``tests/emulators/slack.py``, which runs here and
timestamps every call it receives). The team's MLflow source has run events every ``--every`` seconds
(30 s by default, the shortest the team file accepts; the product's default is 2 minutes). Each round creates a run with the real ``mlflow``
client as ``ravi.k`` (mapped to the member Ravi by ``accounts: {mlflow: ravi.k}``), waits until a random point of
the next poll period (so failures land at every phase of the poll), then times from
``set_terminated(status="FAILED")`` returning to the emulator receiving the ``chat.postMessage`` of
Ravi's DM about that run.

Run: ``python benchmarks/run_failure_latency.py [--rounds 10] [--every 30] [--worker-interval 10]``
(needs the ``services`` extra). ``--worker-interval`` is ``meridian worker --interval``: the longest the
worker waits between passes when nothing falls due sooner.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._slack_common import ROOT, percentile
from benchmarks.digest_mlflow import start_server
from tests.emulators.slack import SlackEmulator

TOKEN = "xoxb-T0001-latency"
RAVI = "U0RAVI"

TEAM = """workspace: T0001
members:
  - {{id: {ravi}, name: Ravi, tz: {tz}, hours: "00:00-23:59",
     workdays: [mon, tue, wed, thu, fri, sat, sun], admin: true, accounts: {{mlflow: ravi.k}}}}
sources:
  tracking:
    - {{kind: mlflow, name: mlflow, uri: "{url}", experiments: ["latency-*"], metric: val_auc,
       events: {{every: {every}s}}}}
digests:
  - {{kind: experiments, channel: "#ml-team", at: "08:00 UTC"}}
"""


def quietly(call: Callable[..., Any], *args: Any, **kw: Any) -> Any:
    """``call`` with the mlflow client's "View run at" lines kept off the figures."""
    with contextlib.redirect_stdout(io.StringIO()):
        return call(*args, **kw)


def daytime_zone() -> str:
    """A zone where it is day for the next hours, so that quiet hours (22:00-06:00) hold no DM back."""
    now = datetime.now(UTC)
    for name in ("UTC", "Asia/Tokyo", "Asia/Kolkata", "Europe/Berlin", "America/New_York", "America/Los_Angeles",
                 "Pacific/Auckland"):
        if 8 <= now.astimezone(ZoneInfo(name)).hour < 18:
            return name
    return "UTC"


def meridian(args: list[str], env: dict[str, str], cwd: Path, **kw: object) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "bot", *args], env=env, cwd=str(cwd), **kw)  # type: ignore[call-overload, no-any-return]


async def dm_about(slack: SlackEmulator, run_name: str, after: int, timeout: float) -> float | None:
    """When (emulator's monotonic clock) the first DM naming ``run_name`` reached Slack, or None."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for call in slack.recorded[after:]:
            if (call.method == "chat.postMessage" and str(call.params.get("channel", "")).startswith("D")
                    and run_name in str(call.params.get("text", ""))):
                return call.at
        await asyncio.sleep(0.02)
    return None


async def measure(args: argparse.Namespace, url: str, root: Path) -> list[float]:
    from mlflow import MlflowClient

    slack = SlackEmulator()
    api = await slack.start()
    slack.add_user(RAVI, "Ravi", "UTC")
    env = {**os.environ, "SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": "latency-secret", "SLACK_API_URL": api,
           "DATABASE_URL": f"sqlite:///{root / 'meridian.db'}", "MERIDIAN_LOG_LEVEL": "WARNING",
           "PYTHONPATH": str(ROOT)}
    team = root / "team.yaml"
    team.write_text(TEAM.format(ravi=RAVI, tz=daytime_zone(), url=url, every=args.every))
    client = MlflowClient(tracking_uri=url)
    exp = client.create_experiment("latency-churn")
    imported = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "bot", "import", str(team)], env=env,
                                       cwd=str(root), capture_output=True, text=True)
    if imported.returncode != 0:
        raise SystemExit(f"meridian import failed:\n{imported.stdout}\n{imported.stderr}")
    log = (root / "worker.log").open("wb")
    worker = meridian(["worker", "--interval", str(args.worker_interval)], env, root, stdout=log,
                      stderr=subprocess.STDOUT)
    latencies: list[float] = []
    rng = random.Random(12)
    try:
        # The first poll only starts watching; wait for it before the first failure.
        await asyncio.sleep(args.every + 3)
        for n in range(args.rounds):
            name = f"boom-{n}"
            run = await asyncio.to_thread(client.create_run, exp, run_name=name, tags={"mlflow.user": "ravi.k"})
            await asyncio.to_thread(client.set_tag, run.info.run_id, "error", "CUDA out of memory")
            # At a random point of a poll period (polls fall on multiples of `every` since the epoch), not a
            # fixed time after the last DM: a round that began at the previous DM would hide a late poll.
            period = math.ceil(time.time() / args.every) * args.every
            await asyncio.sleep(max(0.0, period + rng.uniform(0, args.every) - time.time()))
            mark = len(slack.recorded)
            await asyncio.to_thread(quietly, client.set_terminated, run.info.run_id, status="FAILED")
            failed = time.monotonic()
            landed = await dm_about(slack, name, mark, timeout=args.every + args.worker_interval + 60)
            if landed is None:
                raise SystemExit(f"no DM about {name}; see {root / 'worker.log'}")
            latencies.append(landed - failed)
            print(f"  round {n + 1:2d}: {latencies[-1]:6.2f} s", flush=True)
    finally:
        worker.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            worker.wait(timeout=20)
        await slack.stop()
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--every", type=int, default=30, help="events.every of the MLflow source, seconds")
    parser.add_argument("--worker-interval", type=float, default=10.0, help="meridian worker --interval")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="meridian-bench-latency-"))
    proc, url = start_server(f"sqlite:///{root / 'mlflow.db'}", root)
    with contextlib.suppress(OSError):
        print(f"load before: {Path('/proc/loadavg').read_text().split()[:3]}")
    print(f"events.every {args.every} s, meridian worker --interval {args.worker_interval:g} s, {args.rounds} rounds")
    try:
        latencies = asyncio.run(measure(args, url, root))
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    bound = args.every + 5.0
    worst = max(latencies)
    print(f"\nset_terminated(FAILED) → owner's DM at Slack, {len(latencies)} rounds:")
    print(f"  min {min(latencies):6.2f} s   median {statistics.median(latencies):6.2f} s   "
          f"p95 {percentile(latencies, 95):6.2f} s   max {worst:6.2f} s")
    print(f"  bound: events.every + 5 s = {bound:.0f} s — {'met' if worst <= bound else 'NOT met'} "
          f"(max {worst:.2f} s)")
    with contextlib.suppress(OSError):
        print(f"load after: {Path('/proc/loadavg').read_text().split()[:3]}")


if __name__ == "__main__":
    main()
