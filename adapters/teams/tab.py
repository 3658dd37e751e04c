"""Meridian's personal tab on Teams: the home page Slack shows as its App Home, as a small HTML page.

``GET /teams/tab?t=LINK`` renders ``bot.kernel.home.home_page`` — your zone and time, then
each capability's section (your stand-ups and next reminders in your time, your RACI roles,
your retro slots and open actions) — with every piece of text escaped.

Who is asking is proved by a signed, expiring link, not by Teams' tab single sign-on (which
needs an Entra app registration with an exposed API and the Teams JavaScript client in the
page): typing ``home`` in the 1:1 chat with Meridian answers with a link made for that
member, valid for ``LINK_DAYS``. The link is an HMAC-SHA256 over the tenant, the member and
the expiry, with a random key per tenant kept in the database (so ``serve`` processes and a
restart agree, and nothing needs configuring). The tab Teams opens from the app package shows
the page without a link: how to get yours.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import secrets
from collections.abc import Awaitable, Callable
from datetime import timedelta
from urllib.parse import quote, urlsplit

from aiohttp import web

from bot.kernel.app import Meridian
from bot.kernel.domain import Member
from bot.kernel.home import home_page
from bot.kernel.messages import (
    Actions,
    Block,
    Code,
    Context,
    Divider,
    Header,
    Image,
    Inline,
    Link,
    Mention,
    Message,
    Section,
    Strong,
)

ROUTE = "/teams/tab"
LINK_DAYS = 7
KEY_NAME = "teams.tab-key"
HEADERS = {
    "Content-Type": "text/html; charset=utf-8",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",  # the link is in the URL: never hand it to another site
    "X-Content-Type-Options": "nosniff",
    # No script at all; framed only by Teams' own clients.
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src https:; "
                               "frame-ancestors 'self' https://teams.microsoft.com https://*.teams.microsoft.com "
                               "https://*.teams.microsoft.us https://*.skype.com https://*.office.com "
                               "https://*.cloud.microsoft",
}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TabLinks:
    """Signed, expiring links: to one member's home page, and (``adapters.teams.files``) to a file."""

    def __init__(self, app: Meridian) -> None:
        self.app = app

    def _key(self, tenant: str, create: bool) -> bytes | None:
        stored = self.app.store.kv_get(tenant, KEY_NAME)
        if isinstance(stored, str) and stored:
            return bytes.fromhex(stored)
        if not create:
            return None
        self.app.store.kv_set(tenant, KEY_NAME, secrets.token_hex(32))
        return bytes.fromhex(str(self.app.store.kv_get(tenant, KEY_NAME)))

    def signed(self, tenant: str, *fields: str) -> str:
        """A token over the tenant and ``fields`` that expires in ``LINK_DAYS``, signed with the tenant's key."""
        expires = int((self.app.now() + timedelta(days=LINK_DAYS)).timestamp())
        payload = _b64(json.dumps([tenant, *fields, expires], separators=(",", ":")).encode())
        key = self._key(tenant, create=True)
        assert key is not None
        return f"{payload}.{_b64(hmac.new(key, payload.encode(), hashlib.sha256).digest())}"

    def verified(self, token: str, count: int) -> tuple[str, list[str]] | None:
        """The tenant and the ``count`` fields of an unexpired token signed here; ``None`` for anything else
        (a token made for another purpose has another number of fields)."""
        payload, _, signature = token.partition(".")
        if not payload or not signature or len(token) > 2000:
            return None
        try:
            fields = json.loads(_unb64(payload))
            given = _unb64(signature)
        except (ValueError, TypeError):
            return None
        if not isinstance(fields, list) or len(fields) != count + 2:
            return None
        tenant, *middle, expires = fields
        if not isinstance(tenant, str) or not all(isinstance(f, str) for f in middle) or not isinstance(expires, int):
            return None
        key = self._key(tenant, create=False)
        if key is None or not hmac.compare_digest(given, hmac.new(key, payload.encode(), hashlib.sha256).digest()):
            return None
        if self.app.now().timestamp() >= expires:
            return None
        return tenant, middle

    def token(self, member: Member) -> str:
        return self.signed(member.workspace, member.id)

    def url(self, base: str, member: Member) -> str:
        return f"{base.rstrip('/')}{ROUTE}?t={quote(self.token(member))}"

    def member(self, token: str) -> Member | None:
        """The member a link was made for, while it is unexpired and they are still a member; else ``None``."""
        found = self.verified(token, 1)
        if found is None:
            return None
        tenant, (member_id,) = found
        return self.app.store.get_member(tenant, member_id)


