"""Files in and out of Slack: attachments uploaded as real files, and the CSV a person shared.

Out: a neutral ``Attachment`` (a retro's calendar file, a RACI export) goes up with
Slack's upload flow (``files.getUploadURLExternal``, the bytes to the URL it returns,
``files.completeUploadExternal`` into the channel and thread), through slack_sdk's
``files_upload_v2``. When Slack refuses (no ``files:write``, an outage), the file is
shown inline as code blocks instead, so nobody loses it.

In: ``latest`` backs the chat port's ``ReceivesUploads`` (``/raci import``): the newest
CSV that person shared in that channel (``files.list`` then ``files.info``), fetched
from ``url_private_download`` with the bot token. The token is only ever sent to
Slack's own file host (or the configured API host, which tests point at the emulator).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any, Protocol
from urllib.parse import urlsplit

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.blocks import attachment_blocks, escape
from bot.kernel.commands import CommandError
from bot.kernel.domain import Member
from bot.kernel.messages import Attachment
from bot.kernel.ports import DeliveryError, RateLimited, Upload

log = logging.getLogger("meridian.slack.files")

SLACK_FILE_HOSTS = frozenset({"files.slack.com"})
FALLBACK_RATE_LIMIT_WAITS = 10
LISTED_FILES = 20
"""How many of the person's newest files in the channel are looked through for a CSV."""


class WebApi(Protocol):
    """What files need of the Slack chat port: its clients, its calls and its connection pool."""

    api_url: str

    def client(self, token: str, for_sending: bool = False, keyed: bool = False) -> AsyncWebClient: ...

    async def token(self, workspace: str) -> str: ...

    async def call(self, workspace: str, method: str, for_sending: bool = True, keyed: bool = False,
                   **args: Any) -> dict[str, Any]: ...

    def session(self) -> aiohttp.ClientSession: ...


class SlackFiles:
    """Uploads for the chat port, and the shared file behind its ``latest_upload``."""

    def __init__(self, chat: WebApi) -> None:
        self.chat = chat

    # --- out: attachments as files ----------------------------------------------------
    async def upload(self, workspace: str, channel: str, attachment: Attachment, thread: str | None = None) -> bool:
        """One file into a channel (and thread); ``False`` when Slack would not take it."""
        try:
            client = self.chat.client(await self.chat.token(workspace))
            await client.files_upload_v2(filename=attachment.filename, title=attachment.filename,
                                         content=attachment.content.encode("utf-8"), channel=channel,
                                         thread_ts=thread)
        except SlackApiError as err:
            log.warning("upload of %s refused by Slack: %s", attachment.filename, err.response.get("error", "error"))
            return False
        except (DeliveryError, SlackClientError, aiohttp.ClientError, OSError, TimeoutError) as err:
            log.warning("upload of %s failed: %s", attachment.filename, type(err).__name__)
            return False
        return True

    async def send(self, workspace: str, channel: str, attachments: Sequence[Attachment],
                   thread: str | None = None) -> None:
        """Every attachment of a message already posted: uploaded, or shown inline where upload fails."""
        for attachment in attachments:
            if not await self.upload(workspace, channel, attachment, thread):
                await self._inline(workspace, channel, attachment, thread)

    async def _inline(self, workspace: str, channel: str, attachment: Attachment, thread: str | None) -> None:
        """The fallback, posted after the message itself went out: waits through 429s, never fails the send."""
        blocks = attachment_blocks(attachment)
        for start in range(0, len(blocks), 50):
            args: dict[str, Any] = {"channel": channel, "text": escape(attachment.filename),
                                    "blocks": blocks[start:start + 50]}
            if thread:
                args["thread_ts"] = thread
            for _ in range(FALLBACK_RATE_LIMIT_WAITS):
                try:
                    await self.chat.call(workspace, "chat.postMessage", **args)
                    break
                except RateLimited as limited:
                    await asyncio.sleep(limited.retry_after)
                except DeliveryError as err:
                    log.warning("%s could not be shown inline either: %s", attachment.filename, err)
                    return

    # --- in: the CSV a person shared (bot.kernel.ports.ReceivesUploads) -------------------
    async def latest(self, workspace: str, channel: str | None, member: Member, max_bytes: int) -> Upload | None:
        if not channel:
            return None
        user = member.accounts.get("slack") or member.id
        try:
            listed = await self.chat.call(workspace, "files.list", for_sending=False, channel=channel, user=user,
                                          count=LISTED_FILES)
            shared = next((f for f in listed.get("files") or [] if _is_csv(f)), None)
            if shared is None:
                return None
            info = await self.chat.call(workspace, "files.info", for_sending=False, file=str(shared["id"]))
        except DeliveryError as err:
            log.warning("could not list the files of a channel in %s: %s", workspace, err)
            raise CommandError("Slack would not show me the files in this channel; an admin may need to "
                               "reinstall Meridian with its file permissions (files:read).") from None
        file: dict[str, Any] = info.get("file") or shared
        url = str(file.get("url_private_download") or file.get("url_private") or "")
        name = str(file.get("name") or file.get("title") or "the uploaded file")
        content = await self._download(workspace, url, max_bytes)
        if content is None:
            raise CommandError(f"I could not download {name} from Slack; please try again.")
        return Upload(name, content)

    async def _download(self, workspace: str, url: str, max_bytes: int) -> bytes | None:
        """At most ``max_bytes`` of a private file; the token goes to Slack's file host and nowhere else."""
        allowed = SLACK_FILE_HOSTS | {urlsplit(self.chat.api_url).netloc}
        if urlsplit(url).netloc not in allowed or urlsplit(url).scheme not in {"https", "http"}:
            log.warning("refused to send the bot token to a file URL outside Slack")
            return None
        headers = {"Authorization": f"Bearer {await self.chat.token(workspace)}"}
        try:
            async with self.chat.session().get(url, headers=headers) as resp:
                if resp.status != 200 or resp.content_type == "text/html":  # Slack's login page means no access
                    log.warning("file download answered %s (%s)", resp.status, resp.content_type)
                    return None
                data = bytearray()
                while len(data) < max_bytes:
                    chunk = await resp.content.read(max_bytes - len(data))
                    if not chunk:
                        break
                    data.extend(chunk)
                return bytes(data)
        except (aiohttp.ClientError, TimeoutError) as err:
            log.warning("file download failed: %s", type(err).__name__)
            return None


def _is_csv(file: dict[str, Any]) -> bool:
    name = str(file.get("name") or "").lower()
    return file.get("filetype") == "csv" or file.get("mimetype") == "text/csv" or name.endswith(".csv")
