"""``POST /v1/realtime/calls`` (raw ``application/sdp`` or OpenAI's multipart form), ``DELETE`` on the
call's URL, CORS for pages on other origins, and the sideband WebSocket that joins a call."""

from __future__ import annotations

import asyncio
import logging
from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ovos_realtime_plugin.core.config import deep_merge
from ovos_realtime_plugin.core.errors import ProtocolError
from ovos_realtime_plugin.core.ids import new_id
from ovos_realtime_plugin.server import handshake
from ovos_realtime_plugin.server.client_secrets import Grant
from ovos_realtime_plugin.server.http_errors import (
    BadJson,
    bad_key,
    bearer_key,
    json_error,
    load_json,
    read_body,
    too_large,
)
from ovos_realtime_plugin.server.ws_transport import WebSocketTransport

if TYPE_CHECKING:
    from ovos_realtime_plugin.server.app import RealtimeServer
    from ovos_realtime_plugin.server.webrtc.call import Call

log = logging.getLogger(__name__)
CORS_HEADERS = {"Access-Control-Allow-Methods": "POST, DELETE, OPTIONS",
                "Access-Control-Allow-Headers": "Authorization, Content-Type, OpenAI-Beta, X-OpenAI-Agents-SDK",
                "Access-Control-Expose-Headers": "Location", "Access-Control-Max-Age": "600"}


class BadOffer(ValueError):
    def __init__(self, message: str, param: str | None = "sdp") -> None:
        super().__init__(message)
        self.param = param


def add_routes(app: web.Application, server: RealtimeServer, prefixes: tuple[str, ...]) -> None:
    async def create(request: web.Request) -> web.Response:
        return _cors(server, request, await create_call(server, request, request.path.rsplit("/calls", 1)[0]))

    async def delete(request: web.Request) -> web.Response:
        return _cors(server, request, await hang_up(server, request))

    async def preflight(request: web.Request) -> web.Response:
        return _cors(server, request, web.Response(status=204, headers=CORS_HEADERS))

    for prefix in prefixes:
        app.router.add_post(prefix + "/calls", create)
        app.router.add_route("OPTIONS", prefix + "/calls", preflight)
        app.router.add_delete(prefix + "/calls/{call_id}", delete)
        app.router.add_route("OPTIONS", prefix + "/calls/{call_id}", preflight)


def _cors(server: RealtimeServer, request: web.Request, response: web.Response) -> web.Response:
    origin = request.headers.get("Origin")
    allowed = server.settings.webrtc.cors_origins
    if origin and ("*" in allowed or origin in allowed):
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Vary"] = "Origin"
    return response


async def create_call(server: RealtimeServer, request: web.Request, prefix: str) -> web.Response:
    grant = server.secrets.grant(bearer_key(request))
    if grant is None:
        return bad_key()
    body = await read_body(request)
    if body is None:
        return too_large()
    try:
        sdp, session = read_offer(request.content_type, request.headers.get("Content-Type", ""), body)
    except BadOffer as bad:
        return json_error(400, str(bad), "invalid_offer", bad.param)
    if not server.ready:
        return json_error(503, "The server is starting: try again once /healthz answers 200.", None,
                          kind="server_error")
    hs = handshake.Handshake(path=request.path, dialect="ga", kind="realtime", model="gpt-realtime",
                             api_key=None, call_id=None)
    try:
        rt_session, assistant = server.open_session(hs, Grant(deep_merge(grant.session, session), grant.ephemeral,
                                                              grant.key))
    except ProtocolError as err:
        status = {"server_error": 500, "session_limit_reached": 429}.get(err.code or "", 400)
        return json_error(status, err.message, err.code, err.param, err.type)
    from ovos_realtime_plugin.server.webrtc.call import Call  # aiortc and PyAV (~50 MB) once a call comes
    from ovos_realtime_plugin.server.webrtc.ports import PortRangeExhausted

    call = Call(new_id("rtc"), rt_session, server.settings.webrtc)
    try:
        answer = await call.answer(sdp)
    except Exception as exc:  # aiortc's own words on an SDP it cannot use, or no free port in udp_port_range
        log.info("offer refused: %s", exc)
        await call.hang_up()
        server.release(rt_session)
        await _close_assistant(assistant)
        if isinstance(exc, PortRangeExhausted):
            return json_error(503, f"The call cannot be answered: {exc.strerror}.", None, kind="server_error")
        return json_error(400, f"The SDP offer cannot be used: {exc}", "invalid_offer", "sdp")
    server.calls[call.id] = call
    def ended(gone: Call) -> None:
        server.calls.pop(gone.id, None)

    call.run(lambda transport: server.run_connection(transport, rt_session, assistant), ended)
    return web.Response(status=201, text=answer, content_type="application/sdp",
                        headers={"Location": f"{prefix}/calls/{call.id}"})


async def sideband(call: Call, transport: WebSocketTransport) -> None:
    """The call's session seen and driven from a WebSocket too (OpenAI's ``?call_id=`` sideband)."""

    def sink(text: str) -> None:
        asyncio.ensure_future(transport.ws.send_str(text))

    call.transport.attach(sink)
    try:
        async for frame in transport.frames():
            call.transport.push(frame)
    finally:
        call.transport.detach(sink)


async def _close_assistant(assistant: Any) -> None:
    from ovos_realtime_plugin.server.app import close_assistant

    await close_assistant(assistant)


async def hang_up(server: RealtimeServer, request: web.Request) -> web.Response:
    if server.secrets.grant(bearer_key(request)) is None:
        return bad_key()
    call = server.calls.get(request.match_info["call_id"])
    if call is None:
        return json_error(404, f"No call with id '{request.match_info['call_id']}'.", "call_not_found", "call_id")
    await call.hang_up()
    return web.Response(status=200)


def read_offer(content_type: str, full_type: str, body: bytes) -> tuple[str, dict[str, Any]]:
    """The offer SDP and the session config posted with it (multipart form) or none (raw SDP)."""
    if content_type == "multipart/form-data":
        sdp, session = _form(full_type, body)
    else:
        sdp, session = body.decode("utf-8", "replace"), {}
    if not sdp.strip():
        raise BadOffer("Missing required parameter: 'sdp'.")
    if not sdp.lstrip().startswith("v=0"):
        raise BadOffer("Invalid 'sdp': not a session description (it must start with 'v=0').")
    if "\nm=audio " not in sdp.replace("\r\n", "\n"):
        raise BadOffer("Invalid 'sdp': the offer has no audio section; a Realtime call needs audio.")
    return sdp, session


def _form(full_type: str, body: bytes) -> tuple[str, dict[str, Any]]:
    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {full_type}\r\n\r\n".encode() + body)
    fields: dict[str, str] = {}
    for part in message.iter_parts() if isinstance(message, Message) and message.is_multipart() else []:
        name = part.get_param("name", header="content-disposition")
        if isinstance(name, str):
            payload = part.get_payload(decode=True)
            fields[name] = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    try:
        session = load_json(fields["session"], "Invalid 'session':") if fields.get("session") else {}
    except BadJson as bad:
        raise BadOffer(str(bad), "session") from None
    if not isinstance(session, dict):
        raise BadOffer("Invalid 'session': expected an object.", "session")
    return fields.get("sdp", ""), session
