"""One WebRTC call: an aiortc peer connection whose ``oai-events`` data channel and audio tracks drive a
session through the same :class:`~ovos_realtime_plugin.server.connection.Connection` as a WebSocket.

A call belongs to the API key that made it (``owner``). One that has not connected ``connect_timeout_s`` after
its offer is hung up (a page that never answers ICE held three UDP sockets and a session slot for good). The
data channel buffers without limit in aiortc, so a client that does not read it ends the call once more than the
outbox budget waits there, as a WebSocket is closed past the same budget."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiortc import RTCDataChannel, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack

from ovos_realtime_plugin.audio.codec import decode_to_pcm16, encode_from_pcm16
from ovos_realtime_plugin.audio.resample import resample
from ovos_realtime_plugin.core.config import input_format, output_format
from ovos_realtime_plugin.core.session import SessionCore
from ovos_realtime_plugin.server.api_keys import ApiKey
from ovos_realtime_plugin.server.connection import CLOSE_SLOW_CLIENT
from ovos_realtime_plugin.server.outbox import DEFAULT_BUDGET_BYTES
from ovos_realtime_plugin.server.tasks import cancel_and_wait
from ovos_realtime_plugin.server.webrtc import ice
from ovos_realtime_plugin.server.webrtc.channel import CallTransport
from ovos_realtime_plugin.server.webrtc.playback import RATE
from ovos_realtime_plugin.server.webrtc.settings import WebRTCSettings
from ovos_realtime_plugin.server.webrtc.tracks import AnswerTrack, pump_microphone

log = logging.getLogger(__name__)
EVENTS_CHANNEL = "oai-events"


class Call:
    def __init__(self, call_id: str, session: SessionCore, settings: WebRTCSettings, owner: ApiKey | None = None,
                 outbox_budget_bytes: int = DEFAULT_BUDGET_BYTES) -> None:
        self.id = call_id
        self.session = session
        self.settings = settings
        self.owner = owner
        """The configured API key that made the call (``None`` on a server with no keys)."""
        self.outbox_budget_bytes = outbox_budget_bytes
        self.transport = CallTransport()
        self.transport.decode = self._answer_pcm
        self.pc = RTCPeerConnection(ice.rtc_configuration(settings))
        self.pc.addTrack(AnswerTrack(self.transport.playback))
        self._tasks: set[asyncio.Task[None]] = set()
        self._hung_up = False
        self.ended = asyncio.Event()
        self.connected = asyncio.Event()
        self._on_connected: Callable[[], None] = lambda: None
        self._deadline: asyncio.TimerHandle | None = None
        self.pc.on("datachannel", self._on_channel)
        self.pc.on("track", self._on_track)
        self.pc.on("connectionstatechange", self._on_state)

    async def answer(self, offer_sdp: str) -> str:
        """Our answer SDP (ICE candidates gathered) to the browser's offer; ``ValueError`` if it is unusable."""
        await self.pc.setRemoteDescription(RTCSessionDescription(offer_sdp, "offer"))
        answer = await self.pc.createAnswer()
        ice.restrict(self.pc, self.settings)
        await self.pc.setLocalDescription(answer)
        return ice.announce_public(self.pc.localDescription.sdp, self.settings.nat_1to1_ips)

    def run(self, serve: Callable[[CallTransport], Awaitable[None]], ended: Callable[[Call], None],
            connected: Callable[[], None] = lambda: None) -> None:
        """Serve the session until the call ends; then release everything and tell ``ended``. ``connected`` is
        told when ICE and DTLS are up; a call still not connected after ``connect_timeout_s`` is hung up."""
        self._on_connected = connected
        self._deadline = asyncio.get_running_loop().call_later(self.settings.connect_timeout_s, self._too_late)

        async def lifetime() -> None:
            try:
                await serve(self.transport)
            finally:
                await self.hang_up()
                ended(self)
                self.ended.set()
        self._spawn(lifetime())

    def _too_late(self) -> None:
        if not self.connected.is_set():
            log.info("call %s: not connected after %gs: hung up", self.id, self.settings.connect_timeout_s)
            self._spawn(self.transport.close())

    async def hang_up(self) -> None:
        if self._hung_up:
            return
        self._hung_up = True
        if self._deadline is not None:
            self._deadline.cancel()
        await self.transport.close()
        await cancel_and_wait([t for t in self._tasks if t is not asyncio.current_task()])
        await self.pc.close()

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_channel(self, channel: RTCDataChannel) -> None:
        if channel.label != EVENTS_CHANNEL:
            return

        def sink(text: str) -> None:
            if channel.readyState != "open":
                return
            waiting = channel.bufferedAmount
            if waiting and waiting + len(text) > self.outbox_budget_bytes:
                self._unread(waiting)
                return
            channel.send(text)

        channel.on("message", self.transport.push)
        channel.on("close", lambda: self.transport.detach(sink))
        if channel.readyState == "open":
            self.transport.attach(sink)
        else:
            channel.on("open", lambda: self.transport.attach(sink))

    def _unread(self, waiting: int) -> None:
        """The client leaves the data channel unread: the call ends (its events would pile up in aiortc)."""
        if not self.transport.closed:
            log.warning("call %s: hung up: the client left %d bytes unread on the data channel (budget %d)",
                        self.id, waiting, self.outbox_budget_bytes)
            self._spawn(self.transport.close(CLOSE_SLOW_CLIENT, "slow client"))

    def _on_track(self, track: MediaStreamTrack) -> None:
        if track.kind == "audio":
            self._spawn(pump_microphone(track, self._deliver_audio))

    def _deliver_audio(self, pcm16: bytes) -> None:
        fmt = input_format(self.session.config)
        self.transport.push_audio(encode_from_pcm16(resample(pcm16, RATE, fmt.rate), fmt.type))

    def _answer_pcm(self, audio: bytes) -> bytes:
        fmt = output_format(self.session.config)
        return resample(decode_to_pcm16(audio, fmt.type), fmt.rate, RATE)

    async def _on_state(self) -> None:
        state: Any = self.pc.connectionState
        log.debug("call %s: %s", self.id, state)
        if state == "connected" and not self.connected.is_set():
            self.connected.set()
            if self._deadline is not None:
                self._deadline.cancel()
            self._on_connected()
        if state in ("failed", "closed"):  # the browser went away (ICE consent lost) or hung up
            await self.transport.close()
