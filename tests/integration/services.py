"""Real MLflow, Evidently, Alertmanager and Prometheus servers for the tests, on free ports.

The session fixtures (one MLflow, one Evidently UI, one Alertmanager) reach every integration module
through ``tests/integration/conftest.py``; ``run_alertmanager`` and ``run_prometheus`` start one with
a test's own configuration. They skip only when the ``services`` extra (``mlflow``, ``evidently``) or
the Debian package (``prometheus``, ``prometheus-alertmanager``) is not installed, and with
``MERIDIAN_REQUIRE_SERVICES`` set a missing package is a failure; a server that is installed but
does not start is a failure.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

START_TIMEOUT = 120.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"{url} exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status < 500:
                    return
        except OSError:
            time.sleep(0.5)
    proc.terminate()
    pytest.fail(f"{url} did not answer within {START_TIMEOUT:.0f}s:\n{log.read_text()[-3000:]}")


def _need(module: str) -> None:
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"`{module}` is not installed (pip install -e .[services])")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


@dataclass(frozen=True)
class MlflowServer:
    url: str
    webhook_secret_key: str


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    """``mlflow server`` on a free port with a fresh SQLite backend, allowed to call local webhooks."""
    _need("mlflow")
    from cryptography.fernet import Fernet

    root = tmp_path_factory.mktemp("mlflow")
    port = free_port()
    key = Fernet.generate_key().decode()
    env = {**os.environ, "MLFLOW_WEBHOOK_ALLOWED_SCHEMES": "http,https", "MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS": "true",
           "MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY": key,
           # The server caches each event's webhook list for 60 s by default; a test creates one and fires at once.
           "MLFLOW_WEBHOOK_CACHE_TTL": "1"}
    log = root / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}",
             "--artifacts-destination", str(root / "artifacts"), "--host", "127.0.0.1", "--port", str(port),
             "--workers", "1"], stdout=out, stderr=subprocess.STDOUT, env=env, cwd=root)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(f"{url}/health", proc, log)
        yield MlflowServer(url, key)
    finally:
        _stop(proc)


@pytest.fixture(scope="session")
def evidently_ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``evidently ui`` on a free port with an empty workspace directory."""
    _need("evidently")
    root = tmp_path_factory.mktemp("evidently")
    port = free_port()
    exe = shutil.which("evidently", path=str(Path(sys.executable).parent)) or "evidently"
    log = root / "ui.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([exe, "ui", "--workspace", str(root / "workspace"), "--port", str(port),
                                 "--host", "127.0.0.1"], stdout=out, stderr=subprocess.STDOUT, cwd=root)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(f"{url}/api/projects", proc, log)
        yield url
    finally:
        _stop(proc)


ALERTMANAGER = "prometheus-alertmanager"
"""Debian's name for the Alertmanager binary (package ``prometheus-alertmanager``; upstream calls it
``alertmanager``)."""


def alertmanager_binary() -> str | None:
    return shutil.which(ALERTMANAGER) or shutil.which("alertmanager")


def prometheus_binary() -> str | None:
    return shutil.which("prometheus")


def _need_binary(found: str | None, package: str) -> str:
    """The binary, or a skip (a failure under ``MERIDIAN_REQUIRE_SERVICES``, which CI sets) when it is missing."""
    if found is None:
        why = f"{package} is not installed (apt-get install {package})"
        if os.environ.get("MERIDIAN_REQUIRE_SERVICES"):
            pytest.fail(why)
        pytest.skip(why)
    return found


@contextmanager
def run_alertmanager(root: Path, config: str) -> Iterator[str]:
    """A real Alertmanager (API v2) with this ``alertmanager.yml``, on a free port, clustering off; its URL.

    Its data stay under ``root``, so it never shares silences with the system's Alertmanager or another test's.
    """
    exe = _need_binary(alertmanager_binary(), "prometheus-alertmanager")
    root.mkdir(parents=True, exist_ok=True)
    (root / "alertmanager.yml").write_text(config)
    port = free_port()
    log = root / "alertmanager.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([exe, f"--config.file={root / 'alertmanager.yml'}", f"--storage.path={root / 'data'}",
                                 f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
                                stdout=out, stderr=subprocess.STDOUT, cwd=root)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(f"{url}/api/v2/status", proc, log)
        yield url
    finally:
        _stop(proc)


@contextmanager
def run_prometheus(root: Path, config: str, rules: str = "") -> Iterator[str]:
    """A real Prometheus server with this ``prometheus.yml`` (and ``rules.yml``), on a free port; its URL.

    Its TSDB stays under ``root``; ``--web.external-url`` is its own address, so an alert's
    ``generatorURL`` points at a graph page that answers.
    """
    exe = _need_binary(prometheus_binary(), "prometheus")
    root.mkdir(parents=True, exist_ok=True)
    (root / "prometheus.yml").write_text(config)
    (root / "rules.yml").write_text(rules or "groups: []\n")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = root / "prometheus.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([exe, f"--config.file={root / 'prometheus.yml'}",
                                 f"--storage.tsdb.path={root / 'data'}", f"--web.listen-address=127.0.0.1:{port}",
                                 f"--web.external-url={url}"], stdout=out, stderr=subprocess.STDOUT, cwd=root)
    try:
        _wait(f"{url}/-/ready", proc, log)
        yield url
    finally:
        _stop(proc)


@pytest.fixture(scope="session")
def alertmanager(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Alertmanager that notifies nobody (the alert-button tests deliver alerts themselves); its URL.

    Skips when it is not installed (``apt-get install prometheus-alertmanager``), unless
    ``MERIDIAN_REQUIRE_SERVICES`` is set (CI installs it), where that is a failure.
    """
    with run_alertmanager(tmp_path_factory.mktemp("alertmanager"),
                          "route: {receiver: meridian}\nreceivers: [{name: meridian}]\n") as url:
        yield url


def finished_runs(client: Any, experiment: str, aucs: dict[str, float]) -> dict[str, str]:
    """Runs on the real server, each with its ``val_auc`` logged and finished: run name → run id."""
    ids = {}
    for name, auc in aucs.items():
        run = client.create_run(experiment, run_name=name)
        client.log_metric(run.info.run_id, "val_auc", auc)
        client.set_terminated(run.info.run_id, "FINISHED")
        ids[name] = run.info.run_id
    return ids

