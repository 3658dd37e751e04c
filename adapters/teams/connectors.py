"""One Bot Connector client per service URL, kept, instead of a new one for every proactive call.

botbuilder 4.17's ``CloudAdapter`` builds a ``ConnectorClient`` and a ``UserTokenClient`` for every
``continue_conversation`` and ``create_conversation``. Each is an msrest client whose configuration
builds a retry policy by scanning 999 status codes against a list of 500 (about 3 ms of CPU apiece,
so some 13 ms a first-day DM, which is two calls), and each comes with new credentials: a new MSAL
application with an empty token cache, so outside emulator mode every call would also fetch a fresh
token from Entra. Kept clients keep their credentials, and MSAL hands out the cached token until it is
about to expire. The clients are safe to share between concurrent turns: they hold no per-call state,
the token is set on their ``requests`` session on the event loop, and the threads that send share
that session's connection pool, which urllib3 keeps thread-safe.

Each kept client also sends on a thread pool of its own. msrest sends with ``requests`` in the event
loop's default executor, which has ``min(32, cores + 4)`` threads: six on a two-core machine, so at most
six calls in flight, and with Teams answering in 150 ms no more than 40 calls a second, short of the 50
a second Teams allows an app in a tenant. ``SENDER_THREADS`` leaves the pacing as the only limit.

Only the proactive path goes through here; a turn that answers an incoming activity uses the factory
that authenticating the request made, as before.
"""

from __future__ import annotations

import asyncio
import functools
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests
from botbuilder.integration.aiohttp import ConfigurationBotFrameworkAuthentication
from botframework.connector.aio import ConnectorClient
from botframework.connector.auth import (
    AuthenticationConstants,
    ClaimsIdentity,
    ConnectorFactory,
    UserTokenClient,
)
from msrest.exceptions import ClientRequestError
from msrest.pipeline.async_requests import AsyncPipelineRequestsHTTPSender
from msrest.universal_http import ClientRequest
from msrest.universal_http.async_requests import AsyncRequestsClientResponse, AsyncRequestsHTTPSender
from requests.adapters import HTTPAdapter

MAX_KEPT = 64
"""Clients kept before the oldest is dropped; a bot talks to a handful of service URLs, so this is a guard."""
SENDER_THREADS = 64
"""Calls in flight at once: 50 a second (Teams' limit per app in a tenant) answered in up to a second."""


class _PooledSender(AsyncRequestsHTTPSender):  # type: ignore[misc]
    """msrest's ``requests`` sender, on the given pool instead of the loop's default executor."""

    def __init__(self, config: Any, pool: ThreadPoolExecutor) -> None:
        super().__init__(config)
        self._pool = pool

    def _init_session(self, session: requests.Session) -> None:
        """Room in the connection pool for every thread (requests keeps ten, and drops the others' connections)."""
        for prefix in ("http://", "https://"):
            session.mount(prefix, HTTPAdapter(pool_connections=MAX_KEPT, pool_maxsize=SENDER_THREADS))
        super()._init_session(session)

    async def send(self, request: ClientRequest, **kwargs: Any) -> AsyncRequestsClientResponse:  # type: ignore[override]
        requests_kwargs = self._configure_send(request, **kwargs)
        session = requests_kwargs.pop("session", self.session)
        call = functools.partial(session.request, request.method, request.url, **requests_kwargs)
        try:
            return AsyncRequestsClientResponse(request, await asyncio.get_running_loop().run_in_executor(self._pool,
                                                                                                          call))
        except requests.RequestException as err:
            raise ClientRequestError("Error occurred in request.", err) from err


def _on_pool(client: ConnectorClient, pool: ThreadPoolExecutor) -> ConnectorClient:
    """The client, its requests sent on ``pool`` (msrest builds the pipeline with the default sender)."""
    sender = client.config.pipeline._sender
    if isinstance(sender, AsyncPipelineRequestsHTTPSender):
        sender.driver = _PooledSender(client.config, pool)
    return client


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
    def __init__(self, inner: ConnectorFactory, app_id: str, kept: dict[tuple[str, str, str | None], Any],
                 pool: ThreadPoolExecutor) -> None:
        self._inner = inner
        self._app_id = app_id
        self._kept = kept
        self._pool = pool

    async def create(self, service_url: str, audience: str | None = None) -> ConnectorClient:
        key = (self._app_id, service_url, audience)
        client = self._kept.get(key)
        if client is None:
            client = _keep(self._kept, key, _on_pool(await self._inner.create(service_url, audience), self._pool))
        return client


class KeptConnectors(ConfigurationBotFrameworkAuthentication):
    """botbuilder's configuration-based authentication, keeping the proactive path's clients (see the module)."""

    def __init__(self, configuration: Any, **kwargs: Any) -> None:
        super().__init__(configuration, **kwargs)
        self.connectors: dict[tuple[str, str, str | None], Any] = {}
        """(app id, service URL, audience) → the ``ConnectorClient`` proactive calls there use."""
        self.user_token_clients: dict[str, Any] = {}
        self.pool = ThreadPoolExecutor(SENDER_THREADS, thread_name_prefix="teams-connector")
        """Where the kept clients' HTTP calls run (threads are started only as calls need them)."""

    def create_connector_factory(self, claims_identity: ClaimsIdentity) -> ConnectorFactory:
        return _KeptConnectorFactory(super().create_connector_factory(claims_identity), _app_id(claims_identity),
                                     self.connectors, self.pool)

    async def create_user_token_client(self, claims_identity: ClaimsIdentity) -> UserTokenClient:
        app_id = _app_id(claims_identity)
        client = self.user_token_clients.get(app_id)
        if client is None:
            client = _keep(self.user_token_clients, app_id, await super().create_user_token_client(claims_identity))
        return client  # type: ignore[no-any-return]
