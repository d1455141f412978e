"""``POST /v1/realtime/calls`` (raw ``application/sdp`` or OpenAI's multipart form), ``DELETE`` on the
call's URL, CORS for pages on other origins, and the sideband WebSocket that joins a call.

A call is its maker's: ``DELETE`` and the sideband from any other key get the same ``404`` as an unknown call
(ids cannot be probed). Calls not yet connected are limited per key and per client address (``429``), an
offer's candidates are capped (:func:`.ice.cap_remote_candidates`), and the sideband has an outbox with the
same budget as a WebSocket session."""

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
from ovos_realtime_plugin.protocol import beta
from ovos_realtime_plugin.server import handshake
from ovos_realtime_plugin.server.client_secrets import Grant
from ovos_realtime_plugin.server.closing import close_assistant
from ovos_realtime_plugin.server.connection import CLOSE_SLOW_CLIENT
from ovos_realtime_plugin.server.http_errors import (
    BadJson,
    bad_key,
    bearer_key,
    json_error,
    load_json,
    read_body,
    too_large,
)
from ovos_realtime_plugin.server.outbox import Outbox
from ovos_realtime_plugin.server.tasks import cancel_and_wait
from ovos_realtime_plugin.server.webrtc.connecting import ConnectingCalls, TooManyConnecting
from ovos_realtime_plugin.server.ws_transport import WebSocketTransport

if TYPE_CHECKING:
    from ovos_realtime_plugin.server.sessions import SessionHost
    from ovos_realtime_plugin.server.webrtc.call import Call

log = logging.getLogger(__name__)
BETA_ONLY_FIELDS = frozenset({"modalities", "voice", "input_audio_format", "output_audio_format",
                              "input_audio_transcription", "input_audio_noise_reduction", "turn_detection",
                              "max_response_output_tokens", "speed"})


class BadOffer(ValueError):
    def __init__(self, message: str, param: str | None = "sdp") -> None:
        super().__init__(message)
        self.param = param


def client_address(request: web.Request) -> str:
    """The address a call's offer came from, for the per-address limit: the peer's (no forwarded header)."""
    return request.remote or ""


def add_routes(app: web.Application, server: SessionHost, prefixes: tuple[str, ...]) -> None:
    """``/calls`` (GA), ``POST /v1/realtime?model=`` (the beta WebRTC guide's), ``DELETE`` on a call. CORS and
    preflights are the gatekeeper's (:mod:`..gatekeeper`)."""
    connecting = ConnectingCalls(server.settings.webrtc.max_connecting_per_key,
                                 server.settings.webrtc.max_connecting_per_address)

    async def create(request: web.Request) -> web.Response:
        return await create_call(server, request, request.path.rsplit("/calls", 1)[0], connecting)

    async def create_beta(request: web.Request) -> web.Response:
        return await create_call(server, request, request.path.rstrip("/"), connecting, beta_call=True)

    async def delete(request: web.Request) -> web.Response:
        return await hang_up(server, request)

    for prefix in prefixes:
        app.router.add_post(prefix + "/calls", create)
        app.router.add_delete(prefix + "/calls/{call_id}", delete)
        app.router.add_post(prefix, create_beta)


