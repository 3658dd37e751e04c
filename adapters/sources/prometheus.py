"""Prometheus HTTP API → numbers for the drift digest (``/api/v1/query`` and ``query_range``)."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from adapters.sources.http import HttpSource
from bot.digests.config import PrometheusConfig
from bot.digests.sources import Sample, SourceUnavailable


def _value(raw: Any) -> float | None:
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


class PrometheusSource:
    name = "Prometheus"

    def __init__(self, config: PrometheusConfig, http: HttpSource | None = None) -> None:
        self.http = http or HttpSource(self.name, config.url, config.timeout.total_seconds())

    async def close(self) -> None:
        await self.http.close()

    async def _data(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        status, answer = await self.http.call("GET", path, params=params)
        if not isinstance(answer, dict) or answer.get("status") != "success":
            error = answer.get("error", f"HTTP {status}") if isinstance(answer, dict) else f"HTTP {status}"
            raise SourceUnavailable(self.name, f"query {params.get('query')!r} failed: {error}")
        data: dict[str, Any] = answer.get("data", {})
        return data

    async def instant(self, query: str, at: datetime) -> float | None:
        data = await self._data("/api/v1/query", {"query": query, "time": f"{at.timestamp():.3f}"})
        result = data.get("result")
        if data.get("resultType") in {"scalar", "string"} and isinstance(result, list):
            return _value(result[1])
        if not result:
            return None
        return _value(result[0]["value"][1])

    async def series(self, query: str, start: datetime, end: datetime, step_seconds: int) -> list[Sample]:
        data = await self._data("/api/v1/query_range", {"query": query, "start": f"{start.timestamp():.3f}",
                                                         "end": f"{end.timestamp():.3f}", "step": step_seconds})
        result = data.get("result") or []
        if not result:
            return []
        samples = []
        for ts, raw in result[0].get("values", []):
            value = _value(raw)
            if value is not None:
                samples.append(Sample(datetime.fromtimestamp(float(ts), tz=UTC), value))
        return samples
