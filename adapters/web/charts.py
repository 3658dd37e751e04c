"""Trend charts served by ``meridian serve``: kept in the store, drawn as small PNG bar charts on request.

The digests ask a ``ChartPublisher`` (``bot.digests.sources``) for a URL; this module is
that publisher and the route's drawing. Pure standard library (``zlib``/``struct``): one
bar per value, missing values left empty, the lowest value still a visible bar.
"""

from __future__ import annotations

import hashlib
import json
import math
import struct
import zlib
from collections.abc import Sequence
from urllib.parse import quote

from bot.kernel.ports import Store
from bot.settings import Settings

BACKGROUND = (255, 255, 255)
BAR = (54, 110, 180)
LATEST = (230, 126, 34)
BASELINE = (200, 200, 200)


def _chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)


def encode_png(width: int, height: int, pixels: bytearray) -> bytes:
    """RGB pixels, row by row, as a PNG file."""
    stride = width * 3
    raw = b"".join(b"\x00" + bytes(pixels[y * stride:(y + 1) * stride]) for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(raw, 9)) + _chunk(b"IEND", b"")


def bar_chart_png(values: Sequence[float | None], width: int = 420, height: int = 120) -> bytes:
    pixels = bytearray(bytes(BACKGROUND) * (width * height))

    def fill(x0: int, y0: int, x1: int, y1: int, color: tuple[int, int, int]) -> None:
        for y in range(max(0, y0), min(height, y1)):
            start = (y * width + max(0, x0)) * 3
            count = max(0, min(width, x1) - max(0, x0))
            pixels[start:start + count * 3] = bytes(color) * count

    pad = 6
    fill(pad, height - pad - 1, width - pad, height - pad, BASELINE)
    known = [v for v in values if v is not None and math.isfinite(v)]
    if values and known:
        low, high = min(known), max(known)
        slot = (width - 2 * pad) / len(values)
        usable = height - 2 * pad - 1
        last = max(i for i, v in enumerate(values) if v is not None and math.isfinite(v))
        for i, v in enumerate(values):
            if v is None or not math.isfinite(v):
                continue
            share = 0.6 if high == low else 0.15 + 0.85 * (v - low) / (high - low)
            top = height - pad - 1 - round(usable * share)
            x0 = pad + round(i * slot + slot * 0.15)
            x1 = pad + round((i + 1) * slot - slot * 0.15)
            fill(x0, top, max(x1, x0 + 1), height - pad - 1, LATEST if i == last else BAR)
    return encode_png(width, height, pixels)


class ServedCharts:
    """Keeps chart series in the store and names the URL this server draws them at."""

    def __init__(self, store: Store, base_url: str) -> None:
        self.store = store
        self.base_url = base_url.rstrip("/")

    def publish(self, workspace: str, values: Sequence[float | None]) -> str | None:
        series = [None if v is None else round(float(v), 6) for v in values]
        chart_id = hashlib.sha256(json.dumps([workspace, series]).encode()).hexdigest()[:24]
        self.store.kv_set(workspace, f"chart:{chart_id}", series)
        return f"{self.base_url}/charts/{quote(workspace, safe='')}/{chart_id}.png"


def served_charts(settings: Settings, store: Store) -> ServedCharts | None:
    """Charts are served only where the server has a public address (``MERIDIAN_PUBLIC_URL``)."""
    base = settings.public_url
    return ServedCharts(store, base) if base.startswith(("http://", "https://")) else None
