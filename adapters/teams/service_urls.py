"""Where Meridian may send Teams traffic: the Bot Framework's service URLs, or the configured local emulator.

Every activity names the ``serviceUrl`` the bot must answer on, and conversation references
keep it for later. A caller who could choose that URL could make Meridian POST its bot token
and its messages anywhere; so only these hosts are ever called. The list is Microsoft's own
(the Agents SDK's ``TeamsServiceEndpoints``: the public cloud with its regional paths such as
``/amer/`` and ``/emea/``, GCC, GCC High and DoD).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

BOT_FRAMEWORK_HOSTS: frozenset[str] = frozenset({
    "smba.trafficmanager.net",  # the public cloud, all regions
    "smba.infra.gcc.teams.microsoft.com",  # US Government Community Cloud (GCC)
    "smba.infra.gov.teams.microsoft.us",  # GCC High
    "smba.infra.dod.teams.microsoft.us",  # US Department of Defense
})


def _origin(url: str) -> tuple[str, str, int | None] | None:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.username or parts.password or not parts.hostname:
        return None
    default = {"https": 443, "http": 80}.get(parts.scheme)
    if default is None:
        return None
    return parts.scheme, parts.hostname.lower(), port or default


@dataclass(frozen=True)
class ServiceUrls:
    """The service URLs Meridian answers on; ``emulator`` is the local Bot Connector in emulator mode."""

    emulator: str = ""

    def allows(self, url: str | None) -> bool:
        if not url:
            return False
        origin = _origin(url)
        if origin is None:
            return False
        scheme, host, port = origin
        if scheme == "https" and host in BOT_FRAMEWORK_HOSTS and port == 443:
            return True
        return bool(self.emulator) and origin == _origin(self.emulator)