async def create_call(server: SessionHost, request: web.Request, prefix: str, connecting: ConnectingCalls,
                      beta_call: bool = False) -> web.Response:
    """Answer an offer. A beta call (``POST /v1/realtime?model=``), or a ``/calls`` form whose ``session`` has the
    beta shape, speaks the beta dialect on its data channel."""
    grant = server.secrets.grant(bearer_key(request))
    if grant is None:
        return bad_key()
    body = await read_body(request)
    if body is None:
        return too_large()
    try:
        sdp, session = read_offer(request.content_type, request.headers.get("Content-Type", ""), body)
        dialect = "beta" if beta_call or is_beta_session(session) else "ga"
        if dialect == "beta" and session:
            session = beta.session_update(session)
    except BadOffer as bad:
        return json_error(400, str(bad), "invalid_offer", bad.param)
    except ProtocolError as err:
        return json_error(400, err.message, err.code, err.param, err.type)
    if not server.ready:
        return json_error(503, "The server is starting: try again once /healthz answers 200.", None,
                          kind="server_error")
    webrtc = server.settings.webrtc
    try:
        ticket = connecting.admit(grant.key, client_address(request))
    except TooManyConnecting as refused:
        log.warning("offer refused: %s", refused)
        too_many = json_error(429, str(refused), "too_many_connecting_calls", None, "rate_limit_error")
        too_many.headers["Retry-After"] = str(max(1, round(webrtc.connect_timeout_s)))
        return too_many
    hs = handshake.Handshake(path=request.path, dialect=dialect, kind="realtime",
                             model=request.query.get("model") or "gpt-realtime", api_key=None, call_id=None)
    try:
        rt_session, assistant = server.open_session(hs, Grant(deep_merge(grant.session, session), grant.ephemeral,
                                                              grant.key))
    except ProtocolError as err:
        ticket.release()
        status = {"server_error": 500, "session_limit_reached": 429}.get(err.code or "", 400)
        return json_error(status, err.message, err.code, err.param, err.type)
    # Not imported before a call comes: these import aiortc, aioice and PyAV (~50 MB), an optional library.
    from ovos_realtime_plugin.server.webrtc import ice
    from ovos_realtime_plugin.server.webrtc.call import Call
    from ovos_realtime_plugin.server.webrtc.ports import PortRangeExhausted

    sdp, dropped = ice.cap_remote_candidates(sdp, webrtc.max_remote_candidates)
    if dropped:
        log.info("offer: %d candidates beyond the first %d ignored", dropped, webrtc.max_remote_candidates)
    call: Call | None = None
    try:
        call = Call(new_id("rtc"), rt_session, webrtc, grant.key, server.settings.outbox_budget_bytes)
        answer = await call.answer(sdp)
    except Exception as exc:  # aiortc's own words on an SDP it cannot use, or no free port in udp_port_range
        log.info("offer refused: %s", exc)
        ticket.release()
        if call is not None:
            await call.hang_up()
        server.release(rt_session)
        await close_assistant(assistant)
        if isinstance(exc, PortRangeExhausted):
            return json_error(503, f"The call cannot be answered: {exc.strerror}.", None, kind="server_error")
        return json_error(400, f"The SDP offer cannot be used: {exc}", "invalid_offer", "sdp")
    server.calls[call.id] = call
    def ended(gone: Call) -> None:
        ticket.release()
        server.calls.pop(gone.id, None)

    call.run(lambda transport: server.run_connection(transport, rt_session, assistant), ended, ticket.release)
    return web.Response(status=201, text=answer, content_type="application/sdp",
                        headers={"Location": f"{prefix}/calls/{call.id}"})


def is_beta_session(session: dict[str, Any]) -> bool:
    """A ``session`` in the beta shape: no GA ``type``, and a field only the beta shape has."""
    return "type" not in session and bool(BETA_ONLY_FIELDS & set(session))


def owned_call(server: SessionHost, grant: Grant, call_id: str | None) -> Call | None:
    """The call ``call_id`` if ``grant``'s key made it (an ``ek_`` acts for the key that minted it)."""
    call = server.calls.get(call_id or "")
    return call if call is not None and call.owner == grant.key else None


def call_not_found(call_id: str | None) -> web.Response:
    """The answer for an unknown call and for another key's call alike."""
    return json_error(404, f"No call with id '{call_id}'.", "call_not_found", "call_id")


async def sideband(call: Call, transport: WebSocketTransport, budget_bytes: int) -> None:
    """The call's session seen and driven from a WebSocket too (OpenAI's ``?call_id=`` sideband): its events
    through an outbox with one writer; a client leaving more than ``budget_bytes`` unread is closed with 1008
    and the call goes on. The socket is closed when the call ends."""
    outbox = Outbox(budget_bytes)
    closing: list[asyncio.Task[None]] = []  # the one close of the socket: a slow client's or the call's end

    def close(code: int, reason: str) -> None:
        if not closing:
            call.transport.detach(sink)
            closing.append(asyncio.ensure_future(transport.close(code, reason)))

    def sink(text: str) -> None:
        if not outbox.put_frame(({}, text)):
            log.warning("call %s: sideband closed: the client left more than %d bytes unread", call.id, budget_bytes)
            close(CLOSE_SLOW_CLIENT, f"slow client: more than {budget_bytes} bytes of events unread")

    async def write() -> None:
        while (batch := await outbox.take()) is not None:
            if not await transport.send(batch):
                return
            outbox.written(batch)

    writer = asyncio.ensure_future(write())
    call_end = asyncio.ensure_future(call.ended.wait())
    call_end.add_done_callback(lambda done: None if done.cancelled() else close(1000, "call ended"))
    call.transport.attach(sink)
    try:
        async for frame in transport.frames():
            call.transport.push(frame)
    finally:
        call.transport.detach(sink)
        await cancel_and_wait([writer, call_end])
        for task in closing:
            await task


async def hang_up(server: SessionHost, request: web.Request) -> web.Response:
    grant = server.secrets.grant(bearer_key(request))
    if grant is None:
        return bad_key()
    call = owned_call(server, grant, request.match_info["call_id"])
    if call is None:
        return call_not_found(request.match_info["call_id"])
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
