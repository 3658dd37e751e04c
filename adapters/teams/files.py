"""Files Meridian sends on Teams (a retro's calendar file, a RACI export), where Teams lets a bot send them.

In a 1:1 chat a bot sends a file only with the person's consent (the Teams bot file API works in
personal chats alone): a ``FileConsentCard`` attachment names the file and its size; **Allow** makes
Teams send a ``fileConsent/invoke`` with ``action: accept`` and an ``uploadInfo`` whose ``uploadUrl`` is
a place in the person's OneDrive; the bytes are PUT there (with ``Content-Range``) and a
``FileInfoCard`` then shows the file in the chat. **Decline** uploads nothing, and Meridian says so.
The file itself rides in the card's ``acceptContext`` (it comes back with the accept, so nothing is
kept); one too big for that is kept like a channel's.

In a channel or a group chat, where a bot cannot upload, the message carries a link to the file
served by ``meridian serve`` (``GET /teams/files/NAME?t=…``): signed like the personal tab's link
(``adapters.teams.tab``), valid for ``LINK_DAYS``, the file kept in the core's key-value store that
long. Without ``MERIDIAN_PUBLIC_URL`` there is nowhere to link to, and the card names the file only.

Meridian only PUTs to a OneDrive or SharePoint host over HTTPS (``UploadUrls``): the upload URL comes
in an activity, and nothing in one may make Meridian send data elsewhere.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp
from aiohttp import web
from botbuilder.schema import Activity, ActivityTypes
from botbuilder.schema import Attachment as CardAttachment

from adapters.teams.render import CARD_LIMIT, activity_size
from adapters.teams.tab import LINK_DAYS, TabLinks
from bot.kernel.app import Meridian
from bot.kernel.messages import Attachment, Context, Link, Message, rich
from bot.kernel.ports import DeliveryError

log = logging.getLogger("meridian.teams.files")

CONSENT_TYPE = "application/vnd.microsoft.teams.card.file.consent"
INFO_TYPE = "application/vnd.microsoft.teams.card.file.info"
ROUTE = "/teams/files/{name}"
KV_PREFIX = "teams.file."
INDEX = "teams.files"
"""A tenant's kept files and when each expires, so expired ones are deleted as new ones are kept."""
UPLOAD_TIMEOUT = 30.0
ONEDRIVE_SUFFIXES = (".sharepoint.com", ".sharepoint.us", ".sharepoint-mil.us", ".sharepoint.cn",
                     ".sharepoint.de")
"""Where Teams' ``uploadUrl`` points: the person's OneDrive for Business, a SharePoint host of their cloud."""


@dataclass(frozen=True)
class UploadUrls:
    """The upload URLs Meridian PUTs to; ``local`` is one more origin (a local OneDrive stand-in) allowed."""

    local: str = ""

    def allows(self, url: str) -> bool:
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            return False
        host = (parts.hostname or "").lower()
        if parts.username or parts.password or not host:
            return False
        if parts.scheme == "https" and port in {None, 443} and host.endswith(ONEDRIVE_SUFFIXES):
            return True
        if not self.local:
            return False
        local = urlsplit(self.local)
        return (parts.scheme, host, port) == (local.scheme, (local.hostname or "").lower(), local.port)


def _file_type(name: str) -> str:
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


