"""What every key-minting endpoint does the same way: only an operator's key may mint (never an ephemeral key),
the body is a bounded JSON object, and each refusal is an OpenAI-shaped JSON error."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ovos_realtime_plugin.core.errors import ProtocolError
from ovos_realtime_plugin.server.client_secrets import Grant, MintRefused, SecretRequestError
from ovos_realtime_plugin.server.http_errors import BadJson, bad_key, json_error, load_json, read_body, too_large

if TYPE_CHECKING:
    from ovos_realtime_plugin.server.sessions import SessionHost

Mint = Callable[[dict[str, Any], Grant], dict[str, Any]]
"""The request body and the minting key's grant → the answer's JSON; raises what :func:`mint_with` answers."""


async def mint_with(server: SessionHost, request: web.Request, key: str | None, mint: Mint) -> web.Response:
    grant = server.secrets.grant(key)
    if grant is None or grant.ephemeral:
        return bad_key()
    body = await read_body(request)
    if body is None:
        return too_large()
    try:
        request_body = load_json(body or b"{}", "The request body")
        if not isinstance(request_body, dict):
            raise SecretRequestError("The request body must be a JSON object.")
        return web.json_response(mint(request_body, grant))
    except BadJson as err:
        return json_error(400, str(err), "invalid_json")
    except SecretRequestError as err:
        return json_error(400, str(err), "invalid_value", err.param)
    except ProtocolError as err:
        return json_error(400, err.message, err.code, err.param, err.type)
    except MintRefused as err:
        return json_error(err.status, str(err), err.code, None, "requests")
