"""The HTTP endpoints beside the WebSocket: ``client_secrets`` (ephemeral keys) and, when aiortc is
installed, the WebRTC ``calls``."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING

from aiohttp import web

from ovos_realtime_plugin.server.client_secrets import SecretRequestError
from ovos_realtime_plugin.server.http_errors import bad_key, bearer_key, json_error, read_body, too_large

if TYPE_CHECKING:
    from ovos_realtime_plugin.server.app import RealtimeServer

log = logging.getLogger(__name__)
PREFIXES = ("/v1/realtime", "/realtime")


def add_routes(app: web.Application, server: RealtimeServer) -> None:
    async def client_secrets(request: web.Request) -> web.Response:
        return await mint(server, request, bearer_key(request))

    for prefix in PREFIXES:
        app.router.add_post(prefix + "/client_secrets", client_secrets)


def has_call(server: RealtimeServer, call_id: str) -> bool:
    return call_id in server.calls


async def mint(server: RealtimeServer, request: web.Request, key: str | None) -> web.Response:
    """Mint an ephemeral key for an operator's key (never for another ephemeral key)."""
    grant = server.secrets.grant(key)
    if grant is None or grant.ephemeral:
        return bad_key()
    body = await read_body(request)
    if body is None:
        return too_large()
    try:
        request_body = json.loads(body or b"{}")
        if not isinstance(request_body, dict):
            raise SecretRequestError("The request body must be a JSON object.")
        return web.json_response(server.secrets.mint(request_body))
    except json.JSONDecodeError:
        return json_error(400, "The request body is not valid JSON.", "invalid_json")
    except SecretRequestError as err:
        return json_error(400, str(err), "invalid_value", err.param)
