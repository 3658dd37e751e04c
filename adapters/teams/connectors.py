"""One Bot Connector client per service URL, kept, instead of a new one for every proactive call.

botbuilder 4.17's ``CloudAdapter`` builds a ``ConnectorClient`` and a ``UserTokenClient`` for every
``continue_conversation`` and ``create_conversation``. Each is an msrest client whose configuration
builds a retry policy by scanning 999 status codes against a list of 500 (about 3 ms of CPU apiece,
so some 13 ms a first-day DM, which is two calls), and each comes with new credentials: a new MSAL
application with an empty token cache, so outside emulator mode every call would also fetch a fresh
token from Entra. Kept clients keep their credentials, and MSAL hands out the cached token until it is
about to expire. The clients are safe to share between concurrent turns: they hold no per-call state,
and their HTTP sessions are per thread.

Only the proactive path goes through here; a turn that answers an incoming activity uses the factory
that authenticating the request made, as before.
"""

from __future__ import annotations

from typing import Any

from botbuilder.integration.aiohttp import ConfigurationBotFrameworkAuthentication
from botframework.connector.aio import ConnectorClient
from botframework.connector.auth import (
    AuthenticationConstants,
    ClaimsIdentity,
    ConnectorFactory,
    UserTokenClient,
)

MAX_KEPT = 64
"""Clients kept before the oldest is dropped; a bot talks to a handful of service URLs, so this is a guard."""


def _app_id(claims_identity: ClaimsIdentity) -> str:
    """The bot the call is made as, read where botbuilder reads it (audience, else the app id claim)."""
    value = claims_identity.get_claim_value(AuthenticationConstants.AUDIENCE_CLAIM)
    if value is None:
        value = claims_identity.get_claim_value(AuthenticationConstants.APP_ID_CLAIM)
    return str(value or "")


def _keep(kept: dict[Any, Any], key: Any, value: Any) -> Any:
    """The value already kept under ``key`` (another turn may have made one meanwhile), else ``value``."""
    if key not in kept and len(kept) >= MAX_KEPT:
        del kept[next(iter(kept))]
    return kept.setdefault(key, value)


class _KeptConnectorFactory(ConnectorFactory):
    def __init__(self, inner: ConnectorFactory, app_id: str, kept: dict[tuple[str, str, str | None], Any]) -> None:
        self._inner = inner
        self._app_id = app_id
        self._kept = kept

    async def create(self, service_url: str, audience: str | None = None) -> ConnectorClient:
        key = (self._app_id, service_url, audience)
        client = self._kept.get(key)
        if client is None:
            client = _keep(self._kept, key, await self._inner.create(service_url, audience))
        return client


class KeptConnectors(ConfigurationBotFrameworkAuthentication):
    """botbuilder's configuration-based authentication, keeping the proactive path's clients (see the module)."""

    def __init__(self, configuration: Any, **kwargs: Any) -> None:
        super().__init__(configuration, **kwargs)
        self.connectors: dict[tuple[str, str, str | None], Any] = {}
        """(app id, service URL, audience) → the ``ConnectorClient`` proactive calls there use."""
        self.user_token_clients: dict[str, Any] = {}

    def create_connector_factory(self, claims_identity: ClaimsIdentity) -> ConnectorFactory:
        return _KeptConnectorFactory(super().create_connector_factory(claims_identity), _app_id(claims_identity),
                                     self.connectors)

    async def create_user_token_client(self, claims_identity: ClaimsIdentity) -> UserTokenClient:
        app_id = _app_id(claims_identity)
        client = self.user_token_clients.get(app_id)
        if client is None:
            client = _keep(self.user_token_clients, app_id, await super().create_user_token_client(claims_identity))
        return client  # type: ignore[no-any-return]