class TeamsFiles:
    """Attachments as consent cards in 1:1 chats and as signed links elsewhere; the uploads after consent."""

    def __init__(self, app: Meridian, uploads: UploadUrls | None = None) -> None:
        self.app = app
        self.links = TabLinks(app)
        self.uploads = uploads or UploadUrls()

    # --- kept files, for links -----------------------------------------------------------
    def keep(self, workspace: str, attachment: Attachment) -> str:
        """Keep the file for ``LINK_DAYS``; expired ones of the tenant go now."""
        store, now = self.app.store, int(self.app.now().timestamp())
        index = store.kv_get(workspace, INDEX)
        kept = [e for e in index if isinstance(e, list) and len(e) == 2] if isinstance(index, list) else []
        for key, expires in kept:
            if expires <= now:
                store.kv_delete(workspace, f"{KV_PREFIX}{key}")
        key = secrets.token_urlsafe(12)
        expires = now + LINK_DAYS * 86_400
        store.kv_set(workspace, f"{KV_PREFIX}{key}", {"name": attachment.filename, "content": attachment.content,
                                                     "mime": attachment.mime, "expires": expires})
        store.kv_set(workspace, INDEX, [[k, e] for k, e in kept if e > now] + [[key, expires]])
        return key

    def kept(self, workspace: str, key: str) -> Attachment | None:
        raw = self.app.store.kv_get(workspace, f"{KV_PREFIX}{key}")
        if not isinstance(raw, dict) or int(raw.get("expires", 0)) <= self.app.now().timestamp():
            return None
        return Attachment(str(raw["name"]), str(raw["content"]), str(raw.get("mime") or "application/octet-stream"))

    def url(self, base: str, workspace: str, attachment: Attachment) -> str:
        token = self.links.signed(workspace, "file", self.keep(workspace, attachment))
        return f"{base.rstrip('/')}/teams/files/{quote(attachment.filename, safe='')}?t={quote(token)}"

    def by_token(self, token: str) -> Attachment | None:
        found = self.verified_file(token)
        return self.kept(*found) if found else None

    def verified_file(self, token: str) -> tuple[str, str] | None:
        found = self.links.verified(token, 2)
        if found is None or found[1][0] != "file":
            return None
        return found[0], found[1][1]

    def linked(self, workspace: str, message: Message, public_url: str) -> Message:
        """The message for a channel: each file a link at its end (or, with no public URL, just named)."""
        if not message.attachments or not public_url:
            return message
        links = [Context(rich("📎 ", Link(self.url(public_url, workspace, a), a.filename),
                              f" ({len(a.content.encode()):,} bytes; the link works for {LINK_DAYS} days)"))
                 for a in message.attachments]
        return replace(message, blocks=(*message.blocks, *links), attachments=())

    # --- 1:1 chats: consent, then upload --------------------------------------------------
    def consent(self, workspace: str, attachment: Attachment) -> Activity:
        """The ``FileConsentCard`` asking to put the file in the person's OneDrive."""
        size = len(attachment.content.encode())
        description = f"{attachment.filename} from Meridian ({size:,} bytes)"
        inline = {"name": attachment.filename, "mime": attachment.mime, "content": attachment.content}
        activity = _consent_activity(attachment.filename, description, size, inline)
        if activity_size(activity) > CARD_LIMIT:  # too big to ride along: kept, and named by its key
            kept = {"name": attachment.filename, "file": self.keep(workspace, attachment)}
            activity = _consent_activity(attachment.filename, description, size, kept)
        return activity

    def accepted(self, workspace: str, context: Any) -> Attachment | None:
        """The file a consent card's ``acceptContext`` carries or names; ``None`` when it is gone or not ours."""
        if not isinstance(context, dict):
            return None
        if isinstance(context.get("file"), str):
            return self.kept(workspace, context["file"])
        name, content = context.get("name"), context.get("content")
        if not isinstance(name, str) or not isinstance(content, str):
            return None
        return Attachment(name, content, str(context.get("mime") or "application/octet-stream"))

    async def upload(self, url: Any, content: bytes) -> None:
        """PUT the whole file to the upload URL Teams gave, in one range; ``DeliveryError`` when it fails."""
        if not isinstance(url, str) or not self.uploads.allows(url):
            raise DeliveryError("the upload URL is not a OneDrive address")
        headers = {"Content-Range": f"bytes 0-{len(content) - 1}/{len(content)}",
                   "Content-Type": "application/octet-stream"}
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=UPLOAD_TIMEOUT)) as http, \
                    http.put(url, data=content, headers=headers) as response:
                if response.status >= 300:
                    raise DeliveryError(f"OneDrive answered {response.status}")
        except (aiohttp.ClientError, OSError, TimeoutError) as err:
            raise DeliveryError(f"OneDrive unreachable: {type(err).__name__}") from err


def _consent_activity(name: str, description: str, size: int, accept: dict[str, Any]) -> Activity:
    content = {"description": description, "sizeInBytes": size, "acceptContext": accept,
               "declineContext": {"name": name}}
    return Activity(type=ActivityTypes.message, summary=f"File: {name}"[:200],
                    attachments=[CardAttachment(content_type=CONSENT_TYPE, name=name, content=content)])


def file_info(upload: dict[str, Any]) -> Activity:
    """The ``FileInfoCard`` that shows an uploaded file in the chat, from the accept's ``uploadInfo``."""
    name = str(upload.get("name") or "file")
    content = {"uniqueId": str(upload.get("uniqueId") or ""), "fileType": str(upload.get("fileType") or
                                                                               _file_type(name))}
    return Activity(type=ActivityTypes.message, summary=f"File: {name}"[:200],
                    attachments=[CardAttachment(content_type=INFO_TYPE, name=name,
                                                content_url=str(upload.get("contentUrl") or ""), content=content)])


FILE_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff",
                "Content-Security-Policy": "default-src 'none'"}


def file_handler(files: TeamsFiles) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """``GET /teams/files/NAME?t=…``: the file a signed link was made for, as a download; 403 once expired."""
    async def serve(request: web.Request) -> web.StreamResponse:
        found = files.by_token(request.query.get("t", ""))
        if found is None:
            return web.Response(status=403, text="This link has expired or is not valid.\n", headers=FILE_HEADERS)
        mime = found.mime if found.mime in {"text/calendar", "text/csv"} else "application/octet-stream"
        disposition = f"attachment; filename*=UTF-8''{quote(found.filename, safe='')}"
        return web.Response(body=found.content.encode(), headers={**FILE_HEADERS, "Content-Type": f"{mime}; "
                                                                  "charset=utf-8", "Content-Disposition": disposition})

    return serve