# --- HTML ---------------------------------------------------------------------------------------
def _inline(part: Inline) -> str:
    if isinstance(part, str):
        return html.escape(part)
    if isinstance(part, Strong):
        return f"<strong>{html.escape(part.text)}</strong>"
    if isinstance(part, Code):
        return f"<code>{html.escape(part.text)}</code>"
    if isinstance(part, Link):
        label = html.escape(part.label or part.url)
        if urlsplit(part.url).scheme not in {"http", "https"}:
            return label
        return f'<a href="{html.escape(part.url, quote=True)}" target="_blank" rel="noopener noreferrer">{label}</a>'
    if isinstance(part, Mention):
        return f"@{html.escape(part.name or part.member_id)}"
    return ""


def _block(block: Block) -> str:
    def text(parts: tuple[Inline, ...]) -> str:
        return "".join(_inline(p) for p in parts)

    if isinstance(block, Header):
        return f"<h2>{html.escape(block.text)}</h2>"
    if isinstance(block, Section):
        fields = "".join(f"<li>{text(f)}</li>" for f in block.fields)
        return f"<p>{text(block.text)}</p>" + (f"<ul>{fields}</ul>" if fields else "")
    if isinstance(block, Context):
        return f'<p class="small">{text(block.text)}</p>'
    if isinstance(block, Divider):
        return "<hr>"
    if isinstance(block, Image):
        return f"<p>{html.escape(block.alt)}</p>"
    if isinstance(block, Actions):
        return ""  # buttons act in the chat, not on this page
    return ""


STYLE = ("body{font-family:'Segoe UI',system-ui,sans-serif;margin:1.5rem;max-width:46rem;line-height:1.45;"
         "color:#242424}h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:1.2rem}.small{color:#616161;"
         "font-size:.9rem}code{background:#f0f0f0;padding:0 .2rem;border-radius:3px}"
         "hr{border:0;border-top:1px solid #e0e0e0}")


def page(title: str, body: str) -> str:
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{STYLE}</style></head>'
            f"<body>{body}</body></html>")


def home_html(app: Meridian, member: Member) -> str:
    """The member's home page, as the core builds it, in escaped HTML."""
    message: Message = home_page(app, member)
    blocks = list(message.blocks)
    head = f"<h1>{html.escape(blocks[0].text)}</h1>" if blocks and isinstance(blocks[0], Header) else ""
    rest = blocks[1:] if head else blocks
    return page(f"Meridian: {member.name}", head + "".join(_block(b) for b in rest))


HOW_TO = ("<h1>Meridian</h1><p>This page shows your next stand-up reminders in your time, your RACI roles, your "
          "retro slots and your open actions.</p><p>Type <code>home</code> in your chat with Meridian to get your "
          f"own link to it (it works for {LINK_DAYS} days).</p>")


def tab_handler(app: Meridian, links: TabLinks) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def tab(request: web.Request) -> web.StreamResponse:
        token = request.query.get("t", "")
        if not token:
            return web.Response(text=page("Meridian", HOW_TO), headers=HEADERS)
        member = links.member(token)
        if member is None:
            body = ("<h1>Meridian</h1><p>This link has expired or is not valid.</p>" + HOW_TO.split("</h1>", 1)[1])
            return web.Response(status=403, text=page("Meridian", body), headers=HEADERS)
        return web.Response(text=home_html(app, member), headers=HEADERS)

    return tab
