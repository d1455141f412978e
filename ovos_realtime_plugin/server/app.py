"""The HTTP + WebSocket server (aiohttp, one port): handshake, auth, dialect selection, ``/healthz``,
ephemeral keys; one :class:`Connection` per socket."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from aiohttp import web

from ovos_realtime_plugin.core.assistant import Assistant
from ovos_realtime_plugin.core.config import deep_merge
from ovos_realtime_plugin.core.errors import ProtocolError
from ovos_realtime_plugin.protocol.json_shape import check_shape
from ovos_realtime_plugin.protocol.session import RealtimeSession
from ovos_realtime_plugin.server import console, handshake, http_api, metrics, observability
from ovos_realtime_plugin.server.access import AccessPolicy, is_loopback_address
from ovos_realtime_plugin.server.client_secrets import ClientSecrets, Grant
from ovos_realtime_plugin.server.closing import close_assistant, reject
from ovos_realtime_plugin.server.connection import Connection
from ovos_realtime_plugin.server.gatekeeper import gatekeeper
from ovos_realtime_plugin.server.http_guard import ConnectionGuard, GuardedSite
from ovos_realtime_plugin.server.limits import SessionCounter
from ovos_realtime_plugin.server.settings import ServerSettings
from ovos_realtime_plugin.server.speech_engines import SpeechEngines
from ovos_realtime_plugin.server.transport import Transport
from ovos_realtime_plugin.server.voice_capacity import VoiceCapacity
from ovos_realtime_plugin.server.ws_transport import WebSocketTransport

if TYPE_CHECKING:
    from ovos_realtime_plugin.server.webrtc.call import Call

log = logging.getLogger(__name__)
PURGE_EVERY_S = 30.0

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
        self.secrets = ClientSecrets(settings.keys(), limits=settings.client_secrets)
        self.calls: dict[str, Call] = {}  # WebRTC calls by id (see :mod:`.webrtc`)
        self.probe = observability.StatusProbe()
        self.sessions = SessionCounter(settings.max_sessions)
        self.voice = VoiceCapacity(settings.max_voice_sessions, settings.voice_busy_line)
        self.access = AccessPolicy(settings.access, bound_host=settings.host, keyed=bool(settings.keys()),
                                   cors_origins=settings.webrtc.cors_origins)
        self.guard = ConnectionGuard(settings.http, lambda address: is_shared_address(self.access, address))
        self._runner: web.AppRunner | None = None
        self._purging: asyncio.Task[None] | None = None
        self._port = 0

    @property
    def port(self) -> int:
        return self._port

    def make_app(self) -> web.Application:
        app = web.Application(client_max_size=self.settings.max_message_bytes,
                              middlewares=[gatekeeper(self.access, self.guard)])
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/metrics", self._metrics)
        for path in handshake.PATHS:
            app.router.add_get(path, self._websocket)
            app.router.add_get(path + "/", self._websocket)
        http_api.add_routes(app, self)
        console.add_routes(app, self)
        app.router.add_route("*", "/{tail:.*}", _not_found)
        return app

    async def start(self, *, ready: bool = True) -> None:
        """Listen. With ``ready=False`` /healthz answers 503 and sessions are refused (503) until
        :attr:`ready` is set (the daemon does once the OVOS skills are ready)."""
        s = self.settings
        await self.voice.prepare(self.speech, s.language)
        self._runner = web.AppRunner(self.make_app(), access_log=None, handle_signals=False)
        await self._runner.setup()
        site = GuardedSite(self._runner, s.host, s.port, self.guard)
        await site.start()
        self._port = int(self._runner.addresses[0][1])
        self._purging = asyncio.create_task(self._purge_expired_keys())
        self.ready = ready
        log.info("ovos-realtime listening on http://%s:%d/ (WebSocket /v1/realtime)", s.host, self.port)

    async def stop(self) -> None:
        self.ready = False
        if self._purging is not None:
            self._purging.cancel()
            self._purging = None
        await http_api.hang_up_calls(self)
        for connection in list(self.connections):
            await connection.transport.close(1001, "server stopping")
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def serve_forever(self) -> None:
        await self.start()
        await asyncio.Event().wait()

    async def _purge_expired_keys(self) -> None:
        while True:
            await asyncio.sleep(PURGE_EVERY_S)
            self.secrets.purge()

    async def _healthz(self, _request: web.Request) -> web.Response:
        return _answer(observability.health(self.ready, len(self.connections), self.speech, self.probe))

    async def _metrics(self, request: web.Request) -> web.Response:
        return _answer(observability.scrape(self.settings, request.headers))

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() != "websocket":
            return web.Response(status=426, text="this endpoint speaks WebSocket\n")
        if not self.ready:
            return web.Response(status=503, text="starting: try again once /healthz answers 200\n")
        hs = handshake.read(request.path_qs, request.headers)
        if hs.call_id is not None and (not_found := http_api.refuse_join(self, hs)) is not None:
            return not_found  # another key's call or none: 404 before the upgrade
        chosen = handshake.select_subprotocol(handshake.offered_subprotocols(request.headers))
        s = self.settings
        ws = web.WebSocketResponse(protocols=(chosen,) if chosen else (), max_msg_size=s.max_message_bytes,
                                   heartbeat=s.ping_interval_s, compress=False)
        await ws.prepare(request)
        transport = WebSocketTransport(ws, request)
        if hs.call_id is not None:
            await http_api.join_call(self, hs, transport)
            return ws
        try:
            session, assistant = self.open_session(hs)
        except ProtocolError as err:
            await reject(transport, err)
            return ws
        await self.run_connection(transport, session, assistant)
        return ws

    def open_session(self, hs: handshake.Handshake,
                     grant: Grant | None = None) -> tuple[RealtimeSession, Assistant]:
        """A new session and its assistant, or the :class:`ProtocolError` that refuses it."""
        grant = grant or self.secrets.grant(hs.api_key)
        if grant is None:
            raise ProtocolError("invalid_api_key", "Incorrect API key provided.")
        if hs.dialect == "beta" and not self.settings.allow_beta:
            raise ProtocolError("beta_api_shape_disabled", "The beta Realtime API shape is disabled on this server.")
        if grant.session.get("type") == "transcription":  # a transcription key opens a transcription session
            hs = dataclasses.replace(hs, kind="transcription")
        if hs.kind == "realtime" and not hs.model and not grant.session.get("model"):
            raise ProtocolError("missing_model", "Missing required parameter: 'model'.", "model")
        key = grant.key
        session = self.new_session(hs, grant.session)  # a config no session can open is refused before a slot
        refused = self.sessions.open(key.name if key else None, key.max_sessions if key else None)
        if refused is not None:
            log.warning("session refused: %s", refused.message)
            raise refused
        session.access = key  # the key's permissions, read by the assistant
        try:
            return session, self.assistant_factory(session)
        except Exception as exc:
            self.release(session)
            log.exception("could not set up an assistant")
            raise ProtocolError("server_error", f"assistant unavailable: {exc}", None, "server_error") from exc

    def new_session(self, hs: handshake.Handshake, granted: dict[str, object]) -> RealtimeSession:
        """The session ``hs`` asks for with the config its key carries; :class:`ProtocolError` when that config
        is not one a session can take."""
        s = self.settings
        check_shape({"session": granted})
        if hs.kind == "realtime":
            defaults: dict[str, object] | None = deep_merge(s.session_defaults, dict(granted))
        else:  # a transcription session takes only a transcription key's config
            defaults = dict(granted) if granted.get("type") == "transcription" else None
        return RealtimeSession(dialect=hs.dialect, kind=hs.kind, model=hs.model or "gpt-realtime",
                               clock=time.time, limits=s.limits, defaults=defaults, language=s.language,
                               early_transcripts=s.early_transcripts, session_limits=s.session_limits)

    def check_session(self, session: dict[str, object]) -> None:
        """Raise :class:`ProtocolError` when no connection could open with ``session`` (an ephemeral key's)."""
        kind = session.get("type", "realtime")
        if kind not in ("realtime", "transcription"):
            raise ProtocolError("invalid_value", f"Invalid 'session.type': expected 'realtime' or 'transcription', "
                                                 f"got {kind!r}.", "session.type")
        model = session.get("model")
        hs = handshake.Handshake(path="", dialect="ga", kind=str(kind),
                                 model=model if isinstance(model, str) else None, api_key=None, call_id=None)
        self.new_session(hs, session)

    def release(self, session: RealtimeSession) -> None:
        """``session`` has ended (or never ran): it no longer counts against the session limits."""
        key = session.access
        self.sessions.close(key.name if key else None)

    async def run_connection(self, transport: Transport, session: RealtimeSession, assistant: Assistant,
                             connection: Connection | None = None) -> None:
        speech, answering = self.voice.connect(session.id, self.speech, assistant, transport)
        connection = connection or Connection(transport, session, answering, speech,
                                              outbox_budget_bytes=self.settings.outbox_budget_bytes,
                                              max_frames_per_s=self.settings.max_frames_per_s)
        self.connections.add(connection)
        log.info("session %s opened (%s, %s)", session.id, session.renderer.dialect, session.config.type)
        with metrics.session(session.renderer.dialect, session.config.type):
            try:
                await connection.run()
            except Exception:  # a bug of ours: this connection closes with 1011, the server goes on
                log.exception("session %s crashed", session.id)
                await transport.close(1011, "internal error")
            finally:
                self.connections.discard(connection)
                self.release(session)
                self.voice.release(session.id)
                await close_assistant(assistant)
                log.info("session %s closed", session.id)


def is_shared_address(access: AccessPolicy, address: str) -> bool:
    """An address many clients share (this machine itself, a trusted proxy): only the total connection bound."""
    return is_loopback_address(address) or access.trusted(address)


def _answer(answer: observability.HttpAnswer) -> web.Response:
    return web.Response(status=answer.status.value, body=answer.body, headers={"Content-Type": answer.content_type})


async def _not_found(_request: web.Request) -> web.Response:
    return web.Response(status=404, text="not found: use /v1/realtime\n")


async def run_until_stopped(server: RealtimeServer, stop: asyncio.Event) -> None:
    await server.start()
    await stop.wait()
    await server.stop()
