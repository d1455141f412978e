"""The HTTP endpoints beside the WebSocket: ``client_secrets`` (ephemeral keys) and, when aiortc is
installed, the WebRTC ``calls``."""

from __future__ import annotations

import importlib.util
import logging
from typing import TYPE_CHECKING

from aiohttp import web

from ovos_realtime_plugin.core.errors import ProtocolError
from ovos_realtime_plugin.server.beta_keys import mint_beta
from ovos_realtime_plugin.server.closing import reject
from ovos_realtime_plugin.server.handshake import Handshake
from ovos_realtime_plugin.server.http_errors import (
    bearer_key,
)
from ovos_realtime_plugin.server.minting import mint_with
from ovos_realtime_plugin.server.webrtc import routes as webrtc
from ovos_realtime_plugin.server.webrtc.routes import call_not_found, owned_call, sideband

if TYPE_CHECKING:
    from ovos_realtime_plugin.server.sessions import SessionHost
    from ovos_realtime_plugin.server.ws_transport import WebSocketTransport

log = logging.getLogger(__name__)
PREFIXES = ("/v1/realtime", "/realtime")


def add_routes(app: web.Application, server: SessionHost) -> None:
    async def client_secrets(request: web.Request) -> web.Response:
        return await mint(server, request, bearer_key(request))

    async def sessions(request: web.Request) -> web.Response:
        return await mint_beta(server, request, "realtime")

    async def transcription_sessions(request: web.Request) -> web.Response:
        return await mint_beta(server, request, "transcription")

    for prefix in PREFIXES:
        app.router.add_post(prefix + "/client_secrets", client_secrets)
        app.router.add_post(prefix + "/sessions", sessions)
        app.router.add_post(prefix + "/transcription_sessions", transcription_sessions)
    if importlib.util.find_spec("aiortc") is None:  # installed by scripts/setup.sh; imported once a call comes
        log.warning("no WebRTC calls: aiortc is not installed")
        return
    webrtc.add_routes(app, server, PREFIXES)


async def hang_up_calls(server: SessionHost) -> None:
    for call in list(server.calls.values()):
        await call.hang_up()
        await call.ended.wait()


def refuse_join(server: SessionHost, hs: Handshake) -> web.Response | None:
    """Before the upgrade: the ``404`` for a sideband ``?call_id=`` naming no call of its key (another key's
    call looks unknown); ``None`` lets it join, or be refused after the upgrade as any bad key is (close 3000)."""
    grant = server.secrets.grant(hs.api_key)
    if grant is None:
        return None
    return None if owned_call(server, grant, hs.call_id) is not None else call_not_found(hs.call_id)


async def join_call(server: SessionHost, hs: Handshake, transport: WebSocketTransport) -> None:
    """A sideband WebSocket (``?call_id=``) joins a call of its key: its frames in, the session's events out."""
    grant = server.secrets.grant(hs.api_key)
    call = owned_call(server, grant, hs.call_id) if grant is not None else None
    if grant is None:
        await reject(transport, ProtocolError("invalid_api_key", "Incorrect API key provided."))
    elif call is None:  # it ended since the handshake was checked
        await reject(transport, ProtocolError("call_not_found", f"No call with id '{hs.call_id}'.", "call_id"))
    else:
        await sideband(call, transport, server.settings.outbox_budget_bytes)


async def mint(server: SessionHost, request: web.Request, key: str | None) -> web.Response:
    """Mint an ephemeral key for an operator's key (never for another ephemeral key). A session no connection
    could open is refused here, as OpenAI refuses it at mint time."""
    return await mint_with(server, request, key,
                           lambda body, grant: server.secrets.mint(body, grant.key, server.check_session))
