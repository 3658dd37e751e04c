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
    "meridian_answered_before_core_total": "Requests answered by their deadline (Slack's 3 s) before the "
                                           "core loop could, by route; their work ran later.",
    "meridian_db_slow_total": "Database probes that were slow, timed out or found the database locked.",
    "meridian_db_probe_seconds": "How long the last database probe took (its timeout when it did not finish).",
    "meridian_db_up": "1 when the last database probe answered in time, 0 when it was slow or failed.",
}
GAUGES = frozenset({"meridian_db_probe_seconds", "meridian_db_up"})
"""Names in ``HELP`` that are gauges: shown once they have a value, never as a counter."""
_gauges: dict[str, float] = {}


def inc(name: str, amount: int = 1, **labels: str) -> None:
    with _lock:
        _counts[(name, tuple(sorted(labels.items())))] += amount


def set_gauge(name: str, amount: float) -> None:
    """A value that goes up and down (the last probe's latency), rendered as a Prometheus gauge."""
    with _lock:
        _gauges[name] = amount


def value(name: str, **labels: str) -> int:
    return _counts.get((name, tuple(sorted(labels.items()))), 0)


def render() -> str:
    lines: list[str] = []
    with _lock:
        items = sorted(_counts.items())
        gauges = dict(_gauges)
    names = sorted(({n for (n, _), _v in items} | set(HELP)) - GAUGES - set(gauges))
    for name, amount in sorted(gauges.items()):
        lines.append(f"# HELP {name} {HELP.get(name, name)}")
        lines.append(f"# TYPE {name} gauge")
        lines.append(f"{name} {amount:.6g}")
    for name in names:
        lines.append(f"# HELP {name} {HELP.get(name, name)}")
        lines.append(f"# TYPE {name} counter")
        for (n, labels), count in items:
            if n != name:
                continue
            label_text = ",".join(f'{k}="{v}"' for k, v in labels)
            lines.append(f"{name}{{{label_text}}} {count}" if label_text else f"{name} {count}")
    return "\n".join(lines) + "\n"
