"""The core stays platform-neutral: no chat SDK, HTTP client or SQL in ``bot/`` outside the composition root."""

from __future__ import annotations

import ast
from pathlib import Path

BOT = Path(__file__).resolve().parents[2] / "bot"
COMPOSITION_ROOT = {"cli.py", "bootstrap.py", "__main__.py"}
FORBIDDEN = ("slack_bolt", "slack_sdk", "botbuilder", "aiohttp", "httpx", "requests", "sqlalchemy", "sqlmodel",
             "psycopg", "alembic", "storage", "adapters", "apscheduler", "mlflow", "evidently", "wandb")


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_core_modules_import_no_sdk_http_or_sql() -> None:
    offenders = {}
    for path in sorted(BOT.rglob("*.py")):
        if path.relative_to(BOT).as_posix() in COMPOSITION_ROOT:
            continue
        bad = sorted(m for m in imported_modules(path) if m.split(".")[0] in FORBIDDEN)
        if bad:
            offenders[path.relative_to(BOT).as_posix()] = bad
    assert offenders == {}
