"""OpenAI-shaped JSON errors for the HTTP endpoints, and reading a request's key."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from ovos_realtime_plugin.core.errors import ProtocolError
from ovos_realtime_plugin.protocol.json_shape import MAX_DEPTH, check_shape

MAX_BODY_BYTES = 64 * 1024
BODY_TIMEOUT_S = 10.0


def json_error(status: int, message: str, code: str | None, param: str | None = None,
               kind: str = "invalid_request_error") -> web.Response:
    body = {"error": {"message": message, "type": kind, "param": param, "code": code}}
    return web.json_response(body, status=status)


def bad_key() -> web.Response:
    return json_error(401, "Incorrect API key provided.", "invalid_api_key")


def too_large() -> web.Response:
    return json_error(413, f"The request body is larger than {MAX_BODY_BYTES} bytes.", "request_too_large")


def bearer_key(request: web.Request) -> str | None:
    auth = request.headers.get("Authorization", "")
    return auth[7:].strip() or None if auth.lower().startswith("bearer ") else None


async def read_body(request: web.Request) -> bytes | None:
    """The whole body, or ``None`` when it is larger than :data:`MAX_BODY_BYTES`; a body that takes longer than
    :data:`BODY_TIMEOUT_S` to arrive is answered with 408."""
    if (request.content_length or 0) > MAX_BODY_BYTES:
        return None
    chunks: list[bytes] = []
    size = 0

    async def read_all() -> None:
        nonlocal size
        while size <= MAX_BODY_BYTES and (chunk := await request.content.read(MAX_BODY_BYTES + 1 - size)):
            chunks.append(chunk)
            size += len(chunk)

    try:
        await asyncio.wait_for(read_all(), BODY_TIMEOUT_S)
    except asyncio.TimeoutError:
        body = {"error": {"message": f"The request body did not arrive within {BODY_TIMEOUT_S:g} s.",
                          "type": "invalid_request_error", "param": None, "code": "request_timeout"}}
        raise web.HTTPRequestTimeout(text=json.dumps(body), content_type="application/json") from None
    return None if size > MAX_BODY_BYTES else b"".join(chunks)


class BadJson(ValueError):
    """A request body (or form field) that is not the JSON it should be; the message says why."""


def load_json(data: bytes | str, what: str) -> Any:
    """``data`` parsed, refused (:class:`BadJson`) when it is not JSON or nests deeper than the protocol allows."""
    try:
        value = json.loads(data)
    except RecursionError:
        raise BadJson(f"{what} is JSON nested deeper than {MAX_DEPTH} levels.") from None
    except ValueError:
        raise BadJson(f"{what} is not valid JSON.") from None
    try:
        check_shape(value)
    except ProtocolError as err:
        raise BadJson(f"{what}: {err.message}") from None
    return value
