"""The Teams app package: ``manifest.json`` (schema v1.17) and two icons, zipped for upload.

The bot also powers one messaging extension: the message action "Ask who owns this"
(``composeExtensions``: an action command on messages, with a static one-parameter dialog,
``adapters.teams.extension``).

With a public URL the package also declares the personal tab (``staticTabs``: Meridian's home
page, ``/teams/tab``) and adds its host to ``validDomains``.

The icons are drawn here and written with a minimal PNG encoder (zlib + struct), so
building a package needs no image library: a 192×192 colour icon and the 32×32
outline icon Teams wants (white on transparent).
"""

from __future__ import annotations

import io
import json
import math
import re
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from adapters.teams.extension import ASK_OWNER, QUESTION

TAB_PATH = "/teams/tab"
"""The personal tab's page on ``meridian serve`` (``adapters.teams.tab``)."""
MANIFEST_VERSION = "1.17"
MANIFEST_SCHEMA = f"https://developer.microsoft.com/en-us/json-schemas/teams/v{MANIFEST_VERSION}/MicrosoftTeams.schema.json"
ACCENT = (0x2E, 0x5E, 0x8C)
SCOPES = ["personal", "team", "groupChat"]
GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")

COMMANDS: tuple[tuple[str, str], ...] = (
    ("standup", "Answer today's stand-up"),
    ("standup skip today", "Skip today's stand-up without being nagged"),
    ("standup report", "Re-post today's stand-up report"),
    ("raci", "Who is responsible for an activity, or a person's roles"),
    ("retro", "Retros and their rotating slots"),
    ("experiments", "The experiments digest, on demand"),
    ("drift", "The drift digest, on demand"),
    ("meridian tz", "Set your time zone, e.g. meridian tz Europe/Berlin"),
    ("meridian me", "Show your settings"),
    ("meridian help", "Your settings and privacy commands"),
)
"""What Teams suggests when someone types to the bot (at most 10 per list)."""

ASK_OWNER_COMMAND: dict[str, Any] = {
    "id": ASK_OWNER,
    "type": "action",
    "title": "Ask who owns this",
    "description": "Who owns the activity this message is about: Meridian's RACI answer, for you to keep or share",
    "context": ["message"],
    "fetchTask": False,
    "parameters": [{"name": QUESTION, "title": "Your question (optional)", "inputType": "textarea",
                    "description": "Leave it empty to ask about the message itself, or ask: who owns churn retraining?"}],
}
"""A message action (the ``…`` menu of a message, "More actions"): Teams shows the one-field dialog, then sends
``composeExtension/submitAction`` with the message in ``messagePayload``."""

Pixel = tuple[int, int, int, int]


class PackageError(ValueError):
    """A package that Teams would refuse; the message names the setting to fix."""


# --- PNG ----------------------------------------------------------------------------------
def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png(width: int, height: int, pixel: Callable[[int, int], Pixel]) -> bytes:
    """An 8-bit RGBA PNG whose pixel (x, y) is ``pixel(x, y)``."""
    rows = bytearray()
    for y in range(height):
        rows.append(0)  # filter: none
        for x in range(width):
            rows.extend(pixel(x, y))
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(bytes(rows), 9)) + \
        _chunk(b"IEND", b"")


def png_size(data: bytes) -> tuple[int, int]:
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise ValueError("not a PNG")
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def _coverage(size: int, x: int, y: int) -> float:
    """How much of pixel (x, y) the Meridian mark covers: a ring (the globe) cut by a meridian line."""
    c = (size - 1) / 2
    dx, dy = x - c, y - c
    r = math.hypot(dx, dy)
    outer, width = size * 0.40, max(1.0, size * 0.075)
    ring = max(0.0, min(1.0, width / 2 + 0.5 - abs(r - (outer - width / 2))))
    line = max(0.0, min(1.0, width / 2 + 0.5 - abs(dx))) if r <= outer else 0.0
    arc = 0.0
    if r <= outer:  # an inner arc: the meridian's curve
        ex = abs(dx) / 0.45 if abs(dx) > 0 else 0.0
        inner = math.hypot(ex, dy)
        arc = max(0.0, min(1.0, width / 2 + 0.5 - abs(inner - (outer - width / 2))))
    return max(ring, line, arc)


