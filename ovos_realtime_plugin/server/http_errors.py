"""OpenAI-shaped JSON errors for the HTTP endpoints, and reading a request's key."""

from __future__ import annotations

from aiohttp import web

MAX_BODY_BYTES = 64 * 1024


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
    """The body, or ``None`` when it is larger than :data:`MAX_BODY_BYTES`."""
    if (request.content_length or 0) > MAX_BODY_BYTES:
        return None
    body = await request.content.read(MAX_BODY_BYTES + 1)
    return None if len(body) > MAX_BODY_BYTES else body
