"""Prometheus HTTP API → numbers for the drift digest (``/api/v1/query`` and ``query_range``).

The answer shapes are the HTTP API's (``docs/querying/api.md``): an instant query answers with a
``vector`` (each series holding ``value`` or, for a native histogram, ``histogram``), a ``scalar``,
a ``string``, or — for a range selector such as ``x[5m]`` — a ``matrix``. Only a vector or a scalar
is a number; which series of a vector a check means is the digest's ``choose``.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from adapters.sources.http import HttpSource
from bot.digests.config import PrometheusConfig
from bot.digests.sources import InstantSample, QueryError, Sample, SeriesChoice, SourceUnavailable, choose

QUERY_FAULTS = {"bad_data", "execution"}
"""``errorType``s that are the query's fault (HTTP 400 and 422), not the server's."""


def _value(raw: Any) -> float | None:
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _sample(raw: dict[str, Any]) -> InstantSample:
    labels = {str(k): str(v) for k, v in (raw.get("metric") or {}).items()}
    pair = raw.get("value")
    if pair is None and "histogram" in raw:
        return InstantSample(labels, None, histogram=True)
    return InstantSample(labels, _value(pair[1]) if isinstance(pair, list) and len(pair) == 2 else None)


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
            if isinstance(answer, dict) and answer.get("errorType") in QUERY_FAULTS:
                raise QueryError(f"Prometheus refused {params.get('query')!r}: {error}")
            raise SourceUnavailable(self.name, f"query {params.get('query')!r} failed: {error}")
        data = answer.get("data")
        if not isinstance(data, dict):
            raise SourceUnavailable(self.name, f"answer to {params.get('query')!r} has no data")
        return data

    async def instant(self, query: str, at: datetime, choice: SeriesChoice | None = None) -> float | None:
        data = await self._data("/api/v1/query", {"query": query, "time": f"{at.timestamp():.3f}"})
        kind, result = data.get("resultType"), data.get("result")
        if kind == "scalar" and isinstance(result, list) and len(result) == 2:
            return _value(result[1])
        if kind == "matrix":
            raise QueryError(f"{query!r} answers with a range of samples (a range selector like [5m]), not one "
                             "value: drop the selector or wrap it, e.g. max_over_time(…[5m])")
        if kind == "string":
            raise QueryError(f"{query!r} answers with text, not a number")
        if kind != "vector" or not isinstance(result, list):
            raise SourceUnavailable(self.name, f"unexpected answer to {query!r} (resultType {kind!r})")
        return choose([_sample(s) for s in result if isinstance(s, dict)], choice or SeriesChoice(), query)

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