def color_icon(size: int = 192) -> bytes:
    def pixel(x: int, y: int) -> Pixel:
        a = _coverage(size, x, y)
        r, g, b = (round(ACCENT[i] + (255 - ACCENT[i]) * a) for i in range(3))
        return r, g, b, 255

    return png(size, size, pixel)


def outline_icon(size: int = 32) -> bytes:
    """White on transparent, as Teams requires of the outline icon."""
    return png(size, size, lambda x, y: (255, 255, 255, round(255 * _coverage(size, x, y))))


# --- manifest -----------------------------------------------------------------------------
@dataclass(frozen=True)
class PackageInfo:
    app_id: str
    version: str = "1.0.0"
    developer: str = "Meridian"
    website: str = "https://example.com/meridian"
    privacy: str = ""
    terms: str = ""
    domain: str = ""
    public_url: str = ""
    """Where ``meridian serve`` is reached (``MERIDIAN_PUBLIC_URL``): the personal tab is declared only with it."""


def _https(url: str, what: str) -> str:
    if not url.startswith("https://") or len(url) > 2048:
        raise PackageError(f"{what} must be an https:// URL (Teams refuses others), not {url!r}")
    return url


def manifest(info: PackageInfo) -> dict[str, Any]:
    if not GUID.match(info.app_id or ""):
        raise PackageError("MicrosoftAppId must be the bot's Azure app id (a GUID like "
                           "00000000-0000-0000-0000-000000000000); set it or pass --app-id")
    if not re.fullmatch(r"\d+\.\d+\.\d+", info.version):
        raise PackageError(f"--version must look like 1.0.0, not {info.version!r}")
    website = _https(info.website, "--website")
    manifest: dict[str, Any] = {
        "$schema": MANIFEST_SCHEMA,
        "manifestVersion": MANIFEST_VERSION,
        "version": info.version,
        "id": info.app_id,
        "developer": {
            "name": info.developer[:32],
            "websiteUrl": website,
            "privacyUrl": _https(info.privacy or f"{website.rstrip('/')}/privacy", "--privacy"),
            "termsOfUseUrl": _https(info.terms or f"{website.rstrip('/')}/terms", "--terms"),
        },
        "name": {"short": "Meridian", "full": "Meridian: async stand-ups, digests, RACI and retros for ML teams"},
        "description": {
            "short": "Stand-ups on everyone's own clock, ML digests, RACI and fair retros.",
            "full": ("Meridian runs asynchronous stand-ups at 09:30 on each person's own clock, posts experiment "
                     "and drift digests, answers who owns what with a RACI lookup, and rotates retro slots fairly "
                     "across time zones. Message it 'standup help', 'raci help' or 'meridian help'."),
        },
        "icons": {"color": "color.png", "outline": "outline.png"},
        "accentColor": "#{:02X}{:02X}{:02X}".format(*ACCENT),
        "bots": [{
            "botId": info.app_id,
            "scopes": SCOPES,
            "supportsFiles": True,  # a retro's calendar file reaches a 1:1 chat by the file-consent flow
            "isNotificationOnly": False,
            "commandLists": [{"scopes": SCOPES,
                              "commands": [{"title": t, "description": d} for t, d in COMMANDS]}],
        }],
        "composeExtensions": [{"botId": info.app_id, "commands": [ASK_OWNER_COMMAND]}],
        "permissions": ["identity", "messageTeamMembers"],
        "validDomains": [info.domain] if info.domain else [],
    }
    if info.public_url:
        tab = f"{_https(info.public_url, 'MERIDIAN_PUBLIC_URL').rstrip('/')}{TAB_PATH}"
        manifest["staticTabs"] = [{"entityId": "home", "name": "Home", "contentUrl": tab, "websiteUrl": tab,
                                   "scopes": ["personal"]}]
        host = urlsplit(tab).hostname or ""
        if host and host not in manifest["validDomains"]:
            manifest["validDomains"].append(host)
    return manifest


def build_package(info: PackageInfo) -> bytes:
    """The zip Teams accepts: ``manifest.json``, ``color.png`` and ``outline.png`` at its root."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("manifest.json", json.dumps(manifest(info), indent=2, ensure_ascii=False) + "\n")
        z.writestr("color.png", color_icon())
        z.writestr("outline.png", outline_icon())
    return buffer.getvalue()
