"""schemathesis against a live ``meridian serve``, with ``docs/openapi.yaml``: every route Meridian owns
answers as the description says, never a 500, and refuses whatever lacks its credentials.

Bounded: ``MAX_EXAMPLES`` per route, each request with a ``REQUEST_TIMEOUT``; the server runs
without its scheduler, so nothing it accepts is sent anywhere.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from tests.integration.test_serve_process import free_port

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "schemathesis-token"
WANDB_SECRET = "wandb-s3cret"
# A request past a documented bound is refused with 413 (too many alerts, too large a body): a rejection too.
# Unknown query parameters are ignored, as HTTP servers do, so they are not generated as "invalid".
# The bearer token is schemathesis' to send, so that it can also leave it out and expect the 401.
CONFIG = SchemathesisConfig.from_dict({
    "checks": {"negative_data_rejection": {"expected-statuses": ["400", "401", "404", "405", "413", "415", "422"]}},
    "generation": {"allow-extra-parameters": False},
    "auth": {"openapi": {"webhookToken": {"bearer": TOKEN}, "wandbAccessToken": {"bearer": WANDB_SECRET}}},
})
SCHEMA = schemathesis.openapi.from_path(ROOT / "docs" / "openapi.yaml", config=CONFIG)
MAX_EXAMPLES = 50
SEEN: dict[str, set[int]] = {}
"""Statuses each route answered during the run."""
REQUEST_TIMEOUT = 10
TEAM = """
workspace: acme-ml
members:
  - {id: alice, name: Alice, tz: Europe/Berlin, admin: true}
sources:
  tracking: [{kind: mlflow, uri: "http://127.0.0.1:9/", experiments: ["churn-*"], metric: val_auc}]
  monitoring: [{kind: evidently, url: "http://127.0.0.1:9/"}]
  models: [{name: churn-model, owner: alice}]
  alertmanager: {channel: "#ml-alerts"}
digests:
  - {kind: experiments, channel: "#ml-team", at: "08:00 UTC"}
"""


@pytest.fixture(scope="module")
def serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("serve")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "Microsoft", "MERIDIAN_", "MLFLOW_", "WANDB_"))}
    env.update({"PYTHONPATH": str(ROOT), "DATABASE_URL": f"sqlite:///{tmp / 'm.db'}",
                "MERIDIAN_WEBHOOK_TOKEN": TOKEN, "MLFLOW_WEBHOOK_SECRET": "s3cret",
                "WANDB_WEBHOOK_SECRET": WANDB_SECRET,
                "MERIDIAN_PUBLIC_URL": f"http://127.0.0.1:{port}/",
                # a multi-workspace Slack app, so /slack/install has a page; its Web API is nowhere
                "SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "shh", "SLACK_SIGNING_SECRET": "sign",
                "SLACK_API_URL": "http://127.0.0.1:9/api/"})
    (tmp / "team.yaml").write_text(TEAM, encoding="utf-8")
    subprocess.run([sys.executable, "-m", "bot", "import", "team.yaml", "--platform", "console"], cwd=tmp,
                   env=env, check=True, capture_output=True, timeout=120)
    log = (tmp / "serve.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(port),
                             "--no-scheduler"], cwd=tmp, env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2):
                    break
            except OSError:
                assert proc.poll() is None, (tmp / "serve.log").read_text()
                time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()
        assert "Traceback" not in (tmp / "serve.log").read_text(), (tmp / "serve.log").read_text()


@SCHEMA.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
def test_meridian_serve_keeps_to_its_openapi_description(case: schemathesis.Case, serve: str) -> None:
    response = case.call_and_validate(base_url=serve, timeout=REQUEST_TIMEOUT)
    SEEN.setdefault(f"{case.method} {case.path}", set()).add(response.status_code)


def test_the_run_reached_past_authentication_and_was_refused_without_it() -> None:
    """The run above is only worth something if its requests got in as well as being turned away."""
    if not SEEN:
        pytest.skip("runs after test_meridian_serve_keeps_to_its_openapi_description, in the same session")
    alertmanager = SEEN.get("POST /hooks/alertmanager", set())
    assert 202 in alertmanager and 401 in alertmanager and 400 in alertmanager, alertmanager
    wandb = SEEN.get("POST /hooks/wandb", set())
    assert 200 in wandb and 401 in wandb and 400 in wandb, wandb
    assert SEEN.get("GET /healthz") == {200}
