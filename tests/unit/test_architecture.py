"""The shape of the code: the core stays platform-neutral, and no modules import one another in a circle.

The import rules between packages (kernel, capabilities, adapters, storage) are import-linter
contracts in ``pyproject.toml``, checked by ``lint-imports`` in ``scripts/test``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import grimp

BOT = Path(__file__).resolve().parents[2] / "bot"
PACKAGES = ("bot", "adapters", "storage")
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


def import_graph() -> dict[str, set[str]]:
    """Every module of ours and the modules of ours it imports: at the top, in functions and under TYPE_CHECKING."""
    graph = grimp.build_graph(*PACKAGES, exclude_type_checking_imports=False, cache_dir=None)
    return {m: set(graph.find_modules_directly_imported_by(m)) for m in graph.modules}


def tangles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The groups of modules that import one another in a circle (strongly connected components, Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, todo = work[-1]
            nxt = next(todo, None)
            if nxt is not None:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1 or node in graph[node]:
                    found.append(sorted(group))
    return sorted(found)


def shortest_cycle(graph: dict[str, set[str]], start: str) -> list[str]:
    """The shortest chain of imports from ``start`` back to itself (breadth first)."""
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for nxt in sorted(graph[node]):
            if nxt == start:
                return [*paths[node], start]
            if nxt not in paths:
                paths[nxt] = [*paths[node], nxt]
                queue.append(nxt)
    return []


def describe(graph: dict[str, set[str]], groups: list[list[str]]) -> str:
    lines = []
    for group in groups:
        lines.append(f"modules importing one another: {', '.join(group)}")
        seen: set[frozenset[str]] = set()
        for module in group:
            cycle = shortest_cycle(graph, module)
            if frozenset(cycle) not in seen:
                seen.add(frozenset(cycle))
                lines.append("    " + " -> ".join(cycle))
    return "\n".join(lines)


def test_tangles_are_found_and_described() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"e"}, "f": {"d"}}
    assert tangles(graph) == [["a", "b", "c"], ["e"]]
    assert describe(graph, tangles(graph)).splitlines() == [
        "modules importing one another: a, b, c", "    a -> b -> c -> a",
        "modules importing one another: e", "    e -> e"]


def test_no_import_cycles_between_modules() -> None:
    graph = import_graph()
    assert "bot.kernel.app" in graph and "storage.kernel.repo" in graph and "adapters.console.chat" in graph
    groups = tangles(graph)
    assert groups == [], "import cycles:\n" + describe(graph, groups)
