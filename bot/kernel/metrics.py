"""Counters for ``GET /metrics`` in the Prometheus text format; no client library needed for a few counters."""

from __future__ import annotations

from collections import Counter
from threading import Lock

_counts: Counter[tuple[str, tuple[tuple[str, str], ...]]] = Counter()
_lock = Lock()
HELP = {
    "meridian_commands_total": "Commands handled, by family.",
    "meridian_due_items_total": "Scheduled items handled, by kind and outcome.",
    "meridian_messages_sent_total": "Messages confirmed by a chat platform, by kind.",
    "meridian_delivery_failures_total": "Sends that failed and wait for a retry.",
    "meridian_http_requests_total": "HTTP requests served, by route.",
}


def inc(name: str, amount: int = 1, **labels: str) -> None:
    with _lock:
        _counts[(name, tuple(sorted(labels.items())))] += amount


def value(name: str, **labels: str) -> int:
    return _counts.get((name, tuple(sorted(labels.items()))), 0)


def render() -> str:
    lines: list[str] = []
    with _lock:
        items = sorted(_counts.items())
    names = sorted({n for (n, _), _v in items} | set(HELP))
    for name in names:
        lines.append(f"# HELP {name} {HELP.get(name, name)}")
        lines.append(f"# TYPE {name} counter")
        for (n, labels), count in items:
            if n != name:
                continue
            label_text = ",".join(f'{k}="{v}"' for k, v in labels)
            lines.append(f"{name}{{{label_text}}} {count}" if label_text else f"{name} {count}")
    return "\n".join(lines) + "\n"
