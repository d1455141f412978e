"""The WebSocket server: handshake, auth, dialect selection, ``/healthz``; one :class:`Connection` per socket."""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import time
from collections.abc import Callable, Sequence
from http import HTTPStatus

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

from ovos_realtime_plugin.core.assistant import Assistant
from ovos_realtime_plugin.core.errors import ProtocolError
from ovos_realtime_plugin.core.ids import new_id
from ovos_realtime_plugin.protocol.session import RealtimeSession
from ovos_realtime_plugin.server import handshake, metrics, observability
from ovos_realtime_plugin.server.api_keys import ApiKey, find_key
from ovos_realtime_plugin.server.connection import Connection
from ovos_realtime_plugin.server.limits import CLOSE_SESSION_LIMIT, SessionCounter
from ovos_realtime_plugin.server.settings import ServerSettings
from ovos_realtime_plugin.server.speech_driver import SpeechEngines

log = logging.getLogger(__name__)
CLOSE_AUTH = 3000
CLOSE_REQUEST = 4000

AssistantFactory = Callable[[RealtimeSession], Assistant]


class RealtimeServer:
    """Serves the Realtime API. ``assistant_factory`` makes the assistant of each new session."""

    def __init__(self, settings: ServerSettings, assistant_factory: AssistantFactory,
                 speech: SpeechEngines | None = None) -> None:
        settings.check()
        self.settings = settings
        self.assistant_factory = assistant_factory
        self.speech = speech
        self.ready = False
        self.connections: set[Connection] = set()
        self.probe = observability.StatusProbe()
        self.sessions = SessionCounter(settings.max_sessions)
        self._keys = settings.keys()
        self._server: Server | None = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self, *, ready: bool = True) -> None:
        """Listen. With ``ready=False`` /healthz answers 503 and sessions are refused (503) until
        :attr:`ready` is set (the daemon does once the OVOS skills are ready)."""
        s = self.settings
        self._server = await serve(
            self._handle, s.host, s.port, process_request=self._process_request,
            select_subprotocol=_select_subprotocol,
            max_size=s.max_message_bytes, ping_interval=s.ping_interval_s, ping_timeout=s.ping_interval_s,
            compression="deflate")
        self.ready = ready
        log.info("ovos-realtime listening on ws://%s:%d/v1/realtime", s.host, self.port)

    async def stop(self) -> None:
        self.ready = False
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def serve_forever(self) -> None:
        await self.start()
        assert self._server is not None
        await self._server.serve_forever()

    def _process_request(self, conn: ServerConnection, request: Request) -> Response | None:
        path = request.path.split("?", 1)[0].rstrip("/")
        if path == "/healthz":
            return _answer(observability.health(self.ready, len(self.connections), self.speech, self.probe))
        if path == "/metrics":
            return _answer(observability.scrape(self.settings, request.headers))
        if path not in handshake.PATHS:
            return conn.respond(HTTPStatus.NOT_FOUND, "not found: use /v1/realtime\n")
        if request.headers.get("Upgrade", "").lower() != "websocket":
            return conn.respond(HTTPStatus.UPGRADE_REQUIRED, "this endpoint speaks WebSocket\n")
        if not self.ready:
            return conn.respond(HTTPStatus.SERVICE_UNAVAILABLE, "starting: try again once /healthz answers 200\n")
        return None

    async def _reject(self, ws: ServerConnection, err: ProtocolError, close_code: int) -> None:
        event = {"type": "error", "event_id": new_id("event"), "error": err.payload(None)}
        await ws.send(json.dumps(event))
        await ws.close(close_code, f"{err.type}.{err.code}")

    async def _handle(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        hs = handshake.read(ws.request.path, ws.request.headers or Headers())
        key = find_key(self._keys, hs.api_key)
        if self._keys and key is None:
            await self._reject(ws, ProtocolError("invalid_api_key", "Incorrect API key provided."), CLOSE_AUTH)
            return
        if hs.dialect == "beta" and not self.settings.allow_beta:
            await self._reject(ws, ProtocolError("beta_api_shape_disabled",
                                                 "The beta Realtime API shape is disabled on this server."),
                               CLOSE_REQUEST)
            return
        if hs.call_id is not None:
            await self._reject(ws, ProtocolError("invalid_value", "WebRTC/SIP sideband connections (call_id) are "
                                                                  "not supported by this server.", "call_id"),
                               CLOSE_REQUEST)
            return
        if hs.kind == "realtime" and not hs.model:
            await self._reject(ws, ProtocolError("missing_model", "Missing required parameter: 'model'.", "model"),
                               CLOSE_REQUEST)
            return
        refused = self.sessions.open(key.name if key else None, key.max_sessions if key else None)
        if refused is not None:
            log.warning("session refused: %s", refused.message)
            await self._reject(ws, refused, CLOSE_SESSION_LIMIT)
            return
        try:
            await self._serve(ws, hs, key)
        finally:
            self.sessions.close(key.name if key else None)

    async def _serve(self, ws: ServerConnection, hs: handshake.Handshake, key: ApiKey | None) -> None:
        session = RealtimeSession(dialect=hs.dialect, kind=hs.kind, model=hs.model or "gpt-realtime",
                                  clock=time.time, limits=self.settings.limits,
                                  defaults=self.settings.session_defaults if hs.kind == "realtime" else None,
                                  language=self.settings.language,
                                  early_transcripts=self.settings.early_transcripts,
                                  session_limits=self.settings.session_limits)
        session.access = key
        try:
            assistant = self.assistant_factory(session)
        except Exception as exc:
            log.exception("could not set up an assistant")
            await self._reject(ws, ProtocolError("server_error", f"assistant unavailable: {exc}", None,
                                                 "server_error"), 1011)
            return
        connection = Connection(ws, session, assistant, self.speech,
                                outbox_budget_bytes=self.settings.outbox_budget_bytes,
                                max_frames_per_s=self.settings.max_frames_per_s)
        self.connections.add(connection)
        log.info("session %s opened (%s, %s)", session.id, hs.dialect, hs.kind)
        with metrics.session(hs.dialect, hs.kind):
            try:
                await connection.run()
            except Exception:  # a bug of ours: this socket closes with 1011, the server goes on
                log.exception("session %s crashed", session.id)
                await ws.close(1011, "internal error")
            finally:
                self.connections.discard(connection)
                await _close(assistant)
                log.info("session %s closed", session.id)


async def _close(assistant: Assistant) -> None:
    """Release what the assistant holds for its session: ``close()`` (sync or async) or ``aclose()``."""
    close = getattr(assistant, "close", None) or getattr(assistant, "aclose", None)
    if close is None:
        return
    try:
        result = close()
        if inspect.isawaitable(result):
            await result
    except Exception:
        log.exception("closing the assistant failed")


def _answer(answer: observability.HttpAnswer) -> Response:
    headers = Headers([("Content-Type", answer.content_type), ("Content-Length", str(len(answer.body))),
                       ("Connection", "close")])
    return Response(answer.status.value, answer.status.phrase, headers, answer.body)


def _select_subprotocol(_conn: ServerConnection, offered: Sequence[Subprotocol]) -> Subprotocol | None:
    chosen = handshake.select_subprotocol(list(offered))
    return Subprotocol(chosen) if chosen else None


async def run_until_stopped(server: RealtimeServer, stop: asyncio.Event) -> None:
    await server.start()
    await stop.wait()
    await server.stop()
